// The primary's /metrics over several workers: summed, monotonic across a worker's restart,
// gauges by their meaning.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsMerger, parseExposition } from './metrics-merge.js';

const worker = (calls: number, opts: { expiry?: number; up?: number; bucket?: number; rss?: number } = {}): string =>
  [
    '# HELP meshward_requests_total Calls seen.',
    '# TYPE meshward_requests_total counter',
    `meshward_requests_total{method="a",code="0"} ${calls}`,
    '# HELP meshward_request_duration_seconds Time.',
    '# TYPE meshward_request_duration_seconds histogram',
    `meshward_request_duration_seconds_bucket{method="a",le="0.001"} ${opts.bucket ?? calls}`,
    `meshward_request_duration_seconds_bucket{method="a",le="+Inf"} ${calls}`,
    `meshward_request_duration_seconds_sum{method="a"} ${calls * 0.1}`,
    `meshward_request_duration_seconds_count{method="a"} ${calls}`,
    '# TYPE meshward_certificate_expiry_seconds gauge',
    `meshward_certificate_expiry_seconds ${opts.expiry ?? 2000}`,
    '# TYPE meshward_ratelimit_store_up gauge',
    `meshward_ratelimit_store_up ${opts.up ?? 1}`,
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${opts.rss ?? 100}`,
    '# TYPE nodejs_version_info gauge',
    'nodejs_version_info{version="v20.20.2"} 1',
    '',
  ].join('\n');

const value = (text: string, key: string): number | undefined => {
  for (const f of parseExposition(text).values()) if (f.samples.has(key)) return f.samples.get(key);
  return undefined;
};

test('counters and histograms are summed; gauges by meaning (sum, soonest expiry, worst store state, max info)', () => {
  const m = new MetricsMerger();
  m.update(1, worker(10, { expiry: 3000, rss: 100 }));
  m.update(2, worker(5, { expiry: 2000, up: 0, rss: 50, bucket: 4 }));
  const out = m.render();
  assert.equal(value(out, 'meshward_requests_total{method="a",code="0"}'), 15);
  assert.equal(value(out, 'meshward_request_duration_seconds_bucket{method="a",le="0.001"}'), 14);
  assert.equal(value(out, 'meshward_request_duration_seconds_sum{method="a"}'), 1.5);
  assert.equal(value(out, 'meshward_certificate_expiry_seconds'), 2000);
  assert.equal(value(out, 'meshward_ratelimit_store_up'), 0);
  assert.equal(value(out, 'process_resident_memory_bytes'), 150);
  assert.equal(value(out, 'nodejs_version_info{version="v20.20.2"}'), 1);
  assert.equal((out.match(/^# TYPE meshward_requests_total counter$/gm) ?? []).length, 1, 'one header per family');
  assert.equal(m.total(1, 'meshward_requests_total'), 10);
});

test('a worker that exits keeps its counts: the total never goes backwards when its replacement starts at 0', () => {
  const m = new MetricsMerger();
  m.update(1, worker(10));
  m.update(2, worker(7));
  const before = value(m.render(), 'meshward_requests_total{method="a",code="0"}')!;
  m.retire(2);
  m.update(2, worker(1)); // the restarted worker 2
  const out = m.render();
  assert.equal(value(out, 'meshward_requests_total{method="a",code="0"}'), before + 1);
  assert.equal(value(out, 'meshward_request_duration_seconds_count{method="a"}'), 18);
  assert.equal(value(out, 'process_resident_memory_bytes'), 200, "an exited worker's gauges leave");
});

test('series only an exited worker had stay in the output', () => {
  const m = new MetricsMerger();
  m.update(1, '# TYPE x_total counter\nx_total{k="only-1"} 3\n');
  m.retire(1);
  m.update(1, '# TYPE x_total counter\nx_total{k="other"} 1\n');
  const out = m.render();
  assert.equal(value(out, 'x_total{k="only-1"}'), 3);
  assert.equal(value(out, 'x_total{k="other"}'), 1);
});
