// The Prometheus alerting rules of the cluster view (issue 18): `promtool check rules` and
// `promtool test rules` (Debian `prometheus`) on the plain rules file; the chart's opt-in
// PrometheusRule rendered by the real helm binary carries the same rules (checked by promtool
// again); and every meshward metric the rules read is one the sidecar exports.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { AlertsHarness } from '../sidecar/alerts/alerts.test-helper.js';
import { limitStoreCollector } from '../sidecar/telemetry/limit-store-metrics.js';
import { certificateExpiryCollector, MeshwardMetrics } from '../sidecar/telemetry/meshward-metrics.js';
import { repoRoot } from '../demo/repo-root.js';
import { chartDir, helmTemplate } from './support/helm.js';

const rulesDir = join(chartDir, 'rules');
const rulesFile = join(rulesDir, 'meshward.rules.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'meshward-rules-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000, cwd: rulesDir });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const ALERTS = [
  'MeshwardServiceDenyRatioHigh',
  'MeshwardServiceJwtFailures',
  'MeshwardServiceRateLimited',
  'MeshwardLimitStoreUnreachable',
  'MeshwardCertificateExpiresSoon',
  'MeshwardServiceLatencyHigh',
  'MeshwardSidecarRestarting',
];

test('promtool check rules: the rules file is valid and holds the cluster-view alerts', () => {
  const r = promtool(['check', 'rules', rulesFile]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS: 11 rules found/);
  const groups = (parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<Record<string, any>> }> }).groups;
  const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
  assert.deepEqual(alerts.map((a) => a.alert).sort(), [...ALERTS].sort());
  for (const a of alerts) {
    assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity), `${a.alert} has a severity`);
    assert.ok(a.annotations?.summary && a.annotations?.description, `${a.alert} is explained`);
  }
});

test('promtool test rules: every alert fires on its condition and not on the near miss', () => {
  const r = promtool(['test', 'rules', 'meshward.rules.test.yaml']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
  // The test file covers every alert.
  const tests = readFileSync(join(rulesDir, 'meshward.rules.test.yaml'), 'utf8');
  for (const a of ALERTS) assert.match(tests, new RegExp(`alertname: ${a}\\b`));
});

test('promtool test rules fails when a rule stops firing (the unit tests can fail)', () => {
  const broken = readFileSync(rulesFile, 'utf8').replace('> 0.2', '> 0.9');
  writeFileSync(join(tmp, 'meshward.rules.yaml'), broken);
  writeFileSync(join(tmp, 'meshward.rules.test.yaml'), readFileSync(join(rulesDir, 'meshward.rules.test.yaml')));
  const r = spawnSync('promtool', ['test', 'rules', 'meshward.rules.test.yaml'], { encoding: 'utf8', cwd: tmp, timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(`${r.stdout}${r.stderr}`, /MeshwardServiceDenyRatioHigh/);
});

test('the chart: no PrometheusRule by default; with prometheusRule.enabled the same rules, labels added, valid for promtool', () => {
  assert.equal(helmTemplate('mw', 'meshward-system').filter((o) => o.kind === 'PrometheusRule').length, 0);
  const objects = helmTemplate('mw', 'meshward-system', [
    '--set', 'prometheusRule.enabled=true',
    '--set', 'prometheusRule.labels.release=kube-prometheus-stack',
    '--set', 'prometheusRule.alertLabels.team=platform',
  ]);
  const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
  assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(rule.metadata.namespace, 'meshward-system');
  assert.equal(rule.metadata.labels.release, 'kube-prometheus-stack');
  assert.equal(rule.metadata.labels['app.kubernetes.io/component'], 'alerts');

  const file = parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ name: string; rules: Array<Record<string, any>> }> };
  const rendered = rule.spec as typeof file;
  assert.deepEqual(rendered.groups.map((g) => g.name), file.groups.map((g) => g.name));
  for (const [gi, group] of file.groups.entries()) {
    for (const [ri, r] of group.rules.entries()) {
      const got = rendered.groups[gi]!.rules[ri]!;
      // Prometheus templates ({{ $labels.service }}) pass through helm untouched.
      const want = r.alert === undefined ? r : { ...r, labels: { ...r.labels, team: 'platform' } };
      assert.deepEqual(got, want, `${r.alert ?? r.record}`);
    }
  }
  const out = join(tmp, 'rendered.rules.yaml');
  writeFileSync(out, stringify(rule.spec));
  const r = promtool(['check', 'rules', out]);
  assert.equal(r.status, 0, r.out);
});

test('every meshward metric the rules read is one the sidecar exports', async () => {
  const metrics = new MeshwardMetrics();
  metrics.addCollector(certificateExpiryCollector(() => Date.now()));
  metrics.addCollector(limitStoreCollector(() => ({ state: 'up', since: 0, outages: 0, unavailableCalls: 0 })));
  const h = new AlertsHarness('enabled: true');
  metrics.addCollector(h.alerts.metrics);
  const exported = new Set([...(await metrics.render()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  await h.close();
  // The primary process of `workers` > 1 adds its own (app/primary.ts).
  const workers = readFileSync(join(repoRoot, 'sidecar', 'app', 'primary.ts'), 'utf8');
  for (const m of workers.matchAll(/'(meshward_[a-z_]+)'/g)) exported.add(m[1]!);
  const used = new Set([...readFileSync(rulesFile, 'utf8').matchAll(/\b((?:meshward|process)_[a-z_]+)\b(?!:)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')));
  const missing = [...used].filter((name) => !exported.has(name));
  assert.deepEqual(missing, []);
  assert.ok(used.has('meshward_requests_total') && used.has('meshward_service_info') && used.has('process_start_time_seconds'));
});
