// The meshward configurations the proxy benchmark measures (one entry each), and the YAML
// each adds to the sidecar config. An entry with `pending` is listed in the report but not
// run; delete `pending` when its feature lands.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchEnv } from './targets.js';

/** The benchmark method's declaration, with a constraint on its request. */
const BENCH_PROTO = fileURLToPath(new URL('./bench.proto', import.meta.url));

export interface MeshwardVariant {
  readonly name: string;
  readonly label: string;
  /** true: no policies at all, every authenticated caller allowed (default deny relaxed). */
  readonly allowAnyAuthenticated: boolean;
  /** 0 = no policy files; otherwise the 1,000-rule set of policies.ts. */
  readonly rbacRules: 0 | 1000;
  /** A memory rate limit on the benchmark's rule (never refuses at benchmark rates). */
  readonly rateLimit?: boolean;
  /** Message validation on the benchmark's rule (`validate: enforce`, catalog.protos = bench.proto). */
  readonly validate?: boolean;
  /** Parent-based trace sampling ratio, spans exported over OTLP/HTTP to a sink. */
  readonly tracingSampling?: number;
  /** Config `workers` (default 1): the primary and every worker are charged to the target. */
  readonly workers?: number;
  /** One client follows GET /tap during the run (tap-subscriber.ts): the cost of being watched. */
  readonly tapSubscriber?: boolean;
  readonly pending?: string;
}

const REALISTIC: MeshwardVariant = {
  name: 'meshward-realistic',
  label: 'meshward, + tracing at 1% sampling (realistic)',
  allowAnyAuthenticated: false,
  rbacRules: 1000,
  rateLimit: true,
  tracingSampling: 0.01,
};

export const MESHWARD_VARIANTS: readonly MeshwardVariant[] = [
  { name: 'meshward-off', label: 'meshward, everything off', allowAnyAuthenticated: true, rbacRules: 0 },
  { name: 'meshward-rbac', label: 'meshward, mTLS identity + 1,000 RBAC rules', allowAnyAuthenticated: false, rbacRules: 1000 },
  {
    name: 'meshward-rbac-ratelimit',
    label: 'meshward, + memory rate limit',
    allowAnyAuthenticated: false,
    rbacRules: 1000,
    rateLimit: true,
  },
  REALISTIC,
  // Issue 17: every request message decoded and checked with protovalidate before it is relayed.
  { name: 'meshward-rbac-validate', label: 'meshward, + message validation (protovalidate)', allowAnyAuthenticated: false, rbacRules: 1000, validate: true },
  // Issue 20: the same, while one client follows /tap (meshward tap, top or the dashboard).
  { ...REALISTIC, name: 'meshward-realistic-tap', label: 'meshward, realistic + one /tap subscriber', tapSubscriber: true },
  // Issue 9 item 5: the same sidecar as 2 worker processes (primary + 2), 1 vs 2 in one run.
  { name: 'meshward-off-w2', label: 'meshward, everything off, 2 workers', allowAnyAuthenticated: true, rbacRules: 0, workers: 2 },
  { ...REALISTIC, name: 'meshward-realistic-w2', label: 'meshward, realistic, 2 workers', workers: 2 },
];

export function sidecarExtraYaml(env: BenchEnv, name: string, variant: MeshwardVariant, policyDir: string | undefined, outbound?: string): string {
  const lines = [`audit:`, `  file: ${JSON.stringify(join(env.dir, `${name}-audit.log`))}`];
  if (policyDir !== undefined) lines.push(`policies: [${JSON.stringify(policyDir)}]`);
  if (variant.rateLimit) lines.push('rateLimit:', '  store: memory');
  if (variant.validate && policyDir !== undefined) lines.push('catalog:', `  protos: [${JSON.stringify(BENCH_PROTO)}]`);
  if (variant.tracingSampling !== undefined) {
    if (env.otlpEndpoint === undefined) throw new Error(`${name}: tracing needs the OTLP sink`);
    lines.push('telemetry:', `  serviceName: ${name}`, `  otlp: { endpoint: ${JSON.stringify(env.otlpEndpoint)}, protocol: http/protobuf }`, `  sampling: ${variant.tracingSampling}`);
  }
  if (variant.workers !== undefined) lines.push(`workers: ${variant.workers}`);
  if (outbound !== undefined) lines.push(outbound);
  return lines.join('\n');
}
