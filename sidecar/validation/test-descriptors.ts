// Test support: descriptor sets built with `buf build` (the @bufbuild/buf dev dependency, offline)
// from proto/demo.proto and validation's own fixtures, as a registry the way the API catalog's
// declarations hold one. Built once per test process into a temporary folder.

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { repoRoot } from '../../demo/repo-root.js';
import type { Descriptors } from './compiled-descriptors.js';

let built: Descriptors | undefined;

/** proto/demo.proto and sidecar/validation/testdata/fixtures.proto, with their imports. */
export function testDescriptors(): Descriptors {
  if (built !== undefined) return built;
  const dir = mkdtempSync(join(tmpdir(), 'meshward-descriptors-'));
  try {
    cpSync(join(repoRoot, 'proto'), dir, { recursive: true });
    cpSync(join(repoRoot, 'sidecar/validation/testdata/fixtures.proto'), join(dir, 'fixtures.proto'));
    const out = join(dir, 'set.binpb');
    execFileSync(join(repoRoot, 'node_modules/.bin/buf'), ['build', dir, '--path', join(dir, 'demo.proto'), '--path', join(dir, 'fixtures.proto'), '--exclude-source-info', '-o', out], { stdio: 'pipe' });
    built = { registry: createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out))) };
    return built;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
