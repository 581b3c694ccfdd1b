// The compliance report's data (DESIGN §11; docs/audit.md "Report"): what `meshward report
// --format json` prints and what the HTML and Markdown renderers read. Plain JSON values only.

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse. */
export const severityRank = (s: Severity): number => SEVERITIES.length - SEVERITIES.indexOf(s);

export interface Finding {
  readonly severity: Severity;
  /** Stable id of the check ("mtls-permissive"); tests and CI filters use it. */
  readonly id: string;
  /** The sidecar (its SPIFFE ID, else its admin URL) or audit log it concerns; undefined = the report as a whole. */
  readonly subject: string | undefined;
  readonly title: string;
  readonly detail: string;
  /** One line: what to change. */
  readonly fix: string;
}

export interface CertificateFacts {
  readonly notBefore: string | undefined;
  readonly notAfter: string;
  /** Share of the lifetime left (0..1); undefined without notBefore. */
  readonly lifetimeLeft: number | undefined;
  readonly daysLeft: number;
}

export interface RuleRow {
  readonly pattern: string;
  readonly policies: readonly string[];
  readonly mode: string;
  readonly where: string;
  /** Who may call, in words ("spiffe://…/frontend; jwt corp"). */
  readonly allow: string;
  readonly deny: string;
  /** Limits in words; "none" when the rule sets none. */
  readonly limits: string;
  readonly auditedLimits: readonly string[];
  readonly hasRateLimit: boolean;
}

export interface Coverage {
  /** Declared gRPC methods (from /catalog); undefined when the sidecar has no catalog. */
  readonly declared: readonly string[] | undefined;
  readonly withoutRule: readonly string[];
  /** Declared methods that only a `*` rule covers. */
  readonly onlyWildcard: readonly string[];
  readonly inAuditMode: readonly string[];
  /** Declared methods (or, without a catalog, rule patterns) with no enforced rate limit. */
  readonly withoutRateLimit: readonly string[];
}

export interface GraphqlEndpointRow {
  readonly path: string;
  readonly policy: string;
  readonly mode: string;
  readonly introspection: string;
  readonly introspectionToAnyone: boolean;
  readonly limits: string;
}

export interface CatalogFacts {
  readonly shadow: readonly { readonly name: string; readonly calls: number | undefined; readonly refused: number | undefined }[];
  readonly zombie: readonly string[];
  readonly deprecatedInUse: readonly string[];
}

export interface AlertRow {
  readonly alertname: string;
  readonly severity: string;
  readonly summary: string;
  readonly startsAt: string;
}

export interface SidecarSection {
  readonly admin: string;
  readonly reachable: boolean;
  readonly error: string | undefined;
  readonly spiffeId: string | undefined;
  readonly mtls: string | undefined;
  readonly certificate: CertificateFacts | undefined;
  readonly versions: { readonly meshward: string | undefined; readonly node: string | undefined };
  readonly relaxedDefaults: readonly string[];
  readonly workers: number | undefined;
  readonly audit: { readonly file: string | undefined; readonly keyed: boolean };
  /** catalog.protos count and catalog.undeclared, when the config has a catalog section. */
  readonly catalogConfig: { readonly protos: number; readonly undeclared: string | undefined } | undefined;
  readonly policy: { readonly version: string | undefined; readonly sources: readonly string[]; readonly loadedAt: string | undefined; readonly lastError: readonly string[] | undefined };
  readonly policies: readonly { readonly name: string; readonly mode: string; readonly where: string }[];
  readonly rules: readonly RuleRow[] | undefined;
  readonly coverage: Coverage | undefined;
  readonly graphql: readonly GraphqlEndpointRow[];
  readonly jwtProviders: readonly { readonly name: string; readonly issuer: string; readonly algorithms: readonly string[]; readonly audiences: readonly string[] }[];
  readonly catalog: CatalogFacts | undefined;
  readonly alerts: readonly AlertRow[] | undefined;
  readonly traffic: { readonly decisions: Readonly<Record<string, number>> } | undefined;
  /** Endpoints that were missing or failed, and why ("GET /catalog: 404 — no API catalog on this sidecar"). */
  readonly unavailable: readonly string[];
}

export interface AuditSection {
  readonly files: readonly string[];
  readonly keyed: boolean;
  readonly ok: boolean;
  readonly records: number;
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  readonly lastHash: string | undefined;
  /** `file:line: kind: message` of the first broken record. */
  readonly broken: string | undefined;
}

export interface SbomComponent {
  readonly name: string;
  readonly version: string;
  readonly licenses: string;
  readonly purl: string | undefined;
}

export interface SbomSection {
  /** Where it was read; undefined when none was found. */
  readonly source: string | undefined;
  readonly format: string | undefined;
  readonly components: readonly SbomComponent[];
  /** The CycloneDX document itself (JSON format only carries it whole). */
  readonly document: unknown;
  readonly note: string | undefined;
}

export interface ComplianceReport {
  readonly reportVersion: 1;
  readonly generatedAt: string;
  readonly generator: { readonly meshward: string; readonly node: string };
  readonly summary: { readonly sidecars: number; readonly reachable: number; readonly auditLogs: number; readonly findings: Readonly<Record<Severity, number>> };
  /** Worst first. */
  readonly findings: readonly Finding[];
  readonly sidecars: readonly SidecarSection[];
  readonly audit: readonly AuditSection[];
  readonly sbom: SbomSection;
}
