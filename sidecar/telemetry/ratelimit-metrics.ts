// `meshward_ratelimit_rejections_total{rule}` (DESIGN §6), kept per process so the limits
// filters can count a refusal with one call and no wiring: `countRateLimitRejection(rule)`.
// Data path: one Map lookup and an increment. Rendered by meshward-metrics.ts.

import { counterCell, MetricFamily, type CounterCell } from './metric-family.js';

export const rateLimitRejections = new MetricFamily<CounterCell>(
  'meshward_ratelimit_rejections_total',
  'Calls refused by a rate limit (RESOURCE_EXHAUSTED / 429), by the policy rule that set the limit.',
  'counter',
  ['rule'],
  counterCell,
);

/** Counts one call refused by a rate limit of `rule` (e.g. "orders:grpc[0]"). */
export function countRateLimitRejection(rule: string): void {
  rateLimitRejections.get1(rule).value++;
}
