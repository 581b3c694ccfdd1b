// Calls of undeclared (shadow) and deprecated gRPC methods, and of deprecated GraphQL fields,
// by caller, for MeshwardShadowApi and MeshwardDeprecatedApi (DESIGN §8, §10). DATA path: only such calls reach it — a known one costs
// two Map lookups and an increment; a new one is queued for the evaluator. Bounded: at most
// `maxEntries` method × caller entries (the catalog keeps 1,000 undeclared names); beyond
// that new ones are counted, not tracked.

/** `deprecated_field`: a GraphQL field (`Type.field`) the schema marks @deprecated. */
export type ApiUseKind = 'shadow' | 'deprecated' | 'deprecated_field';

export class ApiUse {
  calls = 0;
  traceId: string | undefined;

  constructor(
    readonly kind: ApiUseKind,
    readonly method: string,
    readonly principal: string,
    /** ms since the epoch. */
    readonly firstSeen: number,
    /** How the first call ended: `allowed`, `audit_deny` or the refusal's reason. */
    readonly firstOutcome: string,
    /** The declaring .proto file (deprecated methods). */
    readonly file: string | undefined,
    /** The @deprecated reason (GraphQL fields). */
    readonly reason: string | undefined = undefined,
  ) {}
}

export class ApiUseTable {
  readonly #byMethod = new Map<string, Map<string, ApiUse>>();
  #size = 0;
  #dropped = 0;
  #fresh: ApiUse[] = [];

  constructor(
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  record(kind: ApiUseKind, method: string, principal: string, outcome: string, traceId: string | undefined, file: string | undefined, reason?: string): void {
    let byPrincipal = this.#byMethod.get(method);
    let use = byPrincipal?.get(principal);
    if (use === undefined) {
      if (this.#size >= this.maxEntries) {
        this.#dropped++;
        return;
      }
      use = new ApiUse(kind, method, principal, this.now(), outcome, file, reason);
      if (byPrincipal === undefined) this.#byMethod.set(method, (byPrincipal = new Map()));
      byPrincipal.set(principal, use);
      this.#size++;
      this.#fresh.push(use);
    }
    use.calls++;
    if (traceId !== undefined) use.traceId = traceId;
  }

  /** Entries first seen since the last call. */
  takeFresh(): ApiUse[] {
    if (this.#fresh.length === 0) return [];
    const fresh = this.#fresh;
    this.#fresh = [];
    return fresh;
  }

  get stats(): { readonly entries: number; readonly dropped: number } {
    return { entries: this.#size, dropped: this.#dropped };
  }
}
