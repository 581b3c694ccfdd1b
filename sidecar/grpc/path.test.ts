import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGrpcPath } from './path.js';
import { formatGrpcTimeout, parseGrpcTimeout } from './timeout.js';
import { isGrpcContentType } from './request-head.js';

test('canonical gRPC paths parse into service and method', () => {
  const m = parseGrpcPath('/shop.v1.Orders/GetOrder');
  assert.deepEqual({ ...m }, { service: 'shop.v1.Orders', method: 'GetOrder', fullName: 'shop.v1.Orders/GetOrder' });
  assert.equal(parseGrpcPath('/Svc/M')?.fullName, 'Svc/M');
  assert.equal(parseGrpcPath('/a_b.C1/D_2')?.method, 'D_2');
});

test('every non-canonical path is refused', () => {
  const bad = [
    undefined, '', '/', '//', '/shop.v1.Orders', '/shop.v1.Orders/', '/shop.v1.Orders/GetOrder/',
    'shop.v1.Orders/GetOrder', '//shop.v1.Orders/GetOrder', '/shop.v1.Orders//GetOrder',
    '/shop.v1.Orders/../admin.Admin/Ping', '/./shop.v1.Orders/GetOrder', '/shop.v1..Orders/GetOrder',
    '/shop.v1.Orders/Get%4Frder', '/shop.v1.Orders%2FGetOrder', '/shop%2Ev1.Orders/GetOrder',
    '/shop.v1.Orders/GetOrder?x=1', '/shop.v1.Orders/GetOrder#f', '/.v1.Orders/GetOrder',
    '/shop.v1.Orders./GetOrder', '/shop.v1.Orders/Get Order', '/shop.v1.Orders/GetOrder\u0000',
    '/shop.v1.Orders/9Get', '/shop.v1.Orders/a/b', `/${'a'.repeat(1100)}/M`,
  ];
  for (const p of bad) assert.equal(parseGrpcPath(p), undefined, `accepted ${JSON.stringify(p)}`);
});

test('grpc-timeout parses every unit and rejects malformed values', () => {
  assert.equal(parseGrpcTimeout('1H'), 3_600_000);
  assert.equal(parseGrpcTimeout('2M'), 120_000);
  assert.equal(parseGrpcTimeout('3S'), 3000);
  assert.equal(parseGrpcTimeout('250m'), 250);
  assert.equal(parseGrpcTimeout('5000u'), 5);
  assert.equal(parseGrpcTimeout('2000000n'), 2);
  for (const v of [undefined, '', '5', 'S', '123456789S', '-1S', '1.5S', '10s', ['1S']]) {
    assert.equal(parseGrpcTimeout(v as string | undefined), undefined, String(v));
  }
});

test('grpc-timeout formats within 8 digits and never rounds down to zero', () => {
  assert.equal(formatGrpcTimeout(250), '250m');
  assert.equal(formatGrpcTimeout(0.2), '1m');
  assert.equal(formatGrpcTimeout(-5), '1m');
  assert.equal(formatGrpcTimeout(99_999_999), '99999999m');
  assert.equal(formatGrpcTimeout(100_000_000), '100000S');
  for (const ms of [1, 999, 86_400_000, 1e12]) assert.match(formatGrpcTimeout(ms), /^\d{1,8}[HSm]$/);
  assert.ok(parseGrpcTimeout(formatGrpcTimeout(1234.5))! >= 1234.5);
});

test('gRPC content types', () => {
  for (const ok of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8']) {
    assert.ok(isGrpcContentType(ok), ok);
  }
  for (const bad of [undefined, '', 'application/json', 'application/grpc-web', 'application/grpc-web+proto', 'text/plain', 'application/grpcx']) {
    assert.ok(!isGrpcContentType(bad), String(bad));
  }
});
