// A catalog view as text for people (DESIGN §8): an aligned table for a terminal, or Markdown
// for a review, a wiki page or a webhook. CONTROL path (CLI); pure functions.

import type { CatalogView, ObservedEntry } from './catalog-view.js';

export type Finding = 'shadow' | 'zombie' | 'deprecated';

/** How many of each finding the view holds. */
export function findings(view: CatalogView): Record<Finding, number> {
  return { shadow: view.shadow.length, zombie: view.zombie.length, deprecated: view.deprecatedInUse.length };
}

const MAX_CALLERS_SHOWN = 3;

function callers(list: readonly string[]): string {
  if (list.length <= MAX_CALLERS_SHOWN) return list.join(', ');
  return `${list.slice(0, MAX_CALLERS_SHOWN).join(', ')} +${list.length - MAX_CALLERS_SHOWN} more`;
}

function day(iso: string | null): string {
  return iso === null ? 'never' : iso.replace(/\.\d+Z$/, 'Z');
}

function sourceLine(s: CatalogView['sources'][number]): string[] {
  const d = s.declarations;
  const what = [d.grpc ? 'gRPC (catalog.protos)' : '', d.graphql ? 'GraphQL (schemaFile)' : ''].filter(Boolean).join(' + ') || 'nothing declared';
  return [s.identity ?? '-', s.service ?? '-', s.admin ?? '-', s.undeclared, what, day(s.observedSince)];
}

function sections(view: CatalogView): Array<{ title: string; head: string[]; rows: string[][] }> {
  const observedRows = (o: ObservedEntry): string[] => [o.protocol, o.name, o.status, String(o.calls), String(o.refused), String(o.callers.length), day(o.lastSeen)];
  return [
    {
      title: `Shadow APIs (observed, not declared): ${view.shadow.length}`,
      head: ['PROTOCOL', 'NAME', 'CALLS', 'REFUSED AS UNDECLARED', 'LAST SEEN', 'CALLERS'],
      rows: view.shadow.map((s) => [s.protocol, s.name, String(s.calls), String(s.refusedUndeclared), day(s.lastSeen), callers(s.callers)]),
    },
    {
      title: `Zombie APIs (declared, not called): ${view.zombie.length}`,
      head: ['PROTOCOL', 'NAME', 'DEPRECATED', 'LAST SEEN'],
      rows: view.zombie.map((z) => [z.protocol, z.name, z.deprecated ? 'yes' : 'no', day(z.lastSeen)]),
    },
    {
      title: `Deprecated APIs in use: ${view.deprecatedInUse.length}`,
      head: ['PROTOCOL', 'NAME', 'CALLS', 'LAST SEEN', 'CALLERS'],
      rows: view.deprecatedInUse.map((d) => [d.protocol, d.name, String(d.calls), day(d.lastSeen), callers(d.callers)]),
    },
    {
      title: `Observed: ${view.observed.length} (declared: ${view.declared.length})`,
      head: ['PROTOCOL', 'NAME', 'STATUS', 'CALLS', 'REFUSED', 'CALLERS', 'LAST SEEN'],
      rows: view.observed.map(observedRows),
    },
  ];
}

const SOURCE_HEAD = ['SIDECAR', 'SERVICE', 'ADMIN', 'UNDECLARED', 'DECLARES', 'OBSERVED SINCE'];

export function formatTable(view: CatalogView): string {
  const out: string[] = [`meshward catalog: ${view.sources.length} sidecar(s), generated ${day(view.generatedAt)}`, ''];
  out.push(...align([SOURCE_HEAD, ...view.sources.map(sourceLine)]), '');
  for (const s of sections(view)) {
    out.push(s.title);
    if (s.rows.length > 0) out.push(...align([s.head, ...s.rows]).map((l) => `  ${l}`));
    out.push('');
  }
  return out.join('\n');
}

export function formatMarkdown(view: CatalogView): string {
  const f = findings(view);
  const out: string[] = [
    '# API catalog',
    '',
    `Generated ${day(view.generatedAt)} from ${view.sources.length} sidecar(s), observed since ${day(view.observedSince)}: ` +
      `**${f.shadow}** shadow, **${f.zombie}** zombie, **${f.deprecated}** deprecated in use.`,
    '',
    ...mdTable(SOURCE_HEAD, view.sources.map(sourceLine)),
    '',
  ];
  for (const s of sections(view)) {
    out.push(`## ${s.title}`, '');
    out.push(...(s.rows.length === 0 ? ['None.'] : mdTable(s.head, s.rows)), '');
  }
  return out.join('\n');
}

function align(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function mdTable(head: string[], rows: string[][]): string[] {
  const cell = (c: string): string => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const names = new Set(['NAME', 'SIDECAR']);
  const show = (c: string, i: number): string => (names.has(head[i]!) && c !== '-' ? `\`${cell(c)}\`` : cell(c));
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(show).join(' | ')} |`)];
}
