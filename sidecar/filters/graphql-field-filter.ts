// Field authorization of one GraphQL operation (data path, per operation, after its analysis
// limits): introspection (`__schema`, `__type`) only for callers a rule allows, then every
// field coordinate the operation can touch against its `Type.field` / `Type.*` rule.

import type { FilterResult } from '../core/filter.js';
import { checkFields, checkIntrospection } from '../graphql/graphql-checks.js';
import { callFacts } from '../pipeline/call.js';
import { endpointRule, type OperationCall, type OperationFilter } from './graphql-operation.js';

export function graphqlFieldFilter(): OperationFilter {
  return {
    name: 'graphql-fields',
    apply(o: OperationCall): FilterResult {
      const { call, op } = o;
      if (op === undefined) throw new Error('field authorization before the analysis filter');
      const rule = endpointRule(call);
      const facts = callFacts(call);
      return (op.introspection ? checkIntrospection(call, rule, facts) : undefined) ?? checkFields(call, rule, op, facts);
    },
  };
}
