// Turns the measurements of one run into the tables of BENCHMARKS.md: medians over rounds,
// ratios taken round by round (each pair measured minutes apart at most), and the targets.

import type { GcSummary } from './gc-trace.js';
import type { LoadResult } from './load-protocol.js';

/** One target under one load, once. */
export interface Measurement {
  readonly result: LoadResult;
  /** CPU of the target's proxy processes during the load, ms. */
  readonly proxyCpuMs: number;
  readonly appCpuMs: number;
  /** The driver's CPU (its own account), ms; undefined for h2load. */
  readonly driverCpuMs: number | undefined;
  /** Largest VmRSS of the proxy processes sampled during the load, bytes (summed over them). */
  readonly rssUnderLoadBytes: number;
  /** Largest VmRSS of any one proxy process during the load, bytes. */
  readonly processRssUnderLoadBytes: number;
}

export interface TargetRounds {
  readonly name: string;
  readonly label: string;
  readonly direct: boolean;
  /** Per round. */
  readonly saturate: Measurement[];
  readonly rate: Measurement[];
  /** VmHWM of the proxy processes at the end, bytes. */
  peakRssBytes: number;
  /** VmRSS of the largest proxy process after start-up, before any call, bytes. */
  idleRssBytes: number;
  /** GC pauses of its Node processes over the whole run (with --trace-gc). */
  gc?: GcSummary;
}

export interface ScenarioReport {
  readonly name: string;
  readonly title: string;
  readonly hops: number;
  readonly targets: TargetRounds[];
  readonly pending: ReadonlyArray<{ name: string; label: string; why: string }>;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const perCall = (cpuMs: number, m: Measurement): number => (m.result.calls > 0 ? (cpuMs * 1000) / m.result.calls : Number.NaN);
export const proxyUsPerCall = (m: Measurement): number => perCall(m.proxyCpuMs, m);
export const appUsPerCall = (m: Measurement): number => perCall(m.appCpuMs, m);
export const driverUsPerCall = (m: Measurement): number => (m.driverCpuMs === undefined ? Number.NaN : perCall(m.driverCpuMs, m));
export const throughput = (m: Measurement): number => (m.result.calls * 1000) / m.result.elapsedMs;

/** Median over rounds of f(a_r) / f(b_r). */
function pairedRatio(a: readonly Measurement[], b: readonly Measurement[], f: (m: Measurement) => number): number {
  const ratios: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) ratios.push(f(a[r]!) / f(b[r]!));
  return median(ratios);
}

/** Median over rounds of f(a_r) − f(b_r). */
function pairedDiff(a: readonly Measurement[], b: readonly Measurement[], f: (m: Measurement) => number): number {
  const d: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) d.push(f(a[r]!) - f(b[r]!));
  return median(d);
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');
const mb = (bytes: number): string => (bytes > 0 ? fmt(bytes / 1048576, 1) : '–');
const signedMs = (n: number): string => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(3)}` : '–');

export interface Summary {
  readonly name: string;
  readonly cpuSat: number;
  readonly cpuRate: number;
  readonly cpuSatVsNginx: number;
  readonly cpuRateVsNginx: number;
  readonly cpuSatVsHaproxy: number;
  readonly cpuRateVsHaproxy: number;
  readonly tput: number;
  readonly tputVsDirect: number;
  readonly p50: number;
  readonly p99: number;
  readonly addedP50: number;
  readonly addedP99: number;
  readonly rssUnderLoad: number;
  /** The largest single process under load, and after start-up. */
  readonly processRssUnderLoad: number;
  readonly idleRss: number;
  readonly peakRss: number;
  readonly errors: number;
}

/** The peers meshward is compared with: nginx and HAProxy (their inbound or pair targets). */
const isPeer = (name: string): boolean => name.startsWith('nginx') || name.startsWith('haproxy');

export function summarize(s: ScenarioReport): Summary[] {
  const directT = s.targets.find((t) => t.direct);
  const nginx = s.targets.find((t) => t.name.startsWith('nginx'));
  const haproxy = s.targets.find((t) => t.name.startsWith('haproxy'));
  const vs = (t: TargetRounds, peer: TargetRounds | undefined, phase: 'saturate' | 'rate'): number =>
    peer === undefined || t.direct ? Number.NaN : pairedRatio(t[phase], peer[phase], proxyUsPerCall);
  return s.targets.map((t) => ({
    name: t.name,
    cpuSat: median(t.saturate.map(proxyUsPerCall)),
    cpuRate: median(t.rate.map(proxyUsPerCall)),
    cpuSatVsNginx: vs(t, nginx, 'saturate'),
    cpuRateVsNginx: vs(t, nginx, 'rate'),
    cpuSatVsHaproxy: vs(t, haproxy, 'saturate'),
    cpuRateVsHaproxy: vs(t, haproxy, 'rate'),
    tput: median(t.saturate.map(throughput)),
    tputVsDirect: directT === undefined ? Number.NaN : pairedRatio(t.saturate, directT.saturate, throughput),
    p50: median(t.rate.map((m) => m.result.p50Ms)),
    p99: median(t.rate.map((m) => m.result.p99Ms)),
    addedP50: directT === undefined ? Number.NaN : pairedDiff(t.rate, directT.rate, (m) => m.result.p50Ms),
    addedP99: directT === undefined ? Number.NaN : pairedDiff(t.rate, directT.rate, (m) => m.result.p99Ms),
    rssUnderLoad: Math.max(0, ...[...t.saturate, ...t.rate].map((m) => m.rssUnderLoadBytes)),
    processRssUnderLoad: Math.max(0, ...[...t.saturate, ...t.rate].map((m) => m.processRssUnderLoadBytes ?? 0)),
    idleRss: t.idleRssBytes ?? 0,
    peakRss: t.peakRssBytes,
    errors: [...t.saturate, ...t.rate].reduce((n, m) => n + m.result.errors, 0),
  }));
}

export function renderScenario(s: ScenarioReport, rate: number): string {
  const rows = summarize(s);
  const label = new Map(s.targets.map((t) => [t.name, t.label]));
  const out: string[] = [];
  out.push(`### ${s.title}`, '');
  out.push(
    `| target | proxy CPU µs/call, saturated | × nginx | × HAProxy | proxy CPU µs/call at ${fmt(rate)}/s | × nginx | × HAProxy | calls/s saturated | × direct | p50 ms at ${fmt(rate)}/s | p99 ms | added p50 / p99 ms vs direct | RSS under load MB (largest process) | idle RSS MB | peak RSS (VmHWM) MB |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    const isDirect = s.targets.find((t) => t.name === r.name)?.direct === true;
    const perProcess = r.processRssUnderLoad > 0 && r.processRssUnderLoad < r.rssUnderLoad ? ` (${mb(r.processRssUnderLoad)})` : '';
    out.push(
      `| ${label.get(r.name)} | ${isDirect ? '–' : fmt(r.cpuSat)} | ${ratio(r.cpuSatVsNginx)} | ${ratio(r.cpuSatVsHaproxy)} | ${isDirect ? '–' : fmt(r.cpuRate)} | ${ratio(r.cpuRateVsNginx)} | ${ratio(r.cpuRateVsHaproxy)} | ${fmt(r.tput)} | ${ratio(r.tputVsDirect)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} | ${isDirect ? '–' : `${signedMs(r.addedP50)} / ${signedMs(r.addedP99)}`} | ${mb(r.rssUnderLoad)}${perProcess} | ${mb(r.idleRss)} | ${mb(r.peakRss)} |`,
    );
  }
  out.push('');
  const gcRows = s.targets.filter((t) => t.gc !== undefined);
  if (gcRows.length > 0) {
    // Over the whole run of the target (warm-ups and every round): pauses per call completed.
    out.push('GC (`--trace-gc`, whole run):', '', '| target | scavenges | mark-compacts | total pause ms | µs pause per call | longest scavenge ms | longest mark-compact ms |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const t of gcRows) {
      const g = t.gc!;
      const calls = [...t.saturate, ...t.rate].reduce((n, m) => n + m.result.calls, 0);
      out.push(
        `| ${t.label} | ${fmt(g.scavenges)} | ${fmt(g.markCompacts)} | ${fmt(g.totalPauseMs, 1)} | ${fmt(calls > 0 ? (g.totalPauseMs * 1000) / calls : Number.NaN, 2)} | ${fmt(g.maxScavengeMs, 2)} | ${fmt(g.maxMarkCompactMs, 2)} |`,
      );
    }
    out.push('');
  }
  // Context: the rest of the machine's CPU per call (the app and the driver run beside the proxy).
  out.push('| target | app CPU µs/call (sat / rate) | driver CPU µs/call (sat / rate) | calls measured (sat / rate) | errors |', '|---|---:|---:|---:|---:|');
  for (const t of s.targets) {
    const calls = (ms: Measurement[]): number => ms.reduce((n, m) => n + m.result.calls, 0);
    out.push(
      `| ${t.label} | ${fmt(median(t.saturate.map(appUsPerCall)))} / ${fmt(median(t.rate.map(appUsPerCall)))} | ${fmt(median(t.saturate.map(driverUsPerCall)))} / ${fmt(median(t.rate.map(driverUsPerCall)))} | ${fmt(calls(t.saturate))} / ${fmt(calls(t.rate))} | ${rows.find((r) => r.name === t.name)?.errors ?? 0} |`,
    );
  }
  out.push('');
  const pairs = renderPairs(s);
  if (pairs !== '') out.push(pairs);
  for (const p of s.pending) out.push(`- not run: ${p.label} (\`${p.name}\`) — ${p.why}`);
  out.push('');
  return out.join('\n');
}

/**
 * Paired comparisons within the run (median over rounds of per-round ratios): a change
 * against the build before it (`X` vs `X@before`), another Node against this one (`X@nodeN`
 * vs `X`), a Node option against none (`X+OPT` vs `X`), 2 workers against 1 (`X-w2` vs `X`), and meshward against the naive Node
 * pass-through on the same Node.
 */
export function renderPairs(s: ScenarioReport): string {
  const byName = new Map(s.targets.map((t) => [t.name, t]));
  const lines: string[] = [];
  const pair = (a: TargetRounds, b: TargetRounds, why: string): void => {
    lines.push(
      `| ${a.label} | ${b.label} | ${ratio(pairedRatio(a.saturate, b.saturate, proxyUsPerCall))} | ${ratio(pairedRatio(a.rate, b.rate, proxyUsPerCall))} | ${ratio(pairedRatio(a.saturate, b.saturate, throughput))} | ${why} |`,
    );
  };
  for (const t of s.targets) {
    const before = byName.get(`${t.name}@before`);
    if (before !== undefined) pair(t, before, 'this build vs the one before');
    const at = t.name.indexOf('@node');
    const plus = t.name.indexOf('+');
    if (plus > 0) {
      const without = byName.get(t.name.slice(0, plus));
      if (without !== undefined) pair(t, without, 'with the Node option vs without, same Node');
    } else if (at > 0) {
      const base = byName.get(t.name.slice(0, at));
      if (base !== undefined) pair(t, base, 'other Node vs this one');
    }
    const one = t.name.includes('-w2') ? byName.get(t.name.replace('-w2', '')) : undefined;
    if (one !== undefined) pair(t, one, '2 workers vs 1 process, same variant');
    if (t.name.startsWith('meshward') && !t.name.includes('@before')) {
      const suffix = at > 0 ? t.name.slice(at) : '';
      const floor = byName.get(`node-passthrough${suffix}`);
      if (floor !== undefined) pair(t, floor, 'meshward vs the Node floor, same Node');
    }
  }
  if (lines.length === 0) return '';
  return [
    'Paired ratios (per round, median):',
    '',
    '| A | B | CPU/call A÷B, saturated | CPU/call A÷B, at fixed rate | calls/s A÷B | |',
    '|---|---|---:|---:|---:|---|',
    ...lines,
    '',
  ].join('\n');
}

export interface TargetCheck {
  readonly what: string;
  readonly met: boolean | undefined;
  readonly detail: string;
}

/**
 * The goals of issue 14, for every meshward target that ran, against the better peer
 * (nginx or HAProxy, whichever does better on that figure in this run): proxy CPU per call
 * ≤ 0.5× saturated and ≤ 1.0× at the fixed rate; calls/s saturated ≥ 1.5×; added p99 at the
 * fixed rate within 0.5 ms of the peer's, per hop; RSS ≤ 80 MB per process under load and
 * ≤ 60 MB idle.
 */
export function checkTargets(s: ScenarioReport): TargetCheck[] {
  const rows = summarize(s);
  const peers = rows.filter((r) => isPeer(r.name));
  if (peers.length === 0) return [];
  const best = (f: (r: Summary) => number, lower: boolean): Summary =>
    peers.reduce((a, b) => (Number.isFinite(f(b)) && (!Number.isFinite(f(a)) || (lower ? f(b) < f(a) : f(b) > f(a))) ? b : a));
  const bestCpuSat = best((r) => r.cpuSat, true);
  const bestCpuRate = best((r) => r.cpuRate, true);
  const bestTput = best((r) => r.tput, false);
  const bestP99 = best((r) => r.addedP99, true);
  const byName = new Map(s.targets.map((t) => [t.name, t]));
  const vsPeer = (r: Summary, peer: Summary, phase: 'saturate' | 'rate', f: (m: Measurement) => number): number =>
    pairedRatio(byName.get(r.name)![phase], byName.get(peer.name)![phase], f);
  const checks: TargetCheck[] = [];
  for (const r of rows.filter((x) => x.name.startsWith('meshward'))) {
    const cpuSat = vsPeer(r, bestCpuSat, 'saturate', proxyUsPerCall);
    const cpuRate = vsPeer(r, bestCpuRate, 'rate', proxyUsPerCall);
    const tput = vsPeer(r, bestTput, 'saturate', throughput);
    const p99 = (r.addedP99 - bestP99.addedP99) / s.hops;
    const rss = (r.processRssUnderLoad || r.rssUnderLoad / s.hops) / 1048576;
    const idle = r.idleRss / 1048576;
    const met = (v: number, ok: (x: number) => boolean): boolean | undefined => (Number.isFinite(v) ? ok(v) : undefined);
    checks.push({ what: `${r.name}: proxy CPU per call saturated ≤ 0.5× the better peer (${bestCpuSat.name})`, met: met(cpuSat, (x) => x <= 0.5), detail: ratio(cpuSat) });
    checks.push({ what: `${r.name}: proxy CPU per call at the fixed rate ≤ 1.0× the better peer (${bestCpuRate.name})`, met: met(cpuRate, (x) => x <= 1), detail: ratio(cpuRate) });
    checks.push({ what: `${r.name}: calls/s saturated ≥ 1.5× the better peer (${bestTput.name})`, met: met(tput, (x) => x >= 1.5), detail: ratio(tput) });
    checks.push({ what: `${r.name}: added p99 at the fixed rate within 0.5 ms of the better peer's (${bestP99.name}), per hop`, met: met(p99, (x) => x <= 0.5), detail: `${signedMs(p99)} ms per hop` });
    checks.push({ what: `${r.name}: RSS under load ≤ 80 MB per process`, met: r.rssUnderLoad > 0 ? rss <= 80 : undefined, detail: `${fmt(rss, 1)} MB` });
    checks.push({ what: `${r.name}: idle RSS ≤ 60 MB per process`, met: r.idleRss > 0 ? idle <= 60 : undefined, detail: `${fmt(idle, 1)} MB` });
  }
  return checks;
}
