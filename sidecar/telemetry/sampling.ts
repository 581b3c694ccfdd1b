// Which calls get a recorded span. Built once (control path) from `telemetry.sampling` or
// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG; `sample` runs per call (data path) before
// any span exists, so an unsampled call costs no SDK object at all.

import type { RemoteParent } from './trace-context.js';

export interface SamplingRule {
  /** Follow the caller's sampled flag when there is a parent (parentbased_*). */
  readonly parentBased: boolean;
  /** For calls without a parent (or every call when not parent-based): 0..1. */
  readonly ratio: number;
  /** For logs and /config: "parentbased_traceidratio(0.01)". */
  readonly description: string;
}

export interface Sampler {
  readonly rule: SamplingRule;
  /** Whether meshward records a span for a call with this parent (if any) and trace id. */
  sample(parent: RemoteParent | undefined, traceId: string): boolean;
}

/** Parent-based ratio: DESIGN §3 `telemetry.sampling`. */
export function parentBasedRatio(ratio: number): SamplingRule {
  return { parentBased: true, ratio, description: `parentbased_traceidratio(${ratio})` };
}

/**
 * The sampler of the OpenTelemetry environment variables (SDK configuration spec), or
 * undefined when OTEL_TRACES_SAMPLER is unset. `problems` receives values it cannot use.
 */
export function samplingRuleFromEnv(env: NodeJS.ProcessEnv, problems: string[]): SamplingRule | undefined {
  const name = env.OTEL_TRACES_SAMPLER?.trim();
  if (name === undefined || name === '') return undefined;
  const arg = (): number => {
    const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    const n = raw === undefined || raw === '' ? NaN : Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) return n;
    problems.push(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(raw ?? '')} is not a ratio in [0, 1]; using 1`);
    return 1;
  };
  switch (name) {
    case 'always_on':
      return { parentBased: false, ratio: 1, description: name };
    case 'always_off':
      return { parentBased: false, ratio: 0, description: name };
    case 'traceidratio': {
      const r = arg();
      return { parentBased: false, ratio: r, description: `traceidratio(${r})` };
    }
    case 'parentbased_always_on':
      return { parentBased: true, ratio: 1, description: name };
    case 'parentbased_always_off':
      return { parentBased: true, ratio: 0, description: name };
    case 'parentbased_traceidratio':
      return parentBasedRatio(arg());
    default:
      problems.push(`OTEL_TRACES_SAMPLER=${JSON.stringify(name)} is not supported; using parentbased_always_on`);
      return undefined;
  }
}

/**
 * The OpenTelemetry JS TraceIdRatioBasedSampler's test (sdk-trace 2.x): the four 32-bit words
 * of the trace id XOR-ed, below floor(ratio * 0xffffffff). The same decision as any OpenTelemetry
 * JS service for the same trace id (sampling.test.ts checks it against the SDK's sampler), without
 * its per-call regex and result object. `traceId` is valid: parsed or made by trace-context.ts.
 */
export function ratioSamples(upperBound: number, traceId: string): boolean {
  let accumulation = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      part = (part << 4) | (c < 58 ? c - 48 : c - 87);
    }
    accumulation = (accumulation ^ part) >>> 0;
  }
  return accumulation < upperBound;
}

export function createSampler(rule: SamplingRule): Sampler {
  const upperBound = Math.floor(rule.ratio * 0xffffffff);
  const root =
    rule.ratio >= 1
      ? () => true
      : rule.ratio <= 0
        ? () => false
        : (traceId: string) => ratioSamples(upperBound, traceId);
  const { parentBased } = rule;
  return {
    rule,
    sample(parent, traceId) {
      if (parentBased && parent !== undefined) return parent.sampled;
      return root(traceId);
    },
  };
}
