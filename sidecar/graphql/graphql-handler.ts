// The GraphQL request path (data path), in the order DESIGN §7 gives:
//   identity → jwt-authn → endpoint authz + rate limit → body → analysis → limits →
//   introspection → field rules → cost budget → forward
// Nothing reaches the app before every check passed; refusals are GraphQL error replies.

import { runChain } from '../core/chain.js';
import { RejectCode } from '../core/codes.js';
import type { CallInfo, Filter, FilterResult, Rejection } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { graphqlReply } from '../core/reply.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { denyCode } from '../policy/authz-filter.js';
import { decideRule } from '../policy/evaluate.js';
import type { CallFacts, CompiledGraphqlRule, RateLimitRule } from '../policy/model.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { GraphqlAnalyzer } from './analysis/analyze.js';
import { analysisRejection, checkFields, checkIntrospection, checkLimit, checkOperationLimits, limitRejection } from './graphql-checks.js';
import type { GraphqlExchange } from './graphql-exchange.js';
import type { GraphqlForwarder } from './graphql-forwarder.js';
import { methodNotAllowed, parseGetRequest, parsePostRequest, targetPath, type OperationRequest, type ParsedRequest } from './graphql-request.js';

export interface GraphqlHandlerOptions {
  /** The endpoint path (inbound.graphql.path). */
  readonly path: string;
  readonly policies: PolicyStore;
  /** The analyzer of the current schema (schema-store.ts replaces it on reload). */
  readonly analyzer: () => GraphqlAnalyzer;
  /** Identity and JWT authn, shared with the gRPC chain. */
  readonly filters: readonly Filter<CallInfo>[];
  /** Rate limits and cost budgets (ratelimit/limits-filter.ts `take`). */
  readonly take: (ctx: CallInfo, rules: readonly RateLimitRule[], weight: number) => FilterResult | Promise<FilterResult>;
  readonly observers: readonly CallObserver[];
  readonly forwarder: GraphqlForwarder;
  readonly maxTimeoutMs: number;
}

export type GraphqlHandler = (exchange: GraphqlExchange, peer: PeerIdentity) => void;

const NOT_FOUND: Rejection = { code: RejectCode.NOT_FOUND, reason: 'not_graphql_path' };
const SUBSCRIPTION: Rejection = {
  code: RejectCode.GRAPHQL_INVALID,
  reason: 'graphql_subscription_over_http',
  graphqlMessage: 'Subscriptions are not served over this endpoint.',
  graphqlExtensions: { code: 'SUBSCRIPTION_NOT_SUPPORTED' },
};
const MUTATION_OVER_GET: Rejection = {
  code: RejectCode.METHOD_NOT_ALLOWED,
  reason: 'graphql_mutation_over_get',
  graphqlMessage: 'Mutations are only accepted over POST.',
  graphqlExtensions: { code: 'METHOD_NOT_ALLOWED' },
};

export function createGraphqlHandler(opts: GraphqlHandlerOptions): GraphqlHandler {
  const started = opts.observers.filter((o) => o.started !== undefined);
  const decided = opts.observers.filter((o) => o.decided !== undefined);
  const ended = opts.observers.filter((o) => o.ended !== undefined);

  function refuse(exchange: GraphqlExchange, rejection: Rejection): void {
    const reply = graphqlReply(rejection, exchange.headers.accept);
    exchange.respond(reply.status, reply.headers, reply.body);
  }

  function settle(ctx: CallInfo, exchange: GraphqlExchange, rejection: Rejection | undefined, body: Buffer | undefined): void {
    ctx.rejection = rejection;
    for (const o of decided) o.decided!(ctx, rejection);
    if (rejection !== undefined) refuse(exchange, rejection);
    else opts.forwarder.forward(ctx, exchange, body);
  }

  /** Endpoint authz and rate limit: before the body is read, so a refused caller costs little. */
  function admit(ctx: CallInfo, rule: CompiledGraphqlRule | undefined, facts: CallFacts): FilterResult | Promise<FilterResult> {
    const decision = decideRule(rule?.access, facts);
    ctx.decision = decision;
    if (decision.decision === 'deny') {
      return { code: denyCode(decision), reason: decision.reason, rule: decision.rule, detail: `GraphQL endpoint ${ctx.path}: ${decision.reason}` };
    }
    if (rule === undefined || rule.access.rateLimits.length === 0) return undefined;
    return opts.take(ctx, rule.access.rateLimits, 1);
  }

  async function readRequest(exchange: GraphqlExchange, rule: CompiledGraphqlRule): Promise<{ parsed: ParsedRequest; body: Buffer | undefined } | Rejection | 'gone'> {
    if (exchange.method === 'GET') return { parsed: parseGetRequest(exchange.target), body: undefined };
    if (exchange.method !== 'POST') return { parsed: methodNotAllowed(), body: undefined };
    const limit = rule.limits.bodyBytes;
    const body = await exchange.readBody(limit.value);
    if (body === 'aborted') return 'gone';
    if (body === 'too_large') return limitRejection('bodyBytes', limit, limit.value + 1);
    const contentType = exchange.headers['content-type'];
    return { parsed: parsePostRequest(contentType, body), body };
  }

  /** Analysis, limits, introspection and field rules of every operation; the summed cost. */
  function inspect(ctx: CallInfo, exchange: GraphqlExchange, rule: CompiledGraphqlRule, operations: readonly OperationRequest[], facts: CallFacts): Rejection | number {
    const analyzer = opts.analyzer();
    const tokens = rule.limits.tokens;
    let total = 0;
    for (const request of operations) {
      const result = analyzer.analyze(request.query, request.operationName, tokens.value);
      if (!result.ok) return analysisRejection(result.failure, tokens.rule);
      const op = result.op;
      ctx.graphql ??= { operationType: op.type, operationName: op.name, cost: undefined, operations: operations.length, fieldSets: [] };
      ctx.graphql.fieldSets?.push(op.fields);
      if (op.type === 'subscription') return SUBSCRIPTION;
      if (op.type === 'mutation' && exchange.method === 'GET') return MUTATION_OVER_GET;
      const audited = rule.auditedLimits.tokens;
      if (audited !== undefined && op.tokens > audited.value) ctx.auditedLimit ??= limitRejection('tokens', audited, op.tokens);
      const cost = op.cost(request.variables);
      const stop =
        checkOperationLimits(ctx, rule, op, cost) ??
        (op.introspection ? checkIntrospection(ctx, rule, facts) : undefined) ??
        checkFields(ctx, rule, op, facts);
      if (stop !== undefined) return stop;
      total += cost;
    }
    return total;
  }

  async function guard(ctx: CallInfo, exchange: GraphqlExchange): Promise<{ rejection: Rejection | undefined; body: Buffer | undefined } | 'gone'> {
    const chain = runChain(opts.filters, ctx);
    const early = chain instanceof Promise ? await chain : chain;
    if (early !== undefined) return { rejection: early, body: undefined };
    // One read of the policy snapshot for the whole call.
    const snapshot = opts.policies.current;
    ctx.policyVersion = snapshot.version;
    const rule = snapshot.graphqlRule(ctx.path);
    const facts: CallFacts = { method: `graphql:${ctx.path}`, principal: ctx.peer.authenticated ? ctx.peer.spiffeId : undefined, jwt: ctx.jwt };
    const admitted = admit(ctx, rule, facts);
    const refused = admitted instanceof Promise ? await admitted : admitted;
    if (refused !== undefined || rule === undefined) return { rejection: refused, body: undefined };

    const read = await readRequest(exchange, rule);
    if (read === 'gone') return 'gone';
    if (!('parsed' in read)) return { rejection: read, body: undefined };
    const { parsed, body } = read;
    if (!parsed.ok) return { rejection: parsed.rejection, body };
    const batch = checkLimit(ctx, rule, 'batch', parsed.operations.length);
    if (batch !== undefined) return { rejection: batch, body };

    const cost = inspect(ctx, exchange, rule, parsed.operations, facts);
    if (typeof cost !== 'number') return { rejection: cost, body };
    ctx.graphql = { ...ctx.graphql!, cost };
    if (rule.costBudgets.length > 0) {
      const taken = opts.take(ctx, rule.costBudgets, Math.max(1, cost));
      const over = taken instanceof Promise ? await taken : taken;
      if (over !== undefined) return { rejection: over, body };
    }
    return { rejection: undefined, body };
  }

  return function onGraphql(exchange, peer): void {
    const path = targetPath(exchange.target);
    const ctx: CallInfo = {
      protocol: 'graphql',
      headers: exchange.headers,
      rawHeaders: exchange.rawHeaders,
      peer,
      startedAt: performance.now(),
      path,
      httpMethod: exchange.method,
      method: undefined,
      timeoutMs: opts.maxTimeoutMs,
      jwt: undefined,
      decision: undefined,
      policyVersion: undefined,
      trace: undefined,
      rejection: undefined,
      auditedLimit: undefined,
      lateRejection: undefined,
      graphql: undefined,
    };
    for (const o of started) o.started!(ctx);
    if (ended.length > 0) {
      exchange.onClose(() => {
        const status = exchange.status;
        const outcome = { grpcStatus: undefined, httpStatus: status, rstCode: status === undefined ? 8 : undefined, durationMs: performance.now() - ctx.startedAt };
        for (const o of ended) o.ended!(ctx, outcome);
      });
    }
    if (path !== opts.path) return settle(ctx, exchange, NOT_FOUND, undefined);
    guard(ctx, exchange).then(
      (result) => {
        if (result === 'gone') return;
        settle(ctx, exchange, result.rejection, result.body);
      },
      (err: unknown) => settle(ctx, exchange, { code: RejectCode.INTERNAL, reason: 'filter_error', detail: `graphql guard: ${String(err)}` }, undefined),
    );
  };
}
