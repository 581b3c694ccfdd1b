// Alert identity and formats: Alertmanager's fingerprint, the postable alert of API v2 and the
// webhook payload (version 4).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprint, type Alert } from './alert.js';
import { postableAlert } from './alertmanager-receiver.js';
import { webhookPayload } from './webhook-receiver.js';

test('fingerprint is Alertmanager\'s (fnv64a over sorted labels)', () => {
  // Read back from Alertmanager 0.25 after posting these labels.
  assert.equal(fingerprint({ alertname: 'T', service: 's' }), 'e408952d0f0b9484');
  assert.equal(fingerprint({ service: 's', alertname: 'T' }), 'e408952d0f0b9484');
  assert.notEqual(fingerprint({ alertname: 'T', service: 't' }), 'e408952d0f0b9484');
});

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const alert = (labels: Record<string, string>, extra: Partial<Alert> = {}): Alert => ({
  fingerprint: fingerprint(labels),
  labels,
  annotations: { summary: 's', rule: 'r' },
  startsAt: T0,
  expiresAt: undefined,
  endsAt: undefined,
  ...extra,
});

test('postable alert: an active one ends 4 resends ahead, an event at its expiry, a resolved one at its end', () => {
  const now = T0 + 5000;
  assert.deepEqual(postableAlert(alert({ alertname: 'A' }), now, 60_000), {
    labels: { alertname: 'A' },
    annotations: { summary: 's', rule: 'r' },
    startsAt: '2026-12-03T10:00:00.000Z',
    endsAt: '2026-12-03T10:04:05.000Z',
  });
  assert.equal(postableAlert(alert({ alertname: 'A' }, { expiresAt: T0 + 3_600_000 }), now, 60_000).endsAt, '2026-12-03T11:00:00.000Z');
  assert.equal(postableAlert(alert({ alertname: 'A' }, { endsAt: T0 + 1000 }), now, 60_000).endsAt, '2026-12-03T10:00:01.000Z');
});

test('webhook payload: Alertmanager\'s version 4 shape, status firing if any alert fires, common labels', () => {
  const a = alert({ alertname: 'A', service: 'orders', principal: 'p1' });
  const b = alert({ alertname: 'A', service: 'orders', principal: 'p2' }, { endsAt: T0 + 2000 });
  const p = webhookPayload([
    { alert: a, status: 'firing' },
    { alert: b, status: 'resolved' },
  ]);
  assert.deepEqual(Object.keys(p).sort(), ['alerts', 'commonAnnotations', 'commonLabels', 'externalURL', 'groupKey', 'groupLabels', 'receiver', 'status', 'truncatedAlerts', 'version']);
  assert.equal(p.version, '4');
  assert.equal(p.status, 'firing');
  assert.deepEqual(p.commonLabels, { alertname: 'A', service: 'orders' });
  assert.equal(p.groupKey, '{}:{alertname="A", service="orders"}');
  assert.deepEqual(p.alerts[0], {
    status: 'firing',
    labels: a.labels,
    annotations: a.annotations,
    startsAt: '2026-12-03T10:00:00.000Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: a.fingerprint,
  });
  assert.equal(p.alerts[1]!.endsAt, '2026-12-03T10:00:02.000Z');
  assert.equal(webhookPayload([{ alert: b, status: 'resolved' }]).status, 'resolved');
});
