// The API catalog's declarations (sidecar/catalog/declarations.ts, the sidecar's own loader)
// of proto/ and message validation's fixtures (sidecar/validation/testdata/), loaded once per
// process. Test and benchmark support, not part of the sidecar.

import { join } from 'node:path';
import { repoRoot } from '../../demo/repo-root.js';
import { loadDeclarations, type Declarations } from '../../sidecar/catalog/declarations.js';

let loaded: Declarations | undefined;

/** proto/ (demo.proto among others) and sidecar/validation/testdata/fixtures.proto. */
export function testDescriptors(): Declarations {
  if (loaded !== undefined) return loaded;
  const result = loadDeclarations({ protos: [join(repoRoot, 'proto'), join(repoRoot, 'sidecar/validation/testdata')] });
  if (!result.ok) throw new Error(`test declarations: ${result.problems.join('\n')}`);
  loaded = result.declarations;
  return loaded;
}
