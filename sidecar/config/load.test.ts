// Tests for loadConfig/parseConfig: defaults, conversions, and the `FILE:LINE:COL: /path:` of every problem.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ConfigError, loadConfig, parseConfig } from './load.js';
import { sidecarConfigSchema, type SidecarConfig } from './schema.js';

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url));

// Lines 1-9; tests append inbound keys (two-space indent) or top-level keys after it.
const MIN = `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity:
  trustDomain: cluster.local
  certFile: certs/tls.crt
  keyFile: certs/tls.key
  caFile: certs/ca.crt
inbound:
  app: 127.0.0.1:8080
`;

/** The problems of an invalid config; fails the test if the config is valid. */
function problemsOf(text: string, file = 'sidecar.yaml'): readonly string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.message, err.problems.join('\n'));
    return err.problems;
  }
  assert.fail('expected the config to be rejected');
}

/** Asserts one problem starts with `prefix` (`file:line:col: /path: `), returns it. */
function expectProblem(text: string, prefix: string): string {
  const problems = problemsOf(text);
  const found = problems.find((p) => p.startsWith(prefix));
  assert.ok(found !== undefined, `no problem starts with ${JSON.stringify(prefix)}; got:\n${problems.join('\n')}`);
  return found;
}

test('a minimal file gets every default', () => {
  const config = parseConfig(MIN, '/etc/meshward/sidecar.yaml');
  const expected: SidecarConfig = {
    apiVersion: 'meshward.dev/v1alpha1',
    kind: 'Sidecar',
    identity: {
      trustDomain: 'cluster.local',
      certFile: '/etc/meshward/certs/tls.crt',
      keyFile: '/etc/meshward/certs/tls.key',
      caFile: '/etc/meshward/certs/ca.crt',
    },
    inbound: {
      listen: { host: '0.0.0.0', port: 7443 },
      mtls: 'strict',
      app: { host: '127.0.0.1', port: 8080 },
      maxTimeout: 300_000,
      allowAnyAuthenticated: false,
      limits: {
        maxConnections: 1024,
        maxConcurrentStreams: 100,
        maxHeaderListBytes: 16384,
        maxHeaderPairs: 64,
        handshakeTimeout: 10_000,
        firstRequestTimeout: 10_000,
        requestHeadersTimeout: 10_000,
        idleTimeout: 300_000,
        maxResetsPerConnection: 200,
      },
      graphql: undefined,
    },
    admin: { listen: { host: '127.0.0.1', port: 7000 }, allow: [] },
    policies: [],
    jwt: { providers: [] },
    rateLimit: { store: 'memory', redis: { url: 'redis://127.0.0.1:6379', failMode: 'closed', timeout: 50 } },
    telemetry: {}, // unset keys stay unset so OTEL_* variables apply (telemetry-settings.ts fills the defaults)
    audit: { file: '-' },
    catalog: { protos: [], undeclared: 'deny', zombieAfter: 30 * 86_400_000 },
    alerts: {
      enabled: true,
      labels: {},
      learnFor: 600_000,
      eventFor: 3_600_000,
      window: 60_000,
      evaluateEvery: 10_000,
      baseline: 3_600_000,
      maxPairs: 10_000,
      maxActive: 1000,
      denySpike: { factor: 4, minDenials: 5, ratioJump: 0.5, floor: 20 },
      rateSpike: { factor: 4, minCalls: 60 },
      jwtFailures: { floor: 10 },
      certificateExpiry: { lifetimeLeft: 0.2 },
      delivery: { queueSize: 1000, batch: 64, retries: 5, backoff: 500, maxBackoff: 30_000 },
      disabled: [],
    },
    shutdown: { drainTimeout: 20_000 },
    workers: 1,
  };
  assert.deepEqual(config, expected);
  assert.equal('outbound' in config, false);
});

test('the DESIGN §3 example loads', () => {
  const config = loadConfig(resolve(testdata, 'full.yaml'));
  assert.deepEqual(config.identity.caFile, resolve(testdata, 'certs/ca.crt'));
  assert.deepEqual(config.inbound.graphql, {
    path: '/graphql',
    app: { host: '127.0.0.1', port: 4000 },
    schemaFile: resolve(testdata, 'schema.graphql'),
  });
  assert.deepEqual(config.outbound, {
    listen: { host: '127.0.0.1', port: 7001 },
    routes: [
      {
        authority: 'orders.shop.svc.cluster.local:50051',
        address: { host: '10.1.2.3', port: 7443 },
        identity: 'spiffe://cluster.local/ns/shop/sa/orders',
      },
    ],
  });
  assert.deepEqual(config.policies, [resolve(testdata, 'policies')]);
  assert.deepEqual(config.jwt.providers, [
    {
      name: 'corp',
      issuer: 'https://idp.example.com', // as written: no trailing slash added
      jwksUri: 'https://idp.example.com/.well-known/jwks.json',
      audiences: ['orders'],
      algorithms: ['RS256', 'ES256'],
      clockTolerance: 30_000,
    },
  ]);
  assert.deepEqual(config.rateLimit, { store: 'memory', redis: { url: 'redis://127.0.0.1:6379', failMode: 'closed', timeout: 50 } });
  assert.deepEqual(config.telemetry, {
    serviceName: 'orders',
    otlp: { endpoint: 'http://127.0.0.1:4318', protocol: 'http/protobuf' },
    sampling: 1,
  });
  assert.equal(config.audit.file, '-');
});

test('relative paths resolve against the config file folder, absolute ones stay', () => {
  const config = loadConfig(resolve(testdata, 'minimal.yaml'));
  assert.equal(config.identity.certFile, resolve(testdata, 'certs/tls.crt'));
  assert.equal(config.identity.keyFile, '/etc/meshward/tls.key');
  assert.equal(config.identity.caFile, resolve(testdata, '../ca.crt'));

  const extra = 'policies: [policies/, /srv/policies/a.yaml]\naudit: { file: logs/audit.jsonl }\n';
  const fromRelative = parseConfig(MIN + extra, 'deploy/sidecar.yaml'); // relative to the working directory
  assert.equal(fromRelative.identity.certFile, resolve('deploy/certs/tls.crt'));
  assert.deepEqual(fromRelative.policies, [resolve('deploy/policies'), '/srv/policies/a.yaml']);
  assert.equal(fromRelative.audit.file, resolve('deploy/logs/audit.jsonl'));
  assert.equal(dirname(fromRelative.audit.file), resolve('deploy/logs'));
  const keyed = parseConfig(MIN + 'audit: { file: audit.log, hmacKeyFile: secrets/audit.key }\n', 'deploy/sidecar.yaml');
  assert.equal(keyed.audit.hmacKeyFile, resolve('deploy/secrets/audit.key'));
});

test('credentials in an OTLP or JWKS URL: refused, said so plainly, the secret never printed', () => {
  for (const [yaml, path] of [
    ['telemetry:\n  otlp: { endpoint: "https://user:s3cr3t-token@collector.example.com:4318" }\n', '/telemetry/otlp/endpoint'],
    ['telemetry:\n  otlp: { endpoint: "http://:s3cr3t-token@collector:4318/v1/traces" }\n', '/telemetry/otlp/endpoint'],
    ['telemetry:\n  otlp: { endpoint: "ftp://user:s3cr3t-token@collector" }\n', '/telemetry/otlp/endpoint'],
  ] as const) {
    const problems = problemsOf(MIN + yaml);
    const text = problems.join('\n');
    assert.doesNotMatch(text, /s3cr3t/, 'the secret is never echoed');
    assert.match(text, new RegExp(`${path}: credentials in the URL are not allowed .*OTEL_EXPORTER_OTLP_HEADERS`));
  }
});

test('two listeners on one port are a config error naming both keys; port 0 and distinct hosts are fine', () => {
  expectProblem(MIN.replace('inbound:\n', 'inbound:\n  listen: 127.0.0.1:7000\n'), 'sidecar.yaml:1:1: /admin/listen: admin.listen 127.0.0.1:7000 is also inbound.listen (127.0.0.1:7000)');
  expectProblem(MIN + 'admin: { listen: "127.0.0.1:7443" }\n', 'sidecar.yaml:10:18: /admin/listen: admin.listen 127.0.0.1:7443 is also inbound.listen (0.0.0.0:7443)');
  expectProblem(MIN + 'outbound: { listen: "127.0.0.1:7000" }\n', 'sidecar.yaml:10:21: /outbound/listen: outbound.listen 127.0.0.1:7000 is also admin.listen');
  parseConfig(MIN.replace('inbound:\n', 'inbound:\n  listen: 127.0.0.1:0\n') + 'admin: { listen: "127.0.0.1:0" }\n', 'sidecar.yaml');
  parseConfig(MIN.replace('inbound:\n', 'inbound:\n  listen: 127.0.0.2:7000\n'), 'sidecar.yaml');
});

test('an unknown key is reported at the key, with did-you-mean for a close match', () => {
  const problem = expectProblem(MIN + '  mtsl: strict\n', 'sidecar.yaml:10:3: /inbound/mtsl: ');
  assert.match(problem, /did you mean "mtls"/);
  const far = expectProblem(MIN + 'bogus: 1\n', 'sidecar.yaml:10:1: /bogus: ');
  assert.doesNotMatch(far, /did you mean/);
  expectProblem(MIN.replace('keyFile:', 'keyfile:'), 'sidecar.yaml:6:3: /identity/keyfile: ');
});

test('a wrong enum value names the allowed values', () => {
  const problem = expectProblem(MIN + '  mtls: strick\n', 'sidecar.yaml:10:9: /inbound/mtls: ');
  assert.match(problem, /strict, permissive.*"strick"/);
});

test('a bad duration is reported at the value', () => {
  expectProblem(MIN + '  maxTimeout: 5\n', 'sidecar.yaml:10:15: /inbound/maxTimeout: ');
  expectProblem(MIN + '  maxTimeout: 1.5s\n', 'sidecar.yaml:10:15: /inbound/maxTimeout: ');
  expectProblem(MIN + '  maxTimeout: 0s\n', 'sidecar.yaml:10:15: /inbound/maxTimeout: ');
  expectProblem(MIN + 'shutdown: { drainTimeout: 30d }\n', 'sidecar.yaml:10:27: /shutdown/drainTimeout: ');
  const config = parseConfig(MIN + '  maxTimeout: 1m30s\nshutdown: { drainTimeout: 0s }\n', 'sidecar.yaml');
  assert.equal(config.inbound.maxTimeout, 90_000);
  assert.equal(config.shutdown.drainTimeout, 0);
});

test('workers: 1..64 or "auto" (one per available CPU); anything else is reported at the value', () => {
  assert.equal(parseConfig(MIN + 'workers: 2\n', 'sidecar.yaml').workers, 2);
  assert.equal(parseConfig(MIN + 'workers: auto\n', 'sidecar.yaml').workers, Math.min(64, availableParallelism()));
  expectProblem(MIN + 'workers: 0\n', 'sidecar.yaml:10:10: /workers: expected at least 1, got 0');
  expectProblem(MIN + 'workers: 65\n', 'sidecar.yaml:10:10: /workers: expected at most 64, got 65');
  for (const bad of ['1.5', '"2"', 'all']) expectProblem(MIN + `workers: ${bad}\n`, 'sidecar.yaml:10:10: /workers: expected an integer from 1 to 64, or "auto", got ');
});

test('a bad address is reported; listeners may use port 0, upstreams may not', () => {
  expectProblem(MIN + '  listen: 7443\n', 'sidecar.yaml:10:11: /inbound/listen: ');
  expectProblem(MIN + '  listen: "::1:7443"\n', 'sidecar.yaml:10:11: /inbound/listen: ');
  expectProblem(MIN.replace('127.0.0.1:8080', '127.0.0.1:0'), 'sidecar.yaml:9:8: /inbound/app: ');
  expectProblem(MIN.replace('127.0.0.1:8080', '127.0.0.1:70000'), 'sidecar.yaml:9:8: /inbound/app: ');
  const config = parseConfig(MIN + '  listen: "[::1]:0"\n', 'sidecar.yaml');
  assert.deepEqual(config.inbound.listen, { host: '::1', port: 0 });
});

test('a missing required key is reported at the parent map', () => {
  expectProblem(MIN.replace('  caFile: certs/ca.crt\n', ''), 'sidecar.yaml:4:3: /identity/caFile: ');
  expectProblem(MIN.replace('kind: Sidecar\n', ''), 'sidecar.yaml:1:1: /kind: ');
  const problem = expectProblem(MIN.replace('inbound:\n  app: 127.0.0.1:8080\n', ''), 'sidecar.yaml:1:1: /inbound: ');
  assert.match(problem, /missing/);
});

test('a YAML syntax error is reported with its line and column', () => {
  const problems = problemsOf(MIN + 'policies: [a, b\nadmin: {}\n');
  assert.equal(problems.length >= 1, true);
  assert.match(problems[0] ?? '', /^sidecar\.yaml:1[01]:\d+: \/\S*: /);
  expectProblem(MIN + 'x: *nope\n', 'sidecar.yaml:10:4: /x: ');
});

test('a duplicate key is an error, and the rest is still checked', () => {
  const problems = problemsOf(MIN + '  app: 127.0.0.1:9090\n  mtls: strick\n');
  assert.ok(problems.some((p) => p.startsWith('sidecar.yaml:10:3: /inbound/app: ') && /duplicate/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('sidecar.yaml:11:9: /inbound/mtls: ')), problems.join('\n'));
});

test('every problem is reported, in file order', () => {
  const text = MIN.replace('kind: Sidecar', 'kind: sidecar') + '  mtls: strick\n  maxTimeout: 5\nadmim: {}\n';
  const problems = problemsOf(text);
  assert.deepEqual(
    problems.map((p) => p.slice(0, p.indexOf(': ', p.indexOf(' /')))),
    ['sidecar.yaml:2:7: /kind', 'sidecar.yaml:10:9: /inbound/mtls', 'sidecar.yaml:11:15: /inbound/maxTimeout', 'sidecar.yaml:12:1: /admim'],
  );
  assert.match(problems[3] ?? '', /did you mean "admin"/);
});

test('maxConcurrentStreams above 100 is rejected, 100 is accepted', () => {
  expectProblem(MIN + '  limits: { maxConcurrentStreams: 101 }\n', 'sidecar.yaml:10:35: /inbound/limits/maxConcurrentStreams: ');
  const config = parseConfig(MIN + '  limits: { maxConcurrentStreams: 100, maxHeaderListBytes: 32Ki }\n', 'sidecar.yaml');
  assert.equal(config.inbound.limits.maxConcurrentStreams, 100);
  assert.equal(config.inbound.limits.maxHeaderListBytes, 32768);
  assert.equal(config.inbound.limits.maxHeaderPairs, 64); // siblings keep their defaults
});

test('more than one YAML document is an error', () => {
  expectProblem(MIN + '---\nkind: Sidecar\n', 'sidecar.yaml:10:1: /: ');
  expectProblem('', 'sidecar.yaml:1:1: /: ');
});

test('graphql.app defaults to inbound.app', () => {
  const config = parseConfig(MIN + '  graphql: {}\n', 'sidecar.yaml');
  assert.deepEqual(config.inbound.graphql, { path: '/graphql', app: { host: '127.0.0.1', port: 8080 } });
  expectProblem(MIN + '  graphql: { path: graphql }\n', 'sidecar.yaml:10:20: /inbound/graphql/path: ');
});

test('JWT providers: https only (http for loopback), unique names, known algorithms', () => {
  const provider = (name: string, issuer: string, algs = '[RS256]') =>
    `    - { name: ${name}, issuer: "${issuer}", jwksUri: "${issuer}/jwks", audiences: [a], algorithms: ${algs} }\n`;
  const ok = parseConfig(MIN + 'jwt:\n  providers:\n' + provider('dev', 'http://127.0.0.1:8443'), 'sidecar.yaml');
  assert.equal(ok.jwt.providers[0]?.issuer, 'http://127.0.0.1:8443');
  expectProblem(MIN + 'jwt:\n  providers:\n' + provider('a', 'http://idp.example.com'), 'sidecar.yaml:12:26: /jwt/providers/0/issuer: ');
  expectProblem(MIN + 'jwt:\n  providers:\n' + provider('a', 'https://x', '[HS256]'), 'sidecar.yaml:12:95: /jwt/providers/0/algorithms/0: ');
  const twice = MIN + 'jwt:\n  providers:\n' + provider('a', 'https://x') + provider('a', 'https://y');
  expectProblem(twice, 'sidecar.yaml:13:15: /jwt/providers/1/name: ');
});

test('outbound routes need a workload SPIFFE ID', () => {
  const route = (identity: string) =>
    `outbound:\n  routes:\n    - { authority: orders, address: "10.0.0.1:7443", identity: "${identity}" }\n`;
  const config = parseConfig(MIN + route('spiffe://cluster.local/ns/shop/sa/orders'), 'sidecar.yaml');
  assert.deepEqual(config.outbound?.listen, { host: '127.0.0.1', port: 7001 });
  expectProblem(MIN + route('spiffe://cluster.local'), 'sidecar.yaml:12:64: /outbound/routes/0/identity: ');
  expectProblem(MIN + route('https://cluster.local/x'), 'sidecar.yaml:12:64: /outbound/routes/0/identity: ');
});

test('the loaded config is deep-frozen', () => {
  const config = loadConfig(resolve(testdata, 'full.yaml'));
  const seen: unknown[] = [config, config.inbound.limits, config.inbound.listen, config.outbound?.routes, config.jwt.providers[0]?.algorithms];
  for (const value of seen) assert.ok(Object.isFrozen(value));
  assert.throws(() => {
    // @ts-expect-error: SidecarConfig is deeply readonly
    config.inbound.limits.maxConcurrentStreams = 1000;
  }, TypeError);
  assert.throws(() => {
    // @ts-expect-error: arrays too
    config.policies.push('/tmp');
  }, TypeError);
});

test('an unreadable file is a ConfigError naming the file', () => {
  const missing = resolve(testdata, 'does-not-exist.yaml');
  assert.throws(() => loadConfig(missing), (err: unknown) => err instanceof ConfigError && err.message.startsWith(`${missing}: `));
});

test('the schema converts to a draft-07 JSON Schema of the input', () => {
  const json = z.toJSONSchema(sidecarConfigSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  assert.equal(json.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(json.additionalProperties, false);
  assert.deepEqual(json.required, ['apiVersion', 'kind', 'identity', 'inbound']);
  const inbound = (json.properties as Record<string, { properties: Record<string, { default?: unknown }> }>).inbound;
  assert.equal(inbound?.properties.maxTimeout?.default, '5m'); // defaults in YAML form, not milliseconds

  // Editors show defaults from the JSON Schema: every key that may be left out has one,
  // except the optional sections, graphql's own optional keys and the audit HMAC key file.
  const withoutDefault: string[] = [];
  const walk = (node: Record<string, unknown>, path: string): void => {
    const required = (node.required as string[] | undefined) ?? [];
    for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      if (!required.includes(key) && !('default' in child)) withoutDefault.push(`${path}/${key}`);
      walk(child, `${path}/${key}`);
    }
    if (typeof node.items === 'object' && node.items !== null) walk(node.items as Record<string, unknown>, `${path}/*`);
  };
  walk(json, '');
  assert.deepEqual(withoutDefault, [
    '/inbound/graphql',
    '/inbound/graphql/app',
    '/inbound/graphql/schemaFile',
    '/outbound',
    '/telemetry/otlp',
    '/telemetry/jaegerUrl',
    '/audit/hmacKeyFile',
    '/catalog/stateFile',
    '/alerts/alertmanager',
    '/alerts/alertmanager/headersFile',
    '/alerts/webhook',
    '/alerts/webhook/headersFile',
    '/alerts/service',
  ]);
});

test('admin.allow takes principal patterns; anything else names the entry', () => {
  const config = parseConfig(MIN + 'admin:\n  listen: 0.0.0.0:7000\n  allow: ["spiffe://cluster.local/ns/ops/*", "spiffe://cluster.local/ns/web/sa/frontend"]\n', 'c.yaml');
  assert.deepEqual(config.admin.allow, ['spiffe://cluster.local/ns/ops/*', 'spiffe://cluster.local/ns/web/sa/frontend']);
  const problems = problemsOf(MIN + 'admin:\n  allow: [frontend]\n');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /admin\/allow\/0.*frontend/);
});

test('telemetry.jaegerUrl is an http(s) URL', () => {
  assert.equal(parseConfig(MIN + 'telemetry:\n  jaegerUrl: http://jaeger:16686\n', 'c.yaml').telemetry.jaegerUrl, 'http://jaeger:16686');
  assert.match(problemsOf(MIN + 'telemetry:\n  jaegerUrl: jaeger\n')[0]!, /jaegerUrl/);
});
