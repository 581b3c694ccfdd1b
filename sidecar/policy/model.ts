// The compiled policy model: what compile.ts (CONTROL) builds once per snapshot and what
// evaluate.ts (DATA) and explain.ts read. Every object here is frozen after compilation.
import type { VerifiedJwt } from '../authn/verified-jwt.js';
import type { LimitKey, MethodPattern } from './patterns.js';
import type { GraphqlPolicyRule, PolicyEntry, PolicyMode } from './schema.js';

/** What authorization needs to know about one call. */
export interface CallFacts {
  /** "pkg.Service/Method", canonical (as grpc/path.ts produces it, without the leading "/"). */
  readonly method: string;
  /** The verified SPIFFE ID of the peer; undefined = plaintext (permissive mode), unauthenticated. */
  readonly principal: string | undefined;
  /** The verified JWT, when the caller presented a valid one. */
  readonly jwt: VerifiedJwt | undefined;
}

export type DecisionKind = 'allow' | 'deny' | 'audit_deny';
export type DenyCode = 'UNAUTHENTICATED' | 'PERMISSION_DENIED';
/** Stable values: metric labels and audit records use them. */
export type DecisionReason = 'allowed' | 'default_deny' | 'denied_by_rule' | 'no_allow_match' | 'jwt_required';

/** The answer for one call. Preallocated and frozen: compare fields, never mutate. */
export interface Decision {
  /** audit_deny = would deny, but every policy behind the rule is in audit mode: the call goes through. */
  readonly decision: DecisionKind;
  /** Set when decision === 'deny'. */
  readonly code: DenyCode | undefined;
  readonly reason: DecisionReason;
  /** Stable rule id for metrics and audit ("orders:grpc[0]"): the rule whose entry decided; for no_allow_match the first rule behind the pattern. */
  readonly rule: string | undefined;
  /** The method pattern that matched. */
  readonly pattern: string | undefined;
  /** The matched (combined) rule: limits, timeout and maxMessageBytes for the filters after authz. */
  readonly rules: CompiledMethodRule | undefined;
}

/** A compiled claim condition (`realm_access.roles: admin`). */
export interface CompiledClaim {
  /** The claim path as written. */
  readonly path: string;
  /** Expected values; any of them matches. */
  readonly expected: readonly string[];
  /** `scope` / `scp`: a string claim matches one space-separated item. */
  readonly scope: boolean;
  /** The claim value at the path (undefined if missing). */
  read(payload: Readonly<Record<string, unknown>>): unknown;
  /** Whether a claim value satisfies the condition. */
  matches(value: unknown): boolean;
  /** matches(read(payload)): the one call the data path makes. */
  test(payload: Readonly<Record<string, unknown>>): boolean;
}

export interface CompiledJwtCondition {
  readonly provider: string;
  readonly claims: readonly CompiledClaim[];
}

/** Which authenticated peers match: any, exact IDs, or ID prefixes (ending in "/"). */
export interface PrincipalMatcher {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

/** One allow or deny entry of one policy rule, compiled for one pattern. */
export interface CompiledEntry {
  /** "orders:grpc[0].allow[1]" */
  readonly id: string;
  /** The policy rule it belongs to: "orders:grpc[0]". */
  readonly rule: string;
  readonly list: 'allow' | 'deny';
  /** `FILE:LINE:COL` of the entry. */
  readonly where: string;
  /** The entry as written (explain shows it). */
  readonly source: PolicyEntry;
  /** Who the peer must be; undefined = anyone, plaintext included (`unauthenticated: true`). */
  readonly peer: PrincipalMatcher | undefined;
  readonly jwt: CompiledJwtCondition | undefined;
  /** The decision when this entry matches (allow, deny or audit_deny). */
  readonly onMatch: Decision;
  /** Allow entries with a jwt condition: the decision when only the JWT is missing (jwt_required). */
  readonly onJwtMissing: Decision | undefined;
}

export type LimitMode = 'enforce' | 'audit';

/** Limits keep the id of the rule that set them; mode is audit if the limit or its policy says so. */
export interface RateLimitRule {
  readonly rule: string;
  readonly mode: LimitMode;
  readonly requests: number;
  readonly perMs: number;
  readonly burst: number | undefined;
  readonly by: LimitKey;
  /** 'cost': a GraphQL cost budget (`requests` = points; each call takes its cost). */
  readonly unit?: 'cost';
}

export interface ConcurrencyRule {
  readonly rule: string;
  readonly mode: LimitMode;
  readonly max: number;
  readonly queue: number;
  readonly queueTimeoutMs: number | undefined;
}

export interface BandwidthRule {
  readonly rule: string;
  readonly mode: LimitMode;
  readonly bytesPerSecond: number;
  readonly by: LimitKey;
}

/** Message validation of a rule (DESIGN §9): which rule asked for it, and whether it refuses or records. */
export interface ValidateRule {
  readonly rule: string;
  readonly mode: LimitMode;
}

/** A policy rule that contributes to a compiled rule. */
export interface RuleSource {
  /** "orders:grpc[0]" */
  readonly id: string;
  readonly policy: string;
  readonly mode: PolicyMode;
  /** `FILE:LINE:COL` of the rule. */
  readonly where: string;
}

/**
 * Every policy rule naming one method pattern, combined (DESIGN §4): any matching deny
 * denies, any matching allow allows, every limit applies.
 */
export interface CompiledMethodRule {
  readonly pattern: string;
  readonly kind: MethodPattern['kind'];
  /** Contributing rules, in load order (file order, document order, rule order). */
  readonly sources: readonly RuleSource[];
  /** audit only if every contributing policy is in audit mode. */
  readonly mode: PolicyMode;
  readonly deny: readonly CompiledEntry[];
  readonly allow: readonly CompiledEntry[];
  readonly rateLimits: readonly RateLimitRule[];
  readonly concurrency: readonly ConcurrencyRule[];
  readonly bandwidth: readonly BandwidthRule[];
  /** The smallest of the contributing rules' maxMessageBytes (undefined: none set; the default applies). */
  readonly maxMessageBytes: number | undefined;
  /** The smallest of the contributing rules' timeouts, in ms. */
  readonly timeoutMs: number | undefined;
  /** Request-message validation (validation/): enforced if any enforcing rule asks for it; undefined = off. */
  readonly validate: ValidateRule | undefined;
  /** The decision when no entry matches. */
  readonly noAllowMatch: Decision;
}

/** A GraphQL rule, validated but not compiled yet (the GraphQL guard compiles it). */
export interface GraphqlRuleSource {
  /** "api:graphql[0]" */
  readonly id: string;
  readonly policy: string;
  readonly mode: PolicyMode;
  readonly where: string;
  readonly rule: GraphqlPolicyRule;
}

/** GraphQL limits of one rule (DESIGN §4 `limits`), as written; `mode` folds in the policy's mode. */
export interface GraphqlLimitValues {
  readonly depth?: number | undefined;
  readonly cost?: number | undefined;
  readonly aliases?: number | undefined;
  readonly rootFields?: number | undefined;
  readonly tokens?: number | undefined;
  readonly directives?: number | undefined;
  readonly batch?: number | undefined;
  readonly bodyBytes?: number | undefined;
}
export type GraphqlLimitName = keyof GraphqlLimitValues;

/** One limit as the guard checks it: the smallest bound of its kind, and the rule that set it. */
export interface GraphqlLimit {
  readonly value: number;
  /** undefined = meshward's default (no rule set this limit). */
  readonly rule: string | undefined;
}

/**
 * Every GraphQL rule naming one endpoint path, combined like method rules (DESIGN §4): any
 * deny denies, any allow allows, every limit applies (the smallest bound wins).
 */
export interface CompiledGraphqlRule {
  readonly path: string;
  /** Who may call the endpoint at all, and its rate limits (`rateLimits`). */
  readonly access: CompiledMethodRule;
  /** Who may select `__schema` / `__type`; undefined = nobody (introspection off by default). */
  readonly introspection: CompiledMethodRule | undefined;
  /** Field rules by coordinate: "Type.field", or "Type.*" for every field of a type. */
  readonly fields: ReadonlyMap<string, CompiledMethodRule>;
  /** Enforced limits: the smallest of the enforcing rules' bounds, meshward's defaults where none is set. */
  readonly limits: Readonly<Record<GraphqlLimitName, GraphqlLimit>>;
  /** Limits only audited (`mode: audit`): recorded when exceeded, never enforced. */
  readonly auditedLimits: Readonly<Partial<Record<GraphqlLimitName, GraphqlLimit>>>;
  /** Cost budgets: token buckets of `points` per `per`, each call taking its computed cost. */
  readonly costBudgets: readonly RateLimitRule[];
}

export interface PolicySummary {
  readonly name: string;
  readonly mode: PolicyMode;
  readonly file: string;
  readonly where: string;
}

/** One condition of an entry as explain saw it. */
export interface ConditionResult {
  /** "principals", "peer", "unauthenticated", "jwt.provider", "jwt.claims.<path>" */
  readonly key: string;
  readonly ok: boolean;
  readonly expected: string;
  readonly seen: string;
}

export interface EntryExplanation {
  readonly id: string;
  readonly list: 'allow' | 'deny';
  readonly where: string;
  readonly matched: boolean;
  readonly conditions: readonly ConditionResult[];
}

/** The slow-path account of a decision, for `meshward policy explain` and the audit log. */
export interface Explanation {
  readonly facts: CallFacts;
  /** The same object decide() returns for these facts. */
  readonly decision: Decision;
  /** One line: why. */
  readonly summary: string;
  /** Every pattern that matches the method, most specific first; `chosen` marks the one that decided. */
  readonly candidates: readonly { readonly pattern: string; readonly kind: MethodPattern['kind']; readonly chosen: boolean }[];
  readonly rule: CompiledMethodRule | undefined;
  /** Deny entries, then allow entries, in evaluation order. */
  readonly entries: readonly EntryExplanation[];
}

/** An immutable, compiled set of policies. Publish it whole; read it once per call. */
export interface PolicySnapshot {
  /** Short sha256 of the sources' contents. */
  readonly version: string;
  /** The policy files, in load order. */
  readonly sources: readonly string[];
  readonly policies: readonly PolicySummary[];
  /** One compiled rule per distinct method pattern, most specific first. */
  readonly grpc: readonly CompiledMethodRule[];
  readonly graphql: readonly GraphqlRuleSource[];
  /** The combined GraphQL rule of an endpoint path (exact match), if any. DATA path. */
  graphqlRule(path: string): CompiledGraphqlRule | undefined;
  /** The rule that decides for a method (most specific pattern), if any. DATA path. */
  lookup(method: string): CompiledMethodRule | undefined;
  /** DATA path: pure, synchronous, no allocation when allowed. */
  decide(facts: CallFacts): Decision;
  /** Slow path: every entry of the matched rule with each condition and the values seen. */
  explain(facts: CallFacts): Explanation;
}
