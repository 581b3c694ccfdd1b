// The software bill of materials in the report (DESIGN §11: versions of meshward, Node and every
// dependency): a CycloneDX JSON document as `npm run sbom` writes it (scripts/write-sbom.mjs,
// `npm sbom --sbom-format cyclonedx --omit dev`). CONTROL path (CLI).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageInfo } from '../core/package-info.js';
import type { SbomComponent, SbomSection } from './report-model.js';

/** Where `npm run sbom` writes the document, relative to the package root. */
export const SBOM_PATH = join('dist', 'sbom.cdx.json');

/** Reads `file`, or the installed package's dist/sbom.cdx.json when `file` is undefined. */
export function loadSbom(file: string | undefined): SbomSection {
  const path = file ?? defaultSbomPath();
  if (path === undefined || !existsSync(path)) {
    const note = file === undefined ? `no SBOM at ${path ?? SBOM_PATH} (run npm run sbom, or pass --sbom FILE)` : `${file}: not found`;
    return { source: undefined, format: undefined, components: [], document: undefined, note };
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    return { source: undefined, format: undefined, components: [], document: undefined, note: `${path}: not JSON (${(err as Error).message})` };
  }
  if (doc.bomFormat !== 'CycloneDX' || !Array.isArray(doc.components)) {
    return { source: undefined, format: undefined, components: [], document: undefined, note: `${path}: not a CycloneDX JSON document` };
  }
  const components = (doc.components as Record<string, unknown>[])
    .map(
      (c): SbomComponent => ({
        name: String(c.group === undefined ? c.name : `${String(c.group)}/${String(c.name)}`),
        version: String(c.version ?? ''),
        licenses: licenses(c.licenses),
        purl: typeof c.purl === 'string' ? c.purl : undefined,
      }),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  return { source: path, format: `CycloneDX ${String(doc.specVersion ?? '?')}`, components, document: doc, note: undefined };
}

function licenses(v: unknown): string {
  if (!Array.isArray(v)) return '';
  return v
    .map((l: { license?: { id?: string; name?: string }; expression?: string }) => l.expression ?? l.license?.id ?? l.license?.name ?? '')
    .filter(Boolean)
    .join(' OR ');
}

/** The installed package's dist/sbom.cdx.json (packageInfo finds meshward's package.json). */
function defaultSbomPath(): string | undefined {
  const info = packageInfo();
  return info.version === 'unknown' ? undefined : join(info.root, SBOM_PATH);
}
