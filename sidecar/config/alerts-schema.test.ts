// The `alerts:` section: receivers, thresholds and their problems as `file:line:col: /path:`;
// the headers file format (read at startup: alerts/http-post.test.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfig } from './load.js';
import { parseHeadersText } from './headers-file.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-alerts-config-'));
const file = join(dir, 'sidecar.yaml');
const MIN = `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity: { trustDomain: cluster.local, certFile: tls.crt, keyFile: tls.key, caFile: ca.crt }
inbound: { app: "127.0.0.1:8080" }
`;

function problems(alerts: string): string[] {
  try {
    parseConfig(`${MIN}alerts:\n${alerts}`, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.problems];
  }
  assert.fail('expected the config to be rejected');
}

test('receivers with headers files, relative to the config folder', () => {
  writeFileSync(join(dir, 'hook-headers'), '# token for the hook\nAuthorization: Bearer s3cret\n\nX-Scope-OrgID: team-a\n');
  const c = parseConfig(
    `${MIN}alerts:
  alertmanager: { url: "http://alertmanager.monitoring:9093" }
  webhook: { url: "https://hooks.example.com/meshward", headersFile: hook-headers, timeout: 2s }
  learnFor: 10m
`,
    file,
  );
  assert.equal(c.alerts.alertmanager?.url, 'http://alertmanager.monitoring:9093');
  assert.equal(c.alerts.alertmanager?.resendEvery, 60_000);
  assert.equal(c.alerts.webhook?.headersFile, join(dir, 'hook-headers'));
  assert.equal(c.alerts.webhook?.timeout, 2000);
});

test('headers text: reserved and repeated names, control characters', () => {
  assert.deepEqual(parseHeadersText('A: 1\nb:2', 'f'), { ok: true, headers: { a: '1', b: '2' } });
  assert.match((parseHeadersText('Host: x', 'f') as { error: string }).error, /f:1: header Host is set by meshward/);
  assert.match((parseHeadersText('A: 1\na: 2', 'f') as { error: string }).error, /f:2: header a repeats/);
  assert.match((parseHeadersText('A: x\u0001y', 'f') as { error: string }).error, /control character/);
});

test('problems: credentials in the URL, evaluateEvery above window, reserved labels, unknown alertnames', () => {
  assert.match(problems('  alertmanager: { url: "http://user:pw@am:9093" }\n')[0]!, /\/alerts\/alertmanager\/url: credentials in the URL are not allowed/);
  assert.match(problems('  window: 10s\n  evaluateEvery: 30s\n')[0]!, /\/alerts\/evaluateEvery: expected at most window/);
  assert.match(problems('  labels: { severity: low }\n')[0]!, /\/alerts\/labels\/severity: .*meshward sets itself/);
  assert.match(problems('  disabled: [MeshwardNope]\n')[0]!, /\/alerts\/disabled\/0: /);
  assert.match(problems('  denySpike: { factor: 0.5 }\n')[0]!, /\/alerts\/denySpike\/factor: /);
  assert.match(problems('  bogus: 1\n')[0]!, /\/alerts\/bogus: unknown key/);
});
