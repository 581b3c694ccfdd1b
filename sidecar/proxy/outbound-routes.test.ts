import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import type { WorkloadIdentity } from '../identity/workload-identity.js';
import { expectSpiffeId, OutboundRoutes } from './outbound-routes.js';

const identity = { current: { spiffeId: 'spiffe://t/ns/a/sa/me', keyPem: '', certPem: '', caPem: '' } as unknown as WorkloadIdentity };

test('routes by :authority, host names without case; no route is no route', () => {
  const routes = new OutboundRoutes([{ authority: 'Orders.shop.svc:50051', address: { host: '127.0.0.1', port: 1 }, identity: 'spiffe://t/ns/shop/sa/orders' }], identity);
  try {
    assert.equal(routes.lookup('orders.shop.svc:50051')?.identity, 'spiffe://t/ns/shop/sa/orders');
    assert.equal(routes.lookup('ORDERS.SHOP.SVC:50051')?.identity, 'spiffe://t/ns/shop/sa/orders');
    assert.equal(routes.has('orders.shop.svc:50051'), true);
    assert.equal(routes.has('orders.shop.svc:50052'), false);
    assert.equal(routes.has(undefined), false);
  } finally {
    routes.destroy();
  }
});

test('the remote sidecar must present exactly the route’s SPIFFE ID', () => {
  const check = expectSpiffeId('spiffe://t/ns/shop/sa/orders');
  const cert = (san: string) => ({ subjectaltname: san }) as PeerCertificate;
  assert.equal(check('x', cert('URI:spiffe://t/ns/shop/sa/orders')), undefined);
  assert.match(String(check('x', cert('URI:spiffe://t/ns/shop/sa/other'))), /presented \[spiffe:\/\/t\/ns\/shop\/sa\/other\], route expects/);
  assert.ok(check('x', cert('URI:spiffe://t/ns/shop/sa/orders, URI:spiffe://t/ns/x/sa/y')) instanceof Error, 'two IDs');
  assert.ok(check('x', cert('DNS:orders')) instanceof Error, 'none');
});
