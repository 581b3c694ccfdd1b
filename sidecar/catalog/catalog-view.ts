// The catalog as `GET /catalog` shows it (DESIGN §8): declared, observed, shadow, zombie and
// deprecated-in-use APIs of one sidecar, from the declarations snapshot and the observation
// tables. CONTROL path (per admin request). The JSON shape is a contract: `meshward catalog`
// merges these views (catalog-merge.ts) and `meshward policy suggest` reads them.

import type { Declarations, UndeclaredMode } from './declarations-model.js';
import { msOfSecond, OTHER, type ObservationTable, type Observations } from './observations.js';

export type Protocol = 'grpc' | 'graphql';
/** Of an observed name, at the sidecar that saw it; `unknown`: nothing is declared for its protocol. */
export type ObservedStatus = 'declared' | 'deprecated' | 'undeclared' | 'unknown';

export interface CatalogCaller {
  readonly principal: string;
  readonly calls: number;
  /** Calls meshward refused (policy, limits, undeclared). */
  readonly refused: number;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  /** Most forwarded calls in one second (summed over a sidecar's workers). */
  readonly peakPerSecond: number;
}

export interface DeclaredEntry {
  readonly protocol: Protocol;
  readonly name: string;
  readonly deprecated: boolean;
  /** gRPC: the declaring .proto file. */
  readonly file?: string;
  readonly deprecationReason?: string;
}

export interface ObservedEntry {
  readonly protocol: Protocol;
  readonly name: string;
  readonly status: ObservedStatus;
  readonly calls: number;
  readonly refused: number;
  /** Refused with 12 as undeclared methods. */
  readonly refusedUndeclared: number;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly callers: readonly CatalogCaller[];
}

export interface ShadowEntry {
  readonly protocol: Protocol;
  readonly name: string;
  readonly calls: number;
  /** Calls meshward refused (`calls - refused` reached the app). */
  readonly refused: number;
  readonly refusedUndeclared: number;
  readonly lastSeen: string | null;
  readonly callers: readonly string[];
}

export interface ZombieEntry {
  readonly protocol: Protocol;
  readonly name: string;
  readonly deprecated: boolean;
  /** null: never observed (since `observedSince`). */
  readonly lastSeen: string | null;
}

export interface DeprecatedInUseEntry {
  readonly protocol: Protocol;
  readonly name: string;
  readonly calls: number;
  readonly lastSeen: string | null;
  readonly callers: readonly string[];
  readonly deprecationReason?: string;
}

/** Who contributed to a view: one sidecar, or each sidecar of a merged view. */
export interface CatalogSource {
  /** The sidecar's own SPIFFE ID. */
  readonly identity: string | null;
  readonly service: string | null;
  /** The admin URL the CLI read it from (set by `meshward catalog`). */
  readonly admin?: string;
  readonly observedSince: string;
  readonly undeclared: UndeclaredMode;
  readonly stateFile: boolean;
  readonly zombieAfter: string;
  readonly declarations: {
    readonly version: string;
    readonly grpc: boolean;
    readonly graphql: boolean;
    readonly sources: readonly string[];
    readonly lastError?: { readonly at: string; readonly problems: readonly string[] };
  };
}

export interface CatalogView {
  readonly kind: 'meshward.catalog';
  readonly generatedAt: string;
  readonly observedSince: string;
  readonly sources: readonly CatalogSource[];
  readonly declared: readonly DeclaredEntry[];
  readonly observed: readonly ObservedEntry[];
  readonly shadow: readonly ShadowEntry[];
  readonly zombie: readonly ZombieEntry[];
  readonly deprecatedInUse: readonly DeprecatedInUseEntry[];
}

export interface ViewSettings {
  readonly identity: string | null;
  readonly service: string | null;
  readonly undeclared: UndeclaredMode;
  readonly stateFile: boolean;
  readonly zombieAfterMs: number;
  readonly declarationsError?: { readonly at: string; readonly problems: readonly string[] } | undefined;
}

export function buildCatalogView(declarations: Declarations, observations: Observations, settings: ViewSettings, now = Date.now()): CatalogView {
  const declared: DeclaredEntry[] = [];
  for (const m of declarations.methods.values()) declared.push({ protocol: 'grpc', name: m.name, deprecated: m.deprecated, file: m.file });
  for (const f of declarations.graphqlFields.values()) {
    declared.push({ protocol: 'graphql', name: f.name, deprecated: f.deprecated, ...(f.deprecationReason === undefined ? {} : { deprecationReason: f.deprecationReason }) });
  }
  const isDeclared = { grpc: declarations.grpcDeclared, graphql: declarations.graphqlDeclared };
  const lookup = (protocol: Protocol, name: string): { deprecated: boolean; deprecationReason?: string | undefined } | undefined =>
    protocol === 'grpc' ? declarations.methods.get(name) : declarations.graphqlFields.get(name);

  const observed: ObservedEntry[] = [];
  const add = (protocol: Protocol, table: ObservationTable): void => {
    for (const [name, s] of table.names) {
      const decl = lookup(protocol, name);
      const status: ObservedStatus = !isDeclared[protocol] ? 'unknown' : decl === undefined ? 'undeclared' : decl.deprecated ? 'deprecated' : 'declared';
      const callers: CatalogCaller[] = [];
      for (const [principal, c] of s.callers) {
        callers.push({ principal, calls: c.calls, refused: c.refused, firstSeen: iso(msOfSecond(c.firstSeen)), lastSeen: iso(msOfSecond(c.lastSeen)), peakPerSecond: c.peakPerSecond });
      }
      callers.sort((a, b) => b.calls - a.calls || a.principal.localeCompare(b.principal));
      observed.push({ protocol, name, status, calls: s.calls, refused: s.refused, refusedUndeclared: s.refusedUndeclared, firstSeen: iso(msOfSecond(s.firstSeen)), lastSeen: iso(msOfSecond(s.lastSeen)), callers });
    }
  };
  add('grpc', observations.grpc);
  add('graphql', observations.graphql);
  observed.sort(byName);
  declared.sort(byName);

  const seen = new Map(observed.map((o) => [key(o), o]));
  const shadow: ShadowEntry[] = observed
    .filter((o) => o.status === 'undeclared')
    .map((o) => ({ protocol: o.protocol, name: o.name, calls: o.calls, refused: o.refused, refusedUndeclared: o.refusedUndeclared, lastSeen: o.lastSeen, callers: principals(o) }));
  const zombie: ZombieEntry[] = [];
  const deprecatedInUse: DeprecatedInUseEntry[] = [];
  for (const d of declared) {
    const o = seen.get(key(d));
    const stale = o !== undefined && settings.stateFile && o.lastSeen !== null && now - Date.parse(o.lastSeen) > settings.zombieAfterMs;
    if (o === undefined || o.calls === 0 || stale) zombie.push({ protocol: d.protocol, name: d.name, deprecated: d.deprecated, lastSeen: o?.lastSeen ?? null });
    else if (d.deprecated) {
      deprecatedInUse.push({ protocol: d.protocol, name: d.name, calls: o.calls, lastSeen: o.lastSeen, callers: principals(o), ...(d.deprecationReason === undefined ? {} : { deprecationReason: d.deprecationReason }) });
    }
  }

  const since = iso(observations.since) ?? new Date(now).toISOString();
  return {
    kind: 'meshward.catalog',
    generatedAt: new Date(now).toISOString(),
    observedSince: since,
    sources: [
      {
        identity: settings.identity,
        service: settings.service,
        observedSince: since,
        undeclared: settings.undeclared,
        stateFile: settings.stateFile,
        zombieAfter: formatDays(settings.zombieAfterMs),
        declarations: {
          version: declarations.version,
          grpc: declarations.grpcDeclared,
          graphql: declarations.graphqlDeclared,
          sources: declarations.sources,
          ...(settings.declarationsError === undefined ? {} : { lastError: settings.declarationsError }),
        },
      },
    ],
    declared,
    observed,
    shadow: shadow.sort((a, b) => b.calls - a.calls || byName(a, b)),
    zombie,
    deprecatedInUse,
  };
}

/** Principals that called, `_OTHER` last. */
function principals(o: ObservedEntry): string[] {
  return o.callers.map((c) => c.principal).sort((a, b) => (a === OTHER ? 1 : b === OTHER ? -1 : a.localeCompare(b)));
}

export function key(e: { protocol: Protocol; name: string }): string {
  return `${e.protocol} ${e.name}`;
}

export function byName(a: { protocol: Protocol; name: string }, b: { protocol: Protocol; name: string }): number {
  return a.protocol.localeCompare(b.protocol) || a.name.localeCompare(b.name);
}

function iso(ms: number): string | null {
  return ms === 0 ? null : new Date(ms).toISOString();
}

function formatDays(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 1000)}s`;
}
