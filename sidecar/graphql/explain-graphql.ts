// `meshward policy explain --graphql QUERY` (slow path, CLI only): what the GraphQL guard
// would decide for one operation and why — the endpoint rule, each number of the analysis
// against its limit, introspection, and every field rule the operation meets.

import { decideRule } from '../policy/evaluate.js';
import type { CallFacts, GraphqlLimitName, PolicySnapshot } from '../policy/model.js';
import type { GraphqlAnalyzer } from './analysis/analyze.js';
import { checkFields, checkIntrospection, checkOperationLimits, fieldRuleFor, type AuditedLimitSink } from './graphql-checks.js';

export interface GraphqlExplainInput {
  readonly snapshot: PolicySnapshot;
  readonly path: string;
  readonly analyzer: GraphqlAnalyzer;
  readonly facts: CallFacts;
  readonly query: string;
  readonly operationName?: string | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | undefined;
}

export function explainGraphql(input: GraphqlExplainInput): { lines: string[]; allowed: boolean } {
  const { snapshot, path, facts } = input;
  const lines = [`path       ${path}`];
  const rule = snapshot.graphqlRule(path);
  const access = decideRule(rule?.access, facts);
  lines.push(`endpoint   ${access.decision.toUpperCase()} (${access.reason})${access.rule === undefined ? '' : ` by ${access.rule}`}`);
  if (rule === undefined) {
    lines.push(`why        no graphql rule names ${path} (default deny)`);
    return { lines, allowed: false };
  }
  const result = input.analyzer.analyze(input.query, input.operationName, rule.limits.tokens.value);
  if (!result.ok) {
    lines.push(`document   REFUSED ${result.failure.code}: ${result.failure.message}`);
    return { lines, allowed: false };
  }
  const op = result.op;
  const cost = op.cost(input.variables);
  lines.push(`operation  ${op.type}${op.name === undefined ? '' : ` ${op.name}`}${op.schemaless ? ' (no schema: only root fields are known)' : ''}`);
  const numbers: Array<[GraphqlLimitName, number]> = [
    ['depth', op.depth],
    ['cost', cost],
    ['aliases', op.aliases],
    ['rootFields', op.rootFields],
    ['directives', op.directives],
    ['tokens', op.tokens],
  ];
  for (const [name, actual] of numbers) {
    const limit = rule.limits[name];
    const audited = rule.auditedLimits[name];
    const verdict = actual > limit.value ? 'OVER' : 'ok  ';
    lines.push(`  ${verdict} ${name.padEnd(10)} ${String(actual).padStart(6)} / ${limit.value}${limit.rule === undefined ? ' (default)' : ` (${limit.rule})`}${audited === undefined ? '' : `; audited ${audited.value} (${audited.rule})`}`);
  }
  if (op.introspection) {
    const d = rule.introspection === undefined ? undefined : decideRule(rule.introspection, facts);
    lines.push(`introspect ${d === undefined ? 'DENY (no introspection rule: off)' : `${d.decision.toUpperCase()} (${d.reason}) by ${d.rule}`}`);
  }
  for (const [coordinate, at] of op.fields) {
    const fieldRule = fieldRuleFor(rule.fields, coordinate);
    if (fieldRule === undefined) continue;
    const d = decideRule(fieldRule, facts);
    lines.push(`  field    ${coordinate} at ${at}: ${d.decision.toUpperCase()} (${d.reason}) by ${fieldRule.pattern.slice(fieldRule.pattern.indexOf('#') + 1)} ${d.rule ?? ''}`);
  }
  const scratch: AuditedLimitSink = { auditedLimit: undefined };
  const refusal =
    access.decision === 'deny'
      ? { reason: access.reason }
      : (checkOperationLimits(scratch, rule, op, cost) ?? (op.introspection ? checkIntrospection(scratch, rule, facts) : undefined) ?? checkFields(scratch, rule, op, facts));
  if (refusal !== undefined) lines.push(`decision   DENY (${refusal.reason})`);
  else lines.push(`decision   ALLOW${scratch.auditedLimit === undefined ? '' : ` (audit mode would refuse: ${scratch.auditedLimit.reason})`}`);
  if (rule.costBudgets.length > 0) lines.push(`budget     takes ${cost} points from ${rule.costBudgets.map((b) => `${b.rule} (${b.requests} per ${b.perMs}ms)`).join(', ')}`);
  return { lines, allowed: refusal === undefined };
}
