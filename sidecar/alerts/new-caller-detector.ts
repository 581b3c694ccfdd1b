// MeshwardNewCaller (DESIGN §10): after the learning period, a principal calls a method it was
// never seen calling, allowed or not — lateral movement looks exactly like this. An event
// alert: active for `eventFor`. CONTROL path (evaluation timer, from PairTable.takeFresh).

import { clip, formatMs, type AlertDraft } from './alert.js';
import type { PairStats } from './pair-table.js';

export function newCaller(pair: PairStats, learnForMs: number, knownCallers: number): AlertDraft {
  const outcome = pair.firstReason ?? 'unknown';
  const numbers: Record<string, string> = {
    first_seen: new Date(pair.firstSeen).toISOString(),
    first_outcome: outcome,
    learn_for: formatMs(learnForMs),
    other_callers_of_method: String(knownCallers),
  };
  if (pair.example !== undefined) numbers.example_method = clip(pair.example);
  return {
    alertname: 'MeshwardNewCaller',
    severity: 'warning',
    method: pair.method,
    principal: pair.principal,
    summary: `New caller: ${pair.principal} called ${pair.method} for the first time (${outcome})`,
    description:
      `${pair.principal} had not been seen calling ${pair.method} since this sidecar started learning ` +
      `(${formatMs(learnForMs)} before alerting). First call outcome: ${outcome}. ` +
      `Expected after a deployment that adds a dependency; otherwise a workload reaching for something new.`,
    traceId: pair.firstTraceId,
    rule: `first call of a principal to a method after learnFor ${formatMs(learnForMs)}`,
    numbers,
  };
}
