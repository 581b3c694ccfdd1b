// MeshwardDenySpike (DESIGN §10): a caller's denials on a method in one window far above its
// baseline — by count or by ratio — or, for a pair without a baseline yet, above an absolute
// floor. CONTROL path (evaluation timer).

import type { AlertsConfig } from '../config/alerts-schema.js';
import { clip, formatMs, num, type AlertDraft } from './alert.js';
import type { PairStats } from './pair-table.js';

export type DenySpikeSettings = AlertsConfig['denySpike'];

export function denySpike(pair: PairStats, s: DenySpikeSettings, windowMs: number, baseline: boolean): AlertDraft | undefined {
  const d = pair.denies;
  const c = pair.calls;
  if (d === 0) return undefined;
  const w = formatMs(windowMs);
  const ratio = d / Math.max(c, 1);
  const baseRatio = pair.ewmaCalls > 0 ? Math.min(1, pair.ewmaDenies / pair.ewmaCalls) : 0;
  let rule: string | undefined;
  if (!baseline) {
    if (d >= s.floor) rule = `no baseline yet: denials in ${w} >= floor ${s.floor}`;
  } else if (d >= s.minDenials) {
    if (d > s.factor * Math.max(pair.ewmaDenies, 1)) rule = `denials in ${w} > ${s.factor} x baseline (and >= ${s.minDenials})`;
    else if (ratio >= baseRatio + s.ratioJump) rule = `deny ratio >= baseline ratio + ${s.ratioJump} (and denials >= ${s.minDenials})`;
  }
  if (rule === undefined) return undefined;
  const numbers: Record<string, string> = {
    denials: String(d),
    calls: String(c),
    deny_ratio: num(ratio),
    window: w,
    baseline_denials: baseline ? num(pair.ewmaDenies) : 'none',
    baseline_deny_ratio: baseline ? num(baseRatio) : 'none',
    last_reason: pair.lastDenyReason ?? '',
  };
  if (pair.example !== undefined) numbers.example_method = clip(pair.example);
  return {
    alertname: 'MeshwardDenySpike',
    severity: 'warning',
    method: pair.method,
    principal: pair.principal,
    summary: `${d} of ${c} calls of ${pair.principal} to ${pair.method} denied in ${w}`,
    description:
      `${pair.principal} was refused ${d} times on ${pair.method} in the last ${w} ` +
      (baseline ? `(baseline ${num(pair.ewmaDenies)} per ${w}, deny ratio ${num(baseRatio)}). ` : '(no baseline yet). ') +
      `Last refusal reason: ${pair.lastDenyReason ?? 'unknown'}. A caller probing methods it may not call, or a policy change that broke it.`,
    traceId: pair.lastDenyTraceId,
    rule,
    numbers,
  };
}
