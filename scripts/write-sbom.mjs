// Writes the software bill of materials: CycloneDX JSON from `npm sbom` for the production
// dependencies (what the image ships), to dist/sbom.cdx.json or the path given. `meshward report`
// reads it (sidecar/report/sbom.ts); the Dockerfile copies it into the image.
// Usage: npm run sbom [-- OUT_FILE]

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'dist', 'sbom.cdx.json'));
// Inside `npm run`, npm_execpath is npm's own CLI script: run that one, with this Node.
const npm = process.env.npm_execpath;
const [cmd, pre] = npm !== undefined && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
const r = spawnSync(cmd, [...pre, 'sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application', '--omit', 'dev'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (r.status !== 0) {
  process.stderr.write(`npm sbom failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
  process.exit(1);
}
const doc = JSON.parse(r.stdout);
// npm names the root component after the folder it runs in (a worktree, /src in the image): use the package's name.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (doc.metadata?.component !== undefined) doc.metadata.component.name = pkg.name;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
console.log(`wrote ${out}: ${doc.bomFormat} ${doc.specVersion}, ${doc.components?.length ?? 0} components`);
