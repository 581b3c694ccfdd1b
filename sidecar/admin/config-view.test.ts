// GET /config for people: durations in units, secrets redacted, only what applies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/load.js';
import { configView } from './config-view.js';

const BASE = `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity: { trustDomain: cluster.local, certFile: tls.crt, keyFile: tls.key, caFile: ca.crt }
inbound: { app: 127.0.0.1:8080, maxTimeout: 1m30s }
jwt:
  providers:
    - { name: corp, issuer: "https://idp.example.com", jwksUri: "https://idp.example.com/jwks", audiences: [a], algorithms: [RS256] }
`;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const facts = {
  relaxedDefaults: [],
  tracing: { enabled: false, why: 'no OTLP endpoint configured', url: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf' },
  identity: { spiffeId: 'spiffe://cluster.local/ns/shop/sa/orders', notAfter: NOW + 2 * 86_400_000 + 3_600_000 },
  now: NOW,
};

test('durations read as written, defaults in units too; identity and certificate expiry shown', () => {
  const view = configView(parseConfig(BASE, '/etc/meshward/sidecar.yaml'), facts) as any;
  assert.equal(view.config.inbound.maxTimeout, '1m30s');
  assert.equal(view.config.inbound.limits.idleTimeout, '5m');
  assert.equal(view.config.inbound.limits.handshakeTimeout, '10s');
  assert.equal(view.config.jwt.providers[0].clockTolerance, '30s');
  assert.equal(view.config.shutdown.drainTimeout, '20s');
  assert.equal(view.config.inbound.limits.maxHeaderListBytes, 16384, 'byte sizes stay numbers');
  assert.equal(view.config.catalog.zombieAfter, '30d', 'long durations in days');
  assert.equal(view.config.identity.spiffeId, 'spiffe://cluster.local/ns/shop/sa/orders');
  assert.deepEqual(view.config.identity.certificate, { notAfter: '2026-12-03T01:00:00.000Z', expiresIn: '49h' });
  const withStart = configView(parseConfig(BASE, '/etc/meshward/sidecar.yaml'), { ...facts, identity: { ...facts.identity, notBefore: NOW - 86_400_000 } }) as any;
  assert.equal(withStart.config.identity.certificate.notBefore, '2026-11-30T00:00:00.000Z', 'the start of the lifetime, for the report');
  assert.match(view.version.meshward, /^\d+\.\d+\.\d+/);
  assert.equal(view.version.node, process.version);
});

test('memory store: no Redis settings; tracing off: no exporter details', () => {
  const view = configView(parseConfig(BASE, '/etc/meshward/sidecar.yaml'), facts) as any;
  assert.deepEqual(view.config.rateLimit, { store: 'memory' });
  assert.deepEqual(view.tracing, { enabled: false, why: 'no OTLP endpoint configured' });
});

test('redis store: its settings, the password redacted, the timeout in units', () => {
  const config = parseConfig(BASE + 'rateLimit: { store: redis, redis: { url: "redis://meshward:hunter2@redis:6379", timeout: 75ms } }\n', '/etc/meshward/sidecar.yaml');
  const view = configView(config, { ...facts, tracing: { enabled: true, url: 'http://collector:4318/v1/traces' } }) as any;
  assert.deepEqual(view.config.rateLimit, { store: 'redis', redis: { url: 'redis://meshward:***@redis:6379', failMode: 'closed', timeout: '75ms' } });
  assert.doesNotMatch(JSON.stringify(view), /hunter2/);
  assert.equal(view.tracing.url, 'http://collector:4318/v1/traces');
});
