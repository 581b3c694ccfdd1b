// Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function, top first, and
// per file. Used by `npm run bench -- --profile TARGET`; standalone:
//   node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top] [calls]
// (with `calls`, times are also shown per call; `skipMs` skips start-up.)

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function where(url: string): string {
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return url;
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const i = file.indexOf('/dist/');
  if (i >= 0) return file.slice(i + 1);
  const nm = file.lastIndexOf('/node_modules/');
  return nm >= 0 ? file.slice(nm + 14) : basename(file);
}

/**
 * `skipMs`: ignore the first samples (start-up, warm-up) — the profile covers the whole
 * process. `calls`: the calls completed in the window, for per-call figures.
 */
export function summarizeProfile(file: string, opts: { top?: number; calls?: number; skipMs?: number } = {}): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const top = opts.top ?? 25;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node: the time deltas of the samples that landed on it.
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const skipUs = (opts.skipMs ?? 0) * 1000;
  let at = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    at += deltas[i] ?? 0;
    if (at < skipUs) continue;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

  // Inclusive time of the project's own functions (dist/…): self time of every node below
  // them, each sample counted once per function even when it recurses.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url.includes('/dist/')) continue;
      const key = `${f.functionName || '(anonymous)'}  ${where(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const idle = new Set(['(idle)', '(program)', '(garbage collector)']);

  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const name = f.functionName || '(anonymous)';
    const key = idle.has(name) ? name : `${name}  ${where(f.url)}:${f.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const fileKey = idle.has(name) ? name : where(f.url);
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const busy = total - (byFunction.get('(idle)') ?? 0);
  const pct = (us: number): string => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const perCall = (us: number): string => (opts.calls ? `${(us / opts.calls).toFixed(2).padStart(8)} µs/call` : '');
  const lines: string[] = [
    `profile ${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled${skipUs > 0 ? ` after the first ${(skipUs / 1e6).toFixed(1)} s` : ''}, ${(busy / 1e6).toFixed(2)} s busy (not idle); shares of busy time`,
    '',
    `top ${top} functions by self time:`,
  ];
  for (const [key, us] of [...byFunction].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(us)} ${perCall(us)}  ${key}`);
  }
  lines.push('', `top ${top} project functions (dist/) by inclusive time (they and what they call):`);
  for (const [key, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(us)} ${perCall(us)}  ${key}`);
  }
  lines.push('', 'self time by file:');
  for (const [key, us] of [...byFile].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    lines.push(`  ${pct(us)} ${perCall(us)}  ${key}`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, calls, skipMs] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top] [calls] [skipMs]\n');
    process.exit(2);
  }
  const n = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  process.stdout.write(summarizeProfile(file, { top: n(top) ?? 25, calls: n(calls), skipMs: n(skipMs) }));
}
