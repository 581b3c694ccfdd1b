// Writes a sidecar config (DESIGN §3) for a test, pointing at a PKI from tls-fixtures.
// Test support, not part of the sidecar.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PemFiles, Pki } from './tls-fixtures.js';

export interface SidecarConfigOptions {
  appPort: number;
  pki: Pki;
  mtls?: 'strict' | 'permissive';
  /** Raw YAML appended at the end (top-level keys such as `policies:`, `outbound:`). */
  extra?: string;
  inboundListen?: string;
  adminListen?: string;
  /** `admin.allow` (who may use the admin endpoints off loopback). */
  adminAllow?: string[];
  /** Written only when set, so the sidecar's default applies otherwise. */
  allowAnyAuthenticated?: boolean;
  /** The sidecar's own SVID; defaults to `pki.server`. */
  svid?: PemFiles;
  /** The trust bundle; defaults to `pki.ca.certFile`. */
  caFile?: string;
  /** File name inside `dir`; default `meshward.yaml`. */
  fileName?: string;
}

// JSON strings are valid YAML scalars and need no further escaping.
const q = (s: string): string => JSON.stringify(s);

export function sidecarConfigYaml(opts: SidecarConfigOptions): string {
  const svid = opts.svid ?? opts.pki.server;
  const lines = [
    'apiVersion: meshward.dev/v1alpha1',
    'kind: Sidecar',
    'identity:',
    `  trustDomain: ${q(opts.pki.trustDomain)}`,
    `  certFile: ${q(svid.certFile)}`,
    `  keyFile: ${q(svid.keyFile)}`,
    `  caFile: ${q(opts.caFile ?? opts.pki.ca.certFile)}`,
    'inbound:',
    `  listen: ${q(opts.inboundListen ?? '127.0.0.1:0')}`,
    `  mtls: ${opts.mtls ?? 'strict'}`,
    `  app: ${q(`127.0.0.1:${opts.appPort}`)}`,
  ];
  if (opts.allowAnyAuthenticated !== undefined) lines.push(`  allowAnyAuthenticated: ${opts.allowAnyAuthenticated}`);
  lines.push('admin:', `  listen: ${q(opts.adminListen ?? '127.0.0.1:0')}`);
  if (opts.adminAllow !== undefined) lines.push(`  allow: ${JSON.stringify(opts.adminAllow)}`);
  let yaml = lines.join('\n') + '\n';
  if (opts.extra) yaml += opts.extra.endsWith('\n') ? opts.extra : opts.extra + '\n';
  return yaml;
}

/** Writes the config into `dir` and returns its path. */
export async function writeSidecarConfig(dir: string, opts: SidecarConfigOptions): Promise<string> {
  const path = join(dir, opts.fileName ?? 'meshward.yaml');
  await writeFile(path, sidecarConfigYaml(opts));
  return path;
}
