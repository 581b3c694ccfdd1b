// Learn mode (DESIGN §13): a least-privilege policy from observed traffic. Per gRPC method,
// only the principals seen calling it with an allowed (or audit_deny) outcome — never refused
// attempts — with a rate limit by principal at twice the highest calls/s one caller reached,
// rounded up; `mode: audit`; commented YAML that `meshward policy lint` accepts.
// CONTROL path (CLI); a pure function of a catalog view.

import type { CatalogCaller, CatalogView, ObservedEntry } from './catalog-view.js';
import { OTHER } from './observations.js';

export interface SuggestOptions {
  /** metadata.name of the policy. */
  readonly name: string;
  readonly now?: number;
}

// JSON strings are valid YAML double-quoted scalars.
const q = (s: string): string => JSON.stringify(s);

function day(iso: string | null): string {
  return iso === null ? 'never' : iso.replace(/\.\d+Z$/, 'Z');
}

/** The callers a rule allows: forwarded at least once, not the overflow bucket. */
function allowedCallers(o: ObservedEntry): CatalogCaller[] {
  return o.callers.filter((c) => c.principal !== OTHER && c.calls > c.refused).sort((a, b) => a.principal.localeCompare(b.principal));
}

export function suggestPolicy(view: CatalogView, opts: SuggestOptions): string {
  const lines: string[] = [
    `# Least-privilege policy suggested by \`meshward policy suggest\` from observed traffic.`,
    `# Generated ${day(new Date(opts.now ?? Date.now()).toISOString())} from ${view.sources.length} sidecar(s), calls observed since ${day(view.observedSince)}:`,
    ...view.sources.map((s) => `#   ${s.identity ?? '-'}${s.admin === undefined ? '' : ` (${s.admin})`}`),
    '# Each rule allows only the principals seen calling the method with an allowed (or',
    '# audit_deny) outcome, and limits each of them to twice the most calls per second one',
    '# caller made. Review it, test it (`meshward policy test`), keep it in audit mode for a',
    '# while, then change `mode: audit` to `mode: enforce`.',
    'apiVersion: meshward.dev/v1alpha1',
    'kind: Policy',
    `metadata: { name: ${q(opts.name)} }`,
    'spec:',
    '  mode: audit',
  ];
  const rules: string[] = [];
  const skipped: string[] = [];
  const grpc = view.observed.filter((o) => o.protocol === 'grpc');
  for (const o of grpc) {
    if (o.name === OTHER) {
      skipped.push(`${o.calls} calls to methods beyond the catalog's bound of undeclared names (_OTHER): not allowed`);
      continue;
    }
    if (o.status === 'undeclared') {
      skipped.push(`${o.name}: not declared in catalog.protos (a shadow API; ${o.calls} calls): declare it before allowing it`);
      continue;
    }
    const callers = allowedCallers(o);
    const overflow = o.callers.find((c) => c.principal === OTHER);
    if (overflow !== undefined) skipped.push(`${o.name}: ${overflow.calls} calls by callers beyond the bound of callers per method (_OTHER): not allowed`);
    const refusedOnly = o.callers.filter((c) => c.principal !== OTHER && c.calls === c.refused).length;
    if (callers.length === 0) {
      skipped.push(`${o.name}: only refused calls (${o.calls}): nothing to allow`);
      continue;
    }
    const peak = Math.max(...callers.map((c) => c.peakPerSecond));
    const requests = Math.max(1, Math.ceil(2 * peak));
    const forwarded = callers.reduce((n, c) => n + c.calls - c.refused, 0);
    rules.push(
      `    # ${o.name}${o.status === 'deprecated' ? ' (deprecated)' : ''}: ${forwarded} allowed calls from ${callers.length} caller(s), ${day(o.firstSeen)} .. ${day(o.lastSeen)}, peak ${peak}/s per caller` +
        (refusedOnly > 0 ? `; ${refusedOnly} principal(s) only refused, not listed` : ''),
      `    - methods: [${q(o.name)}]`,
      '      allow:',
      '        - principals:',
      ...callers.map((c) => `            - ${q(c.principal)} # ${c.calls - c.refused} calls, peak ${c.peakPerSecond}/s, last ${day(c.lastSeen)}`),
      `      rateLimit: { requests: ${requests}, per: 1s, by: principal }`,
    );
  }
  if (rules.length === 0) lines.push('  grpc: [] # no gRPC call was allowed in the observed traffic');
  else lines.push('  grpc:', ...rules);
  const graphql = view.observed.filter((o) => o.protocol === 'graphql').length;
  if (graphql > 0) skipped.push(`${graphql} GraphQL field(s) observed: GraphQL rules are not suggested (see docs/catalog.md)`);
  if (skipped.length > 0) lines.push('# Not suggested:', ...skipped.map((s) => `#   ${s}`));
  return lines.join('\n') + '\n';
}
