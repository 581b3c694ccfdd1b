// meshward's own package.json and the versions of its dependencies (control path: read
// once, at startup or by `meshward version`). Found by walking up from this file, so it
// works from the sources (tsx) and from dist/ alike.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  /** The folder holding meshward's package.json. */
  readonly root: string;
  readonly version: string;
  /** Runtime dependencies as package.json pins them. */
  readonly dependencies: Readonly<Record<string, string>>;
}

let cached: PackageInfo | undefined;

/** The nearest package.json named "meshward" above this module; version "unknown" if none. */
export function packageInfo(): PackageInfo {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = readJson(join(dir, 'package.json'));
    if (pkg?.['name'] === 'meshward' && typeof pkg['version'] === 'string') {
      const deps = (pkg['dependencies'] ?? {}) as Record<string, string>;
      return (cached = { root: dir, version: pkg['version'], dependencies: deps });
    }
    dir = dirname(dir);
  }
  return (cached = { root: process.cwd(), version: 'unknown', dependencies: {} });
}

/** The installed version of each runtime dependency (node_modules/<name>/package.json), or "missing". */
export function installedVersions(info: PackageInfo = packageInfo()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(info.dependencies).sort()) {
    const pkg = readJson(join(info.root, 'node_modules', name, 'package.json'));
    out[name] = typeof pkg?.['version'] === 'string' ? pkg['version'] : 'missing';
  }
  return out;
}

function readJson(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
