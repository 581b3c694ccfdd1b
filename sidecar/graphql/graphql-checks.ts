// The checks of one analyzed GraphQL operation against its endpoint's compiled rule (data
// path, synchronous): limits, introspection, then field rules. Each returns a refusal or
// undefined; limits in audit mode are recorded on the call instead (DESIGN §4).

import { RejectCode, wireReplies } from '../core/codes.js';
import type { CallInfo, Rejection } from '../core/filter.js';
import { denyCode } from '../policy/authz-filter.js';
import { decideRule } from '../policy/evaluate.js';
import type { CallFacts, CompiledGraphqlRule, CompiledMethodRule, Decision, GraphqlLimit, GraphqlLimitName } from '../policy/model.js';
import type { AnalysisFailure, OperationAnalysis } from './analysis/analyze.js';

/** `extensions.code` of each limit (DESIGN §5). */
export const LIMIT_CODES: Readonly<Record<GraphqlLimitName, string>> = Object.freeze({
  depth: 'MAX_DEPTH_LIMIT',
  cost: 'COST_LIMIT',
  aliases: 'MAX_ALIASES_LIMIT',
  rootFields: 'MAX_ROOT_FIELDS_LIMIT',
  tokens: 'MAX_TOKENS_LIMIT',
  directives: 'MAX_DIRECTIVES_LIMIT',
  batch: 'BATCH_LIMIT',
  bodyBytes: 'BODY_TOO_LARGE',
});

const LIMIT_NAMES: Readonly<Record<GraphqlLimitName, string>> = Object.freeze({
  depth: 'depth',
  cost: 'cost',
  aliases: 'aliases',
  rootFields: 'root fields',
  tokens: 'tokens',
  directives: 'directives',
  batch: 'operations in the batch',
  bodyBytes: 'body bytes',
});

/** The refusal for a value over a limit: the code and both numbers, never the query. */
export function limitRejection(name: GraphqlLimitName, limit: GraphqlLimit, actual: number): Rejection {
  const what = LIMIT_NAMES[name];
  return {
    code: name === 'bodyBytes' ? RejectCode.MESSAGE_TOO_LARGE : RejectCode.GRAPHQL_LIMIT,
    reason: `graphql_${name === 'rootFields' ? 'root_fields' : name === 'bodyBytes' ? 'body_bytes' : name}_limit`,
    rule: limit.rule,
    detail: `${what} ${actual} over the limit ${limit.value}`,
    graphqlMessage: `Operation exceeds the ${what} limit.`,
    graphqlExtensions: { code: LIMIT_CODES[name], limit: limit.value, actual },
  };
}

/** A value against its enforced and its audited bound. */
export function checkLimit(ctx: CallInfo, rule: CompiledGraphqlRule, name: GraphqlLimitName, actual: number): Rejection | undefined {
  const limit = rule.limits[name];
  if (actual > limit.value) return limitRejection(name, limit, actual);
  const audited = rule.auditedLimits[name];
  if (audited !== undefined && actual > audited.value) ctx.auditedLimit ??= limitRejection(name, audited, actual);
  return undefined;
}

/**
 * The audit/metric reason of an analysis failure: `graphql_` + the code without its own
 * GRAPHQL_ prefix (GRAPHQL_PARSE_FAILED → graphql_parse_failed), the token limit named as the
 * other limits are (graphql_tokens_limit, like graphql_depth_limit).
 */
export function analysisReason(code: string): string {
  if (code === 'MAX_TOKENS_LIMIT') return 'graphql_tokens_limit';
  return `graphql_${code.replace(/^GRAPHQL_/, '').toLowerCase()}`;
}

/** An analysis failure as a refusal (its HTTP status is chosen by core/reply.ts graphqlReply). */
export function analysisRejection(failure: AnalysisFailure, tokensRule: string | undefined): Rejection {
  const code =
    failure.code === 'MAX_TOKENS_LIMIT' ? RejectCode.GRAPHQL_LIMIT : failure.code === 'GRAPHQL_VALIDATION_FAILED' ? RejectCode.GRAPHQL_VALIDATION : RejectCode.GRAPHQL_INVALID;
  const extensions: Record<string, string | number> = { code: failure.code };
  if (failure.limit !== undefined) extensions.limit = failure.limit;
  if (failure.actual !== undefined) extensions.actual = failure.actual;
  return {
    code,
    reason: analysisReason(failure.code),
    rule: failure.code === 'MAX_TOKENS_LIMIT' ? tokensRule : undefined,
    detail: failure.message,
    graphqlMessage: failure.message,
    graphqlExtensions: extensions,
  };
}

/** Every limit that is a number of the analysis; the cost is checked with the request's variables. */
export function checkOperationLimits(ctx: CallInfo, rule: CompiledGraphqlRule, op: OperationAnalysis, cost: number): Rejection | undefined {
  return (
    checkLimit(ctx, rule, 'depth', op.depth) ??
    checkLimit(ctx, rule, 'aliases', op.aliases) ??
    checkLimit(ctx, rule, 'rootFields', op.rootFields) ??
    checkLimit(ctx, rule, 'directives', op.directives) ??
    checkLimit(ctx, rule, 'cost', cost)
  );
}

function refusal(decision: Decision, reason: string, detail: string, extensions: Record<string, string | number>): Rejection {
  const code = denyCode(decision);
  return { code, reason, rule: decision.rule, detail, graphqlExtensions: { code: wireReplies[code].graphqlCode, ...extensions } };
}

/** Introspection (`__schema`, `__type`) is off unless a rule allows it for this caller. */
export function checkIntrospection(ctx: CallInfo, rule: CompiledGraphqlRule, facts: CallFacts): Rejection | undefined {
  const r = rule.introspection;
  if (r === undefined) {
    return { code: RejectCode.PERMISSION_DENIED, reason: 'introspection_disabled', detail: 'introspection is off for this endpoint', graphqlExtensions: { code: 'INTROSPECTION_DISABLED' } };
  }
  return judge(ctx, r, facts, 'introspection', 'introspection');
}

/** The rule for a field coordinate: `Type.field` before `Type.*`. */
export function fieldRuleFor(rules: ReadonlyMap<string, CompiledMethodRule>, coordinate: string): CompiledMethodRule | undefined {
  return rules.get(coordinate) ?? rules.get(`${coordinate.slice(0, coordinate.indexOf('.'))}.*`);
}

/**
 * Field rules: every coordinate the operation can touch (through aliases, fragments,
 * interfaces and unions — analysis/ resolved them) against its rule, `Type.field` before
 * `Type.*`. The first denied field refuses the whole operation, naming its path.
 */
export function checkFields(ctx: CallInfo, rule: CompiledGraphqlRule, op: OperationAnalysis, facts: CallFacts): Rejection | undefined {
  const rules = rule.fields;
  if (rules.size === 0) return undefined;
  for (const [coordinate, path] of op.fields) {
    const fieldRule = fieldRuleFor(rules, coordinate);
    if (fieldRule === undefined) continue;
    const stop = judge(ctx, fieldRule, facts, `field ${coordinate}`, path);
    if (stop !== undefined) return stop;
  }
  if (op.schemaless && [...rules.keys()].some((c) => !/^(Query|Mutation|Subscription)\./.test(c))) {
    // Without a schema only root fields are known: a rule on any other type cannot be checked.
    return { code: RejectCode.PERMISSION_DENIED, reason: 'graphql_schema_required', detail: 'field rules need inbound.graphql.schemaFile', graphqlExtensions: { code: 'FORBIDDEN' } };
  }
  return undefined;
}

function judge(ctx: CallInfo, r: CompiledMethodRule, facts: CallFacts, what: string, path: string): Rejection | undefined {
  const decision = decideRule(r, facts);
  if (decision.decision === 'allow') return undefined;
  const reason = what === 'introspection' ? 'introspection_denied' : `field_${decision.reason}`;
  if (decision.decision === 'audit_deny') {
    ctx.auditedLimit ??= { code: RejectCode.PERMISSION_DENIED, reason, rule: decision.rule, detail: `${what} (${path}) would be denied` };
    return undefined;
  }
  return refusal(decision, reason, `${what} at ${path}: ${decision.reason}`, { path });
}
