// Merges catalog views (DESIGN §8): the workers of one sidecar (the primary's /catalog), or
// many sidecars (`meshward catalog --admin URL...`). CONTROL path.
// - declared: the union (deprecated where any source says so);
// - observed: counts summed per name and caller; peaks summed across workers (they share
//   limits) and the maximum across sidecars (each enforces its own);
// - shadow and deprecated in use: the union of each source's findings, counts summed;
// - zombie: declared names that every source declaring them reports as zombie.

import type {
  CatalogCaller,
  CatalogView,
  DeclaredEntry,
  DeprecatedInUseEntry,
  ObservedEntry,
  ObservedStatus,
  ShadowEntry,
  ZombieEntry,
} from './catalog-view.js';
import { byName, key } from './catalog-view.js';

export type PeakMerge = 'sum' | 'max';

export function mergeCatalogViews(views: readonly CatalogView[], peaks: PeakMerge, now = Date.now()): CatalogView {
  const declared = new Map<string, DeclaredEntry>();
  const observed = new Map<string, ObservedEntry>();
  const shadow = new Map<string, ShadowEntry>();
  const deprecatedInUse = new Map<string, DeprecatedInUseEntry>();
  const zombieVotes = new Map<string, { entry: ZombieEntry; declaredBy: number; zombieBy: number }>();

  for (const view of views) {
    for (const d of view.declared) {
      const k = key(d);
      const prev = declared.get(k);
      declared.set(k, prev === undefined ? d : { ...prev, deprecated: prev.deprecated || d.deprecated });
      const vote = zombieVotes.get(k);
      if (vote === undefined) zombieVotes.set(k, { entry: { protocol: d.protocol, name: d.name, deprecated: d.deprecated, lastSeen: null }, declaredBy: 1, zombieBy: 0 });
      else vote.declaredBy++;
    }
    for (const z of view.zombie) {
      const vote = zombieVotes.get(key(z));
      if (vote === undefined) continue;
      vote.zombieBy++;
      vote.entry = { ...vote.entry, deprecated: vote.entry.deprecated || z.deprecated, lastSeen: latest(vote.entry.lastSeen, z.lastSeen) };
    }
    for (const o of view.observed) {
      const k = key(o);
      const prev = observed.get(k);
      observed.set(k, prev === undefined ? o : mergeObserved(prev, o, peaks));
    }
    for (const s of view.shadow) {
      const k = key(s);
      const prev = shadow.get(k);
      shadow.set(k, prev === undefined ? s : { ...prev, calls: prev.calls + s.calls, refused: (prev.refused ?? 0) + (s.refused ?? 0), refusedUndeclared: prev.refusedUndeclared + s.refusedUndeclared, lastSeen: latest(prev.lastSeen, s.lastSeen), callers: union(prev.callers, s.callers) });
    }
    for (const d of view.deprecatedInUse) {
      const k = key(d);
      const prev = deprecatedInUse.get(k);
      deprecatedInUse.set(k, prev === undefined ? d : { ...prev, calls: prev.calls + d.calls, lastSeen: latest(prev.lastSeen, d.lastSeen), callers: union(prev.callers, d.callers) });
    }
  }

  const zombie = [...zombieVotes.values()].filter((v) => v.zombieBy > 0 && v.zombieBy === v.declaredBy).map((v) => v.entry);
  const since = views.map((v) => v.observedSince).sort()[0] ?? new Date(now).toISOString();
  return {
    kind: 'meshward.catalog',
    generatedAt: new Date(now).toISOString(),
    observedSince: since,
    sources: views.flatMap((v) => v.sources),
    declared: [...declared.values()].sort(byName),
    observed: [...observed.values()].sort(byName),
    shadow: [...shadow.values()].sort((a, b) => b.calls - a.calls || byName(a, b)),
    zombie: zombie.sort(byName),
    deprecatedInUse: [...deprecatedInUse.values()].sort(byName),
  };
}

// A name undeclared anywhere stays visible as such; then deprecated, declared, unknown.
const STATUS_RANK: Readonly<Record<ObservedStatus, number>> = { undeclared: 3, deprecated: 2, declared: 1, unknown: 0 };

function mergeObserved(a: ObservedEntry, b: ObservedEntry, peaks: PeakMerge): ObservedEntry {
  const callers = new Map<string, CatalogCaller>(a.callers.map((c) => [c.principal, c]));
  for (const c of b.callers) {
    const prev = callers.get(c.principal);
    callers.set(
      c.principal,
      prev === undefined
        ? c
        : {
            principal: c.principal,
            calls: prev.calls + c.calls,
            refused: prev.refused + c.refused,
            firstSeen: earliest(prev.firstSeen, c.firstSeen),
            lastSeen: latest(prev.lastSeen, c.lastSeen),
            peakPerSecond: peaks === 'sum' ? prev.peakPerSecond + c.peakPerSecond : Math.max(prev.peakPerSecond, c.peakPerSecond),
          },
    );
  }
  return {
    protocol: a.protocol,
    name: a.name,
    status: STATUS_RANK[b.status] > STATUS_RANK[a.status] ? b.status : a.status,
    calls: a.calls + b.calls,
    refused: a.refused + b.refused,
    refusedUndeclared: a.refusedUndeclared + b.refusedUndeclared,
    firstSeen: earliest(a.firstSeen, b.firstSeen),
    lastSeen: latest(a.lastSeen, b.lastSeen),
    callers: [...callers.values()].sort((x, y) => y.calls - x.calls || x.principal.localeCompare(y.principal)),
  };
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

// ISO-8601 UTC strings of one format compare as text.
function earliest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a < b ? a : b;
}

function latest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}
