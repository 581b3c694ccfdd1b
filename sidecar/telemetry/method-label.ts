// The method name metrics and span names may use (data path). A name from the caller is
// unbounded: a scan of random paths must not create a series or a Jaeger operation per
// path. Methods no policy names are `_OTHER` (DESIGN §6). The policy asked is the call's
// own snapshot, so a label always agrees with the call's decision and policy_version.

import type { Call } from '../pipeline/call.js';

export const OTHER_METHOD = '_OTHER';

const UNIMPLEMENTED = 12;

/**
 * - named by an exact policy pattern (`pkg.Service/Method`): the method;
 * - matched only by a wildcard pattern (`pkg.Service/*`, `Get*`, `*`): the method once the
 *   policy allowed the call and the app answered something other than UNIMPLEMENTED, for
 *   at most `maxWildcardNames` distinct names per process; `_OTHER` otherwise;
 * - no rule, malformed `:path`: `_OTHER`;
 * - GraphQL: the endpoint path when a policy has a rule for it, `_OTHER` otherwise.
 */
export class MethodLabels {
  readonly #wildcardNames = new Set<string>();

  constructor(private readonly maxWildcardNames = 1000) {}

  /** `grpcStatus`: what the caller received (undefined while the call is running). */
  label(ctx: Call, grpcStatus: number | undefined): string {
    // GraphQL: the endpoint path when a policy names it (operation names are the caller's to choose).
    if (ctx.protocol === 'graphql') return ctx.snapshot.policy.graphqlRule(ctx.path) === undefined ? OTHER_METHOD : ctx.path;
    const method = ctx.method;
    if (method === undefined) return OTHER_METHOD;
    const name = method.fullName;
    const rule = ctx.decision?.rules ?? ctx.snapshot.policy.lookup(name);
    if (rule === undefined) return OTHER_METHOD;
    if (rule.kind === 'exact') return name;
    if (this.#wildcardNames.has(name)) return name;
    const allowed = ctx.rejection === undefined && ctx.decision !== undefined && ctx.decision.decision !== 'deny';
    if (!allowed || grpcStatus === undefined || grpcStatus === UNIMPLEMENTED) return OTHER_METHOD;
    if (this.#wildcardNames.size >= this.maxWildcardNames) return OTHER_METHOD;
    this.#wildcardNames.add(name);
    return name;
  }
}
