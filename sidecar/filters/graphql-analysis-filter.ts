// Analysis limits of one GraphQL operation (data path, per operation): parse with the token
// cap, validate against the schema of the call's snapshot, then depth, aliases, root fields,
// directives and cost against the endpoint's limits (graphql/analysis/, graphql-checks.ts).
// Subscriptions are not served over HTTP; mutations only over POST.

import { RejectCode } from '../core/codes.js';
import type { FilterResult, Rejection } from '../core/filter.js';
import { analysisRejection, checkOperationLimits, limitRejection } from '../graphql/graphql-checks.js';
import { endpointRule, type OperationCall, type OperationFilter } from './graphql-operation.js';

const SUBSCRIPTION: Rejection = Object.freeze({
  code: RejectCode.GRAPHQL_INVALID,
  reason: 'graphql_subscription_over_http',
  graphqlMessage: 'Subscriptions are not served over this endpoint.',
  graphqlExtensions: { code: 'SUBSCRIPTION_NOT_SUPPORTED' },
});
const MUTATION_OVER_GET: Rejection = Object.freeze({
  code: RejectCode.METHOD_NOT_ALLOWED,
  reason: 'graphql_mutation_over_get',
  graphqlMessage: 'Mutations are only accepted over POST.',
  graphqlExtensions: { code: 'METHOD_NOT_ALLOWED' },
});

export function graphqlAnalysisFilter(): OperationFilter {
  return {
    name: 'graphql-analysis',
    apply(o: OperationCall): FilterResult {
      const { call, request } = o;
      const rule = endpointRule(call);
      const analyzer = call.snapshot.graphql;
      if (analyzer === undefined) throw new Error('GraphQL call without an analyzer in the snapshot');
      const tokens = rule.limits.tokens;
      const result = analyzer.analyze(request.query, request.operationName, tokens.value);
      if (!result.ok) return analysisRejection(result.failure, tokens.rule);
      const op = result.op;
      call.graphql ??= { operationType: op.type, operationName: op.name, cost: undefined, operations: call.operations?.length ?? 1, fieldSets: [] };
      call.graphql.fieldSets?.push(op.fields);
      if (op.type === 'subscription') return SUBSCRIPTION;
      if (op.type === 'mutation' && call.httpMethod === 'GET') return MUTATION_OVER_GET;
      const audited = rule.auditedLimits.tokens;
      if (audited !== undefined && op.tokens > audited.value) call.auditedLimit ??= limitRejection('tokens', audited, op.tokens);
      o.op = op;
      o.cost = op.cost(request.variables);
      return checkOperationLimits(call, rule, op, o.cost);
    },
  };
}
