// Policy files for the realistic meshward variants: 1,000 RBAC rules (exact, prefix and
// service-wildcard patterns over 200 services, in 10 documents, as bench/policy-decision
// measures them), one of which allows the benchmark's caller to call the benchmark method.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_METHOD, BENCH_SERVICE } from './grpc-wire.js';

const SERVICES = 200;
const DOCUMENTS = 10;

export interface BenchPolicyOptions {
  /** The caller's SPIFFE ID (the load generator's client certificate). */
  readonly caller: string;
  /** A memory rate limit on the benchmark rule, high enough never to refuse. */
  readonly rateLimit: boolean;
  /** `validate: enforce` on the benchmark rule (message validation). */
  readonly validate?: boolean;
}

const service = (i: number): string => `bench.s${i}.v1.Service${i}`;
const frontend = (i: number): string => `spiffe://cluster.local/ns/web${i % 7}/sa/frontend${i}`;

/** Five rules per service: two exact, two prefixes, one service wildcard. */
function fillerRules(i: number): string[] {
  const svc = service(i);
  const people = `["${frontend(i)}", "${frontend(i + 1)}", "spiffe://cluster.local/ns/ops${i % 5}/*"]`;
  const deny = `deny: [{ principals: ["spiffe://cluster.local/ns/sandbox/*"] }]`;
  return [
    `{ methods: ["${svc}/Get"], allow: [{ principals: ${people} }], ${deny}, timeout: 2s }`,
    `{ methods: ["${svc}/Put"], allow: [{ principals: ${people} }], ${deny} }`,
    `{ methods: ["${svc}/List*"], allow: [{ principals: ${people} }] }`,
    `{ methods: ["${svc}/ListAll*"], allow: [{ principals: ["*"] }], ${deny} }`,
    `{ methods: ["${svc}/*"], allow: [{ principals: ["spiffe://cluster.local/ns/ops${i % 5}/*"] }], ${deny} }`,
  ];
}

/** The benchmark service's five rules; the exact one decides the benchmark's calls. */
function benchRules(opts: BenchPolicyOptions): string[] {
  const limit =
    (opts.rateLimit ? ', rateLimit: { requests: 1000000, per: 1s, burst: 100000, by: principal }' : '') + (opts.validate === true ? ', validate: enforce' : '');
  const deny = `deny: [{ principals: ["spiffe://cluster.local/ns/sandbox/*"] }]`;
  return [
    `{ methods: ["${BENCH_METHOD}"], allow: [{ principals: ["${opts.caller}", "spiffe://cluster.local/ns/ops/*"] }], ${deny}${limit} }`,
    `{ methods: ["${BENCH_SERVICE}/Get"], allow: [{ principals: ["${opts.caller}"] }], ${deny} }`,
    `{ methods: ["${BENCH_SERVICE}/List*"], allow: [{ principals: ["${opts.caller}"] }] }`,
    `{ methods: ["${BENCH_SERVICE}/Un*"], allow: [{ principals: ["spiffe://cluster.local/ns/ops/*"] }], ${deny} }`,
    `{ methods: ["${BENCH_SERVICE}/*"], allow: [{ principals: ["spiffe://cluster.local/ns/ops/*"] }], ${deny} }`,
  ];
}

/** Writes the policy folder and returns its path; exactly 1,000 rules. */
export async function writeBenchPolicies(dir: string, opts: BenchPolicyOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (let d = 0; d < DOCUMENTS; d++) {
    const lines = ['apiVersion: meshward.dev/v1alpha1', 'kind: Policy', `metadata: { name: bench-${d} }`, 'spec:', '  grpc:'];
    // Service 0 is the benchmark service; 1..199 are filler.
    for (let i = d; i < SERVICES; i += DOCUMENTS) for (const r of i === 0 ? benchRules(opts) : fillerRules(i)) lines.push(`    - ${r}`);
    await writeFile(join(dir, `bench-${d}.yaml`), `${lines.join('\n')}\n`);
  }
  return dir;
}

export const BENCH_RULE_COUNT = SERVICES * 5;
