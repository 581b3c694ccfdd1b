// The injector config file: defaults, relative paths, and problems named by file, line,
// column and path, the sidecar sections included (checked by the sidecar's own schema).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config/load.js';
import { parseInjectorConfig } from './injector-config.js';

const minimal = `apiVersion: meshward.dev/v1alpha1
kind: Injector
tls: { certFile: tls/tls.crt, keyFile: tls/tls.key }
`;

function problems(text: string): string[] {
  try {
    parseInjectorConfig(text, '/etc/injector/injector.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

test('a minimal config gets every default', () => {
  const config = parseInjectorConfig(minimal, '/etc/injector/injector.yaml');
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8443 });
  assert.equal(config.tls.certFile, '/etc/injector/tls/tls.crt');
  assert.equal(config.tls.reloadInterval, 30_000);
  assert.equal(config.failurePolicy, 'Fail');
  assert.deepEqual(config.limits, { maxBodyBytes: 4 * 1024 * 1024, requestTimeout: 10_000, maxConnections: 1024 });
  assert.equal(config.injection.sidecarMode, 'native');
  assert.equal(config.injection.certificates.source, 'csi');
  assert.deepEqual(config.injection.ports, { inbound: 7443, admin: 7000, outbound: 7001, app: 8080 });
  assert.ok(Object.isFrozen(config.injection));
});

test('problems name the file, line, column and path', () => {
  const text = `apiVersion: meshward.dev/v1alpha1
kind: Injector
tls: { certFile: a.crt, keyFile: a.key }
failurePolicy: ignore
limits: { maxBodyBytes: 10 }
injection:
  sidecarMode: legacy
  image: "ghcr.io/meshward/meshward 1"
  resources: { limits: { memory: lots } }
  certificates: { sorce: secret }
  sidecar:
    telemetry:
      otlp: { endpoint: "ftp://collector:4318" }
    rateLimit:
      redis: { failMode: maybe }
`;
  assert.deepEqual(problems(text), [
    '/etc/injector/injector.yaml:4:16: /failurePolicy: expected one of Fail, Ignore, got "ignore"',
    '/etc/injector/injector.yaml:5:25: /limits/maxBodyBytes: expected a byte size from 1024 to 67108864, such as 67108864 or "65536Ki", got 10',
    '/etc/injector/injector.yaml:7:16: /injection/sidecarMode: expected one of native, container, got "legacy"',
    '/etc/injector/injector.yaml:8:10: /injection/image: expected an image reference without spaces, got "ghcr.io/meshward/meshward 1"',
    '/etc/injector/injector.yaml:9:34: /injection/resources/limits/memory: expected a Kubernetes quantity such as 50m, 1, 64Mi or 1Gi, got "lots"',
    '/etc/injector/injector.yaml:10:19: /injection/certificates/sorce: unknown key "sorce" (did you mean "source"?)',
    '/etc/injector/injector.yaml:13:25: /injection/sidecar/telemetry/otlp/endpoint: expected a URL with scheme http or https, got "ftp://collector:4318"',
    '/etc/injector/injector.yaml:15:26: /injection/sidecar/rateLimit/redis/failMode: expected one of open, closed, got "maybe"',
  ]);
});

test('an empty file, a missing tls section and an unknown top-level key are problems', () => {
  assert.deepEqual(problems(''), ['/etc/injector/injector.yaml:1:1: /: expected a map with apiVersion, kind and tls, got an empty document']);
  assert.deepEqual(problems('apiVersion: meshward.dev/v1alpha1\nkind: Injector\nlisten: 0.0.0.0:8443\nfailurePolcy: Fail\n'), [
    '/etc/injector/injector.yaml:1:1: /tls: missing required key "tls"',
    '/etc/injector/injector.yaml:4:1: /failurePolcy: unknown key "failurePolcy" (did you mean "failurePolicy"?)',
  ]);
});
