// `npm run bench`: gRPC unary calls through meshward, through nginx and directly to the
// app, measured in one run and reported as ratios (BENCHMARKS.md). See --help.
// `npm run bench -- --smoke`: each peer and the least and most complete meshward variants for
// a moment, for CI; exits 1 on any error.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueSvid, makePki, serverId } from '../../integration/support/tls-fixtures.js';
import { summarizeProfile } from '../cpu-profile-summary.js';
import { H2loadDriver, NodeLoadDriver, type LoadDriver } from './load-drivers.js';
import type { LoadSpec } from './load-protocol.js';
import { NGINX_BIN } from './nginx.js';
import { ensureBuilt, measure, startApp, startOtlpSink, type Pids } from './harness.js';
import { sumGc } from './gc-trace.js';
import { maxProcessRssBytes, peakRssBytes } from './proc-stats.js';
import { Processes } from './processes.js';
import { checkTargets, renderScenario, type Measurement, type ScenarioReport, type TargetRounds } from './report.js';
import { DEFAULT_BUILD, scenarios as allScenarios, type BenchEnv, type NodeBuild, type RunningTarget, type Scenario, type TargetSpec } from './targets.js';

const HELP = `usage: npm run bench -- [options]
  --smoke               each peer and the least/most complete meshward variant briefly;
                        exit 1 on any error (CI)
  --scenario NAME       inbound | mesh | all (default all)
  --only A,B            only these targets (names as in the report, e.g. nginx,meshward-rbac)
  --rounds N            rounds over all targets (default 3); medians and paired ratios
  --connections N       connections per target (default 4)
  --streams M           concurrent streams per connection when saturating (default 16)
  --rate R              calls/s for the latency phase (default 1000)
  --saturate-ms MS      saturation phase length (default 5000)
  --rate-ms MS          fixed-rate phase length (default 6000)
  --app raw|grpc-js     backend app implementation (default raw)
  --json FILE           also write the raw measurements as JSON
  --profile TARGET      run only TARGET (a meshward one) saturated under --cpu-prof,
                        print the top self-time functions and keep the .cpuprofile
  --profile-ms MS       profiled load length (default 10000)
  --profile-dir DIR     where to keep profiles (default $TMPDIR/meshward-cpuprofiles)
  --baseline DIR        also run every meshward variant from DIR/dist (a copy of an earlier
                        build with node_modules beside it) as NAME@before, in the same run
  --also-node BIN       also run meshward and the Node pass-through on another Node binary
                        (e.g. Node 24, which production runs) as NAME@nodeN
  --pending             also run the targets marked pending (to try work in progress)
  --node-option OPT     also run meshward and the Node proxies with this Node option (e.g.
                        --node-option=--max-semi-space-size=16) as NAME+OPT, on each Node
                        binary; repeatable: one extra set of targets per option
  --trace-gc            run the Node-based proxies with --trace-gc: a GC pause summary per target`;

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string', default: 'all' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    streams: { type: 'string' },
    rate: { type: 'string' },
    'saturate-ms': { type: 'string' },
    'rate-ms': { type: 'string' },
    app: { type: 'string', default: 'raw' },
    json: { type: 'string' },
    profile: { type: 'string' },
    'profile-ms': { type: 'string', default: '10000' },
    'profile-dir': { type: 'string', default: join(tmpdir(), 'meshward-cpuprofiles') },
    baseline: { type: 'string' },
    'also-node': { type: 'string' },
    pending: { type: 'boolean', default: false },
    'trace-gc': { type: 'boolean', default: false },
    'node-option': { type: 'string', multiple: true },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const smoke = args.smoke;
const builds: NodeBuild[] = [DEFAULT_BUILD];
if (args['also-node'] !== undefined) {
  const version = spawnSync(args['also-node'], ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!/^v\d+/.test(version)) throw new Error(`--also-node ${args['also-node']}: not a Node binary`);
  builds.push({ suffix: `@node${version.slice(1).split('.')[0]}`, label: ` on Node ${version}`, node: args['also-node'] });
}
// Each --node-option runs every Node binary's targets once more with that option.
for (const opt of args['node-option'] ?? []) {
  if (!opt.startsWith('--')) throw new Error(`--node-option ${opt}: expected a Node option such as --max-semi-space-size=16`);
  const suffix = `+${opt.slice(2).replace(/[^A-Za-z0-9]+/g, '-')}`;
  for (const b of builds.filter((x) => x.execArgv === undefined)) builds.push({ ...b, suffix: `${b.suffix}${suffix}`, label: `${b.label}, ${opt}`, execArgv: [opt] });
}
if (args.baseline !== undefined) builds.push({ suffix: '@before', label: ' (before)', cli: join(args.baseline, 'dist', 'sidecar', 'cli', 'meshward.js') });
const SCENARIOS = allScenarios(builds);
const int = (v: string | undefined, dflt: number, name: string): number => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: expected a positive integer, got ${v}`);
  return n;
};
const rounds = int(args.rounds, smoke ? 1 : 3, 'rounds');
const connections = int(args.connections, smoke ? 2 : 4, 'connections');
const streams = int(args.streams, smoke ? 8 : 16, 'streams');
const rate = int(args.rate, 1000, 'rate');
const saturateMs = int(args['saturate-ms'], smoke ? 1500 : 5000, 'saturate-ms');
const rateMs = int(args['rate-ms'], smoke ? 1500 : 6000, 'rate-ms');
const SATURATE: LoadSpec = { mode: 'saturate', connections, streams, maxCalls: smoke ? 300 : 1_000_000, maxMs: saturateMs };
const RATE: LoadSpec = { mode: 'rate', connections, rate, maxCalls: smoke ? 100 : Math.ceil((rate * rateMs) / 1000), maxMs: rateMs };
const warmup = (first: boolean): LoadSpec => ({ mode: 'saturate', connections, streams, maxCalls: smoke ? 50 : first ? 5000 : 1000, maxMs: 3000 });

const T0 = performance.now();
function log(msg: string): void {
  process.stderr.write(`bench: ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s  ${msg}\n`);
}

function selectedTargets(s: Scenario): { run: TargetSpec[]; pending: ScenarioReport['pending'] } {
  const only = args.only?.split(',').map((x) => x.trim());
  // The direct call always runs: it is the floor every ratio needs.
  const wanted = (t: TargetSpec): boolean => only === undefined || only.includes(t.name) || t.direct === true;
  const runs = (t: TargetSpec): boolean => t.pending === undefined || args.pending;
  let run = s.targets.filter((t) => runs(t) && wanted(t));
  if (smoke) {
    // Smoke: sidecar start-up (1,000 rules) dominates, so only the least and the most
    // complete meshward variants run in the first scenario, and only the latter after it.
    const meshward = run.filter((t) => t.name.startsWith('meshward'));
    const keep = new Set([meshward[meshward.length - 1], ...(s === SCENARIOS[0] ? [meshward[0]] : [])]);
    run = run.filter((t) => !t.name.startsWith('meshward') || keep.has(t));
  }
  const pending = s.targets.filter((t) => !runs(t) && wanted(t)).map((t) => ({ name: t.name, label: t.label, why: t.pending! }));
  return { run, pending };
}

async function runScenario(s: Scenario, env: BenchEnv, driver: LoadDriver, pids: Pids): Promise<ScenarioReport> {
  const { run, pending } = selectedTargets(s);
  const report: ScenarioReport = { name: s.name, title: s.title, hops: s.name === 'mesh' ? 2 : 1, targets: [], pending };
  if (run.length === 0) return report;
  log(`${s.name}: starting ${run.map((t) => t.name).join(', ')}`);
  const started: Array<{ spec: TargetSpec; target: RunningTarget; rounds: TargetRounds }> = [];
  try {
    // A few at a time (nothing is measured yet: 20+ sidecars parsing 1,000 rules at once on 2
    // cores missed the 30 s ready timeout); if one fails, the others are stopped below.
    const starts = await settledInBatches(run.map((spec) => () => spec.start(env)), 4);
    starts.forEach((st, i) => {
      if (st.status !== 'fulfilled') return;
      const spec = run[i]!;
      // † marks a pending target run anyway (--pending): it measures work in progress.
      const label = spec.pending === undefined ? spec.label : `${spec.label} †`;
      const rounds: TargetRounds = { name: spec.name, label, direct: spec.direct === true, saturate: [], rate: [], peakRssBytes: 0, idleRssBytes: 0 };
      started.push({ spec, target: st.value, rounds });
      report.targets.push(rounds);
    });
    const failed = starts.find((st): st is PromiseRejectedResult => st.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    // Idle memory: after start-up, before any call (the largest process of the target).
    await new Promise((r) => setTimeout(r, 1000));
    for (const { target, rounds: tr } of started) tr.idleRssBytes = maxProcessRssBytes(target.proxyPids);
    for (let r = 0; r < rounds; r++) {
      // Rotate the order so no target always runs first (or right after the same neighbour).
      const order = started.map((_, i) => started[(i + r) % started.length]!);
      for (const { spec, target, rounds: tr } of order) {
        log(`${s.name}: round ${r + 1}/${rounds}: ${spec.name}`);
        const w = await measure(driver, target, warmup(r === 0), pids);
        if (w.result.errors > 0) log(`${spec.name}: warm-up errors: ${w.result.errorSamples.join('; ')}`);
        tr.saturate.push(await measure(driver, target, SATURATE, pids));
        tr.rate.push(await measure(driver, target, RATE, pids));
      }
    }
    for (const { target, rounds: tr } of started) tr.peakRssBytes = peakRssBytes(target.proxyPids);
  } finally {
    await Promise.all(started.map(({ target }) => target.stop()));
  }
  for (const { target, rounds: tr } of started) if (target.gc !== undefined) tr.gc = sumGc(target.gc.map((g) => g.summary()));
  return report;
}

async function settledInBatches<T>(jobs: ReadonlyArray<() => Promise<T>>, size: number): Promise<PromiseSettledResult<T>[]> {
  const out: PromiseSettledResult<T>[] = [];
  for (let i = 0; i < jobs.length; i += size) out.push(...(await Promise.allSettled(jobs.slice(i, i + size).map((job) => job()))));
  return out;
}

async function profileTarget(name: string, env: BenchEnv, pids: Pids): Promise<void> {
  const spec = SCENARIOS.flatMap((s) => s.targets).find((t) => t.name === name);
  if (spec === undefined || !name.startsWith('meshward')) throw new Error(`--profile: no meshward target named ${name}`);
  if (spec.pending !== undefined && !args.pending) throw new Error(`--profile: ${name} is pending: ${spec.pending} (--pending runs it anyway)`);
  const scenario = SCENARIOS.find((s) => s.targets.includes(spec))!;
  const driver = scenario.driver === 'node' ? new NodeLoadDriver(env.processes) : new H2loadDriver(env.processes, env.dir);
  const profDir = join(env.dir, 'cpu-profiles');
  const profiledEnv: BenchEnv = { ...env, meshwardExecArgv: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] };
  const spawnedAt = performance.now();
  const target = await spec.start(profiledEnv);
  const d = { ...pids, driver: driver.pid };
  let m: Measurement;
  let skipMs: number;
  try {
    await measure(driver, target, warmup(true), d);
    // The profile starts with the process: leave start-up and warm-up out of the summary.
    skipMs = performance.now() - spawnedAt + 200;
    m = await measure(driver, target, { ...SATURATE, maxMs: int(args['profile-ms'], 10_000, 'profile-ms') }, d);
  } finally {
    await target.stop();
  }
  const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${profDir}`);
  mkdirSync(args['profile-dir'], { recursive: true });
  const kept = join(args['profile-dir'], `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  copyFileSync(join(profDir, files[0]!), kept);
  const calls = m.result.calls;
  process.stdout.write(`profiled ${name}: ${calls} calls, ${((m.proxyCpuMs * 1000) / calls).toFixed(0)} µs CPU/call (profiler on)\nprofile: ${kept}\n\n`);
  process.stdout.write(summarizeProfile(kept, { top: 30, calls, skipMs }));
}

async function main(): Promise<number> {
  for (const bin of [NGINX_BIN, '/usr/bin/h2load']) {
    if (!existsSync(bin)) throw new Error(`${bin} not found: install the Debian packages nginx-light and nghttp2-client`);
  }
  ensureBuilt(log);
  const t0 = performance.now();
  const processes = new Processes();
  const dir = mkdtempSync(join(tmpdir(), 'meshward-bench-'));
  let sink: Server | undefined;
  try {
    const pki = await makePki(join(dir, 'pki'));
    const serverName = 'inbound.bench.local';
    const serverSvid = await issueSvid(pki.dir, 'inbound-dns', pki.ca, { spiffeId: serverId(pki.trustDomain), dnsNames: [serverName] });
    const app = await startApp(processes, args.app);
    const tracing = SCENARIOS.some((s) => s.targets.some((t) => (t.pending === undefined || args.pending) && t.name.includes('realistic')));
    let otlpEndpoint: string | undefined;
    if (tracing) ({ server: sink, endpoint: otlpEndpoint } = await startOtlpSink());
    const env: BenchEnv = { processes, dir, pki, serverSvid, serverName, appPort: app.port, otlpEndpoint, meshwardExecArgv: [], traceGc: args['trace-gc'] };

    if (args.profile !== undefined) {
      await profileTarget(args.profile, env, { app: app.pid, driver: undefined });
      return 0;
    }

    const scenarios = SCENARIOS.filter((s) => args.scenario === 'all' || s.name === args.scenario);
    if (scenarios.length === 0) throw new Error(`--scenario: no scenario named ${args.scenario}`);
    const nodeDriver = new NodeLoadDriver(processes);
    const h2load = new H2loadDriver(processes, dir);
    const reports: ScenarioReport[] = [];
    const failures: string[] = [];
    for (const s of scenarios) {
      const driver = s.driver === 'node' ? nodeDriver : h2load;
      try {
        reports.push(await runScenario(s, env, driver, { app: app.pid, driver: driver.pid }));
      } catch (err) {
        // Keep what the other scenarios measured; the run still fails.
        failures.push(`${s.name}: ${String((err as Error)?.stack ?? err)}`);
      }
    }

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const out: string[] = [
      `## Proxy benchmark${smoke ? ' (SMOKE: too short to mean anything)' : ''}`,
      '',
      `${when} UTC · ${cpus().length} × ${cpu} · Node ${process.version} · app: ${args.app} · ${rounds} round(s) · ` +
        `saturated: ${connections} connections × ${streams} streams, ${saturateMs} ms · latency: ${rate} calls/s open loop over ${connections} connections, ${rateMs} ms`,
      '',
    ];
    for (const r of reports) out.push(renderScenario(r, rate));
    if (args.pending) out.push('† pending target run with --pending: it measures a feature still being built when this ran.', '');
    const checks = reports.flatMap((r) => checkTargets(r).map((c) => ({ ...c, what: `${r.name}: ${c.what}` })));
    if (checks.length > 0) {
      out.push('Goals (issue 14, each against the better peer on that figure in this run):', '');
      for (const c of checks) out.push(`- ${c.met === undefined ? '?' : c.met ? 'met' : 'NOT MET'}: ${c.what} (${c.detail})`);
      out.push('');
    }
    process.stdout.write(out.join('\n'));
    if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ args, reports }, null, 2));

    for (const r of reports) {
      for (const t of r.targets) {
        for (const m of [...t.saturate, ...t.rate]) {
          if (m.result.errors > 0) failures.push(`${r.name}/${t.name}: ${m.result.errors} errors (${m.result.errorSamples.join('; ')})`);
          if (m.result.calls === 0) failures.push(`${r.name}/${t.name}: no call completed`);
        }
      }
      if (r.targets.length === 0 && args.only === undefined) failures.push(`${r.name}: no target ran`);
    }
    log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const f of failures) log(`FAILED ${f}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    sink?.close();
    processes.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
