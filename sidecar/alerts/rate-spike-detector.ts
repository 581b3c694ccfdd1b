// MeshwardRateSpike (DESIGN §10): a caller's calls on a method in one window far above its
// baseline. Only pairs with a baseline are judged. CONTROL path (evaluation timer).

import type { AlertsConfig } from '../config/alerts-schema.js';
import { clip, formatMs, num, type AlertDraft } from './alert.js';
import type { PairStats } from './pair-table.js';

export type RateSpikeSettings = AlertsConfig['rateSpike'];

export function rateSpike(pair: PairStats, s: RateSpikeSettings, windowMs: number, baseline: boolean): AlertDraft | undefined {
  const c = pair.calls;
  if (!baseline || c < s.minCalls || c <= s.factor * Math.max(pair.ewmaCalls, 1)) return undefined;
  const w = formatMs(windowMs);
  const numbers: Record<string, string> = {
    calls: String(c),
    window: w,
    baseline_calls: num(pair.ewmaCalls),
    ratio_to_baseline: num(c / Math.max(pair.ewmaCalls, 1)),
    denials: String(pair.denies),
  };
  if (pair.example !== undefined) numbers.example_method = clip(pair.example);
  return {
    alertname: 'MeshwardRateSpike',
    severity: 'warning',
    method: pair.method,
    principal: pair.principal,
    summary: `${pair.principal} called ${pair.method} ${c} times in ${w} (baseline ${num(pair.ewmaCalls)})`,
    description:
      `The call rate of ${pair.principal} on ${pair.method} is ${num(c / Math.max(pair.ewmaCalls, 1))} x its baseline ` +
      `(${c} calls in ${w}, baseline ${num(pair.ewmaCalls)} per ${w}). A retry storm, a runaway job, scraping or abuse.`,
    traceId: pair.lastTraceId,
    rule: `calls in ${w} > ${s.factor} x baseline (and >= ${s.minCalls})`,
    numbers,
  };
}
