// `meshward version` / `meshward --version` (DESIGN §2): meshward's version, the Node.js
// running it and the installed versions of its runtime dependencies. CONTROL path (CLI).

import { installedVersions, packageInfo } from '../core/package-info.js';

export async function runVersionCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: meshward version [--json]\n\nprints the versions of meshward, Node.js and the dependencies meshward runs with\n');
    return 0;
  }
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`meshward version: unknown argument "${unknown[0]}"\nusage: meshward version [--json]\n`);
    return 2;
  }
  const info = packageInfo();
  const deps = installedVersions(info);
  if (json) {
    process.stdout.write(JSON.stringify({ meshward: info.version, node: process.versions.node, dependencies: deps }, null, 2) + '\n');
    return 0;
  }
  const width = Math.max(...Object.keys(deps).map((n) => n.length), 'meshward'.length);
  const line = (name: string, version: string) => `${name.padEnd(width)}  ${version}\n`;
  process.stdout.write(line('meshward', info.version) + line('node', process.versions.node));
  for (const [name, version] of Object.entries(deps)) process.stdout.write(line(name, version));
  return 0;
}
