// What the benchmark measures: the targets of each scenario, and how each one is started.
// A target is the path between the load driver and the app; its "proxy pids" are the
// processes whose CPU and memory are charged to it (none for the direct call).
// meshward variants are config-driven: one entry in MESHWARD_VARIANTS (meshward-variants.ts) each.

import { join } from 'node:path';
import { writeSidecarConfig } from '../../integration/support/config-fixtures.js';
import { freePort } from '../../integration/support/ports.js';
import type { Pki, Svid } from '../../integration/support/tls-fixtures.js';
import type { LoadTarget } from './load-protocol.js';
import { startMeshward } from './meshward.js';
import { MESHWARD_VARIANTS, sidecarExtraYaml, type MeshwardVariant } from './meshward-variants.js';
import { GcTrace } from './gc-trace.js';
import { subscribeTap } from './tap-subscriber.js';
import { startHaproxy } from './haproxy.js';
import { startNginx } from './nginx.js';
import { fork } from 'node:child_process';
import { writeBenchPolicies } from './policies.js';
import type { Processes } from './processes.js';

export interface BenchEnv {
  readonly processes: Processes;
  /** Temporary folder for configs, logs and profiles. */
  readonly dir: string;
  readonly pki: Pki;
  /** The inbound side's SVID: the SPIFFE ID plus a DNS name, which nginx's client side checks. */
  readonly serverSvid: Svid;
  readonly serverName: string;
  readonly appPort: number;
  /** OTLP/HTTP endpoint that accepts and drops spans (variants with tracing). */
  readonly otlpEndpoint: string | undefined;
  /** Node flags for meshward processes (e.g. --cpu-prof). */
  readonly meshwardExecArgv: readonly string[];
  /** Run Node-based proxies with --trace-gc and collect their pauses. */
  readonly traceGc: boolean;
}

export interface RunningTarget {
  readonly proxyPids: readonly number[];
  readonly load: LoadTarget;
  stop(): Promise<void>;
  /** GC pauses of its Node processes (with --trace-gc). */
  readonly gc?: readonly GcTrace[];
}

export interface TargetSpec {
  /** Short id, used on the command line (--only) and in the JSON output. */
  readonly name: string;
  readonly label: string;
  /** Why this target does not run yet; it is listed as pending. */
  readonly pending?: string;
  /** Direct = the floor, no proxy. */
  readonly direct?: boolean;
  start(env: BenchEnv): Promise<RunningTarget>;
}

/**
 * How a Node-based proxy is run: the default (this checkout's dist/ on this Node), or an
 * extra build compared in the same run — another Node binary (production runs Node 24)
 * or a copy of dist/ from before a change.
 */
export interface NodeBuild {
  /** Appended to target names, e.g. "@node24"; "" for the default build. */
  readonly suffix: string;
  /** Appended to labels. */
  readonly label: string;
  /** Node binary; default the one running the benchmark. */
  readonly node?: string;
  /** meshward CLI of another build (…/dist/sidecar/cli/meshward.js). */
  readonly cli?: string;
  /** Extra Node options for meshward and the Node proxies (--node-option), e.g. --max-semi-space-size=16. */
  readonly execArgv?: readonly string[];
}

export const DEFAULT_BUILD: NodeBuild = { suffix: '', label: '' };

async function startMeshwardInbound(env: BenchEnv, name: string, variant: MeshwardVariant, build: NodeBuild): Promise<{ pids: number[]; port: number; stop(): Promise<void>; gc: GcTrace | undefined }> {
  const policyDir =
    variant.rbacRules === 0 ? undefined : await writeBenchPolicies(join(env.dir, `${name}-policies`), { caller: env.pki.client.uris[0]!, rateLimit: variant.rateLimit === true, validate: variant.validate === true });
  const config = await writeSidecarConfig(env.dir, {
    fileName: `${name}.yaml`,
    appPort: env.appPort,
    pki: env.pki,
    svid: env.serverSvid,
    allowAnyAuthenticated: variant.allowAnyAuthenticated,
    extra: sidecarExtraYaml(env, name, variant, policyDir),
  });
  const sidecar = await startMeshward(env.processes, name, config, { ...build, execArgv: [...env.meshwardExecArgv, ...(build.execArgv ?? [])], traceGc: env.traceGc });
  if (variant.tapSubscriber !== true) return { pids: sidecar.pids, port: sidecar.inboundPort, stop: sidecar.stop, gc: sidecar.gc };
  const tap = await subscribeTap(sidecar.adminPort);
  return {
    pids: sidecar.pids,
    port: sidecar.inboundPort,
    gc: sidecar.gc,
    stop: async () => {
      process.stderr.write(`bench: ${name}: the /tap subscriber received ${tap.events} events, ${tap.dropped} dropped\n`);
      tap.close();
      await sidecar.stop();
    },
  };
}

const tlsClient = (env: BenchEnv): NonNullable<LoadTarget['tls']> => ({
  caPem: env.pki.ca.certPem,
  certPem: env.pki.client.certPem,
  keyPem: env.pki.client.keyPem,
  expectServerId: env.serverSvid.uris[0]!,
});

/** The floor: the driver calls the app itself, plaintext h2c. */
export const direct: TargetSpec = {
  name: 'direct',
  label: 'direct (no proxy)',
  direct: true,
  start: async (env) => ({ proxyPids: [], load: { authority: `127.0.0.1:${env.appPort}` }, stop: async () => {} }),
};

// ---- scenario "inbound": client → proxy (mTLS) → app (h2c) ----

export const nginxInbound: TargetSpec = {
  name: 'nginx',
  label: 'nginx 1.22 (grpc_pass)',
  async start(env) {
    const port = await freePort();
    const nginx = await startNginx(env.processes, { name: 'nginx-inbound', template: 'inbound.conf', dir: env.dir, port, values: nginxInboundValues(env) });
    return { proxyPids: nginx.pids, load: { authority: `127.0.0.1:${port}`, tls: tlsClient(env) }, stop: nginx.stop };
  },
};

function nginxInboundValues(env: BenchEnv): Record<string, string> {
  return { APP: `127.0.0.1:${env.appPort}`, CERT: env.serverSvid.certFile, KEY: env.serverSvid.keyFile, CA: env.pki.ca.certFile };
}

export const haproxyInbound: TargetSpec = {
  name: 'haproxy',
  label: 'HAProxy 2.6 (h2, mTLS)',
  async start(env) {
    const port = await freePort();
    const h = await startHaproxy(env.processes, {
      name: 'haproxy-inbound',
      template: 'inbound.cfg',
      dir: env.dir,
      port,
      certPem: env.serverSvid.certPem,
      keyPem: env.serverSvid.keyPem,
      values: { APP: `127.0.0.1:${env.appPort}`, CA: env.pki.ca.certFile },
    });
    return { proxyPids: h.pids, load: { authority: `127.0.0.1:${port}`, tls: tlsClient(env) }, stop: h.stop };
  },
};

const PASSTHROUGH = new URL('./passthrough-proxy.ts', import.meta.url).pathname;
const H2_RELAY = new URL('./h2-relay-proxy.ts', import.meta.url).pathname;

/** Forks a benchmark proxy script (run with tsx) and waits for its {port} message. */
async function forkProxy(env: BenchEnv, name: string, script: string, args: string[], build: NodeBuild): Promise<{ pid: number; port: number; stop(): Promise<void>; gc: GcTrace | undefined }> {
  const child = fork(script, args, {
    execArgv: ['--import', 'tsx', ...(env.traceGc ? ['--trace-gc'] : []), ...(build.execArgv ?? [])],
    ...(build.node === undefined ? {} : { execPath: build.node }),
    stdio: ['ignore', env.traceGc ? 'pipe' : 'inherit', 'inherit', 'ipc'],
  });
  env.processes.track(name, child);
  let gc: GcTrace | undefined;
  if (env.traceGc) {
    gc = new GcTrace();
    gc.follow(child.stdout!);
  }
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not ready within 15 s`)), 15_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
  });
  return { pid: child.pid!, port, stop: () => env.processes.stop(child), gc };
}

/** A naive Node pass-through (passthrough-proxy.ts): the floor for a Node proxy. */
export function nodePassthrough(build: NodeBuild = DEFAULT_BUILD): TargetSpec {
  return {
    name: `node-passthrough${build.suffix}`,
    label: `naive node:http2 pass-through${build.label}`,
    async start(env) {
      const args = ['--app', String(env.appPort), '--cert', env.serverSvid.certFile, '--key', env.serverSvid.keyFile, '--ca', env.pki.ca.certFile];
      const p = await forkProxy(env, `node-passthrough${build.suffix}`, PASSTHROUGH, args, build);
      return { proxyPids: [p.pid], load: { authority: `127.0.0.1:${p.port}`, tls: tlsClient(env) }, stop: p.stop, gc: gcOf(p.gc) };
    },
  };
}

/** The own codec as a bare relay (h2-relay-proxy.ts): the floor of meshward's data plane. */
export function h2Relay(build: NodeBuild = DEFAULT_BUILD): TargetSpec {
  return {
    name: `h2-relay${build.suffix}`,
    label: `own-codec relay, no features (tsx)${build.label}`,
    async start(env) {
      const args = ['--mode', 'inbound', '--app', String(env.appPort), '--cert', env.serverSvid.certFile, '--key', env.serverSvid.keyFile, '--ca', env.pki.ca.certFile];
      const p = await forkProxy(env, `h2-relay${build.suffix}`, H2_RELAY, args, build);
      return { proxyPids: [p.pid], load: { authority: `127.0.0.1:${p.port}`, tls: tlsClient(env) }, stop: p.stop, gc: gcOf(p.gc) };
    },
  };
}

/** A pair of own-codec relays: h2c in → mTLS → the inbound relay → the app. */
export function h2RelayPair(build: NodeBuild = DEFAULT_BUILD): TargetSpec {
  return {
    name: `h2-relay-pair${build.suffix}`,
    label: `own-codec relay pair, no features (tsx)${build.label}`,
    async start(env) {
      const inArgs = ['--mode', 'inbound', '--app', String(env.appPort), '--cert', env.serverSvid.certFile, '--key', env.serverSvid.keyFile, '--ca', env.pki.ca.certFile];
      const inbound = await forkProxy(env, `h2-relay-pair-inbound${build.suffix}`, H2_RELAY, inArgs, build);
      const outArgs = ['--mode', 'outbound', '--upstream', String(inbound.port), '--cert', env.pki.client.certFile, '--key', env.pki.client.keyFile, '--ca', env.pki.ca.certFile, '--servername', env.serverName];
      const outbound = await forkProxy(env, `h2-relay-pair-outbound${build.suffix}`, H2_RELAY, outArgs, build).catch(async (err: unknown) => {
        await inbound.stop();
        throw err;
      });
      return {
        proxyPids: [outbound.pid, inbound.pid],
        load: { authority: `127.0.0.1:${outbound.port}` },
        stop: async () => void (await Promise.all([outbound.stop(), inbound.stop()])),
        gc: gcOf(outbound.gc, inbound.gc),
      };
    },
  };
}

export function meshwardInbound(variant: MeshwardVariant, build: NodeBuild = DEFAULT_BUILD): TargetSpec {
  const name = `${variant.name}${build.suffix}`;
  return {
    name,
    label: `${variant.label}${build.label}`,
    ...(variant.pending === undefined ? {} : { pending: variant.pending }),
    async start(env) {
      const m = await startMeshwardInbound(env, name, variant, build);
      return { proxyPids: m.pids, load: { authority: `127.0.0.1:${m.port}`, tls: tlsClient(env) }, stop: m.stop, gc: gcOf(m.gc) };
    },
  };
}

// ---- scenario "mesh": client → outbound proxy (h2c) → inbound proxy (mTLS) → app ----

export const nginxPair: TargetSpec = {
  name: 'nginx-pair',
  label: 'nginx pair (grpc_pass, mTLS between)',
  async start(env) {
    const [inPort, outPort] = [await freePort(), await freePort()];
    const inbound = await startNginx(env.processes, { name: 'nginx-pair-inbound', template: 'inbound.conf', dir: env.dir, port: inPort, values: nginxInboundValues(env) });
    const outbound = await startNginx(env.processes, {
      name: 'nginx-pair-outbound',
      template: 'outbound.conf',
      dir: env.dir,
      port: outPort,
      values: {
        UPSTREAM: `127.0.0.1:${inPort}`,
        CERT: env.pki.client.certFile,
        KEY: env.pki.client.keyFile,
        CA: env.pki.ca.certFile,
        SERVER_NAME: env.serverName,
      },
    }).catch(async (err: unknown) => {
      await inbound.stop();
      throw err;
    });
    return {
      proxyPids: [...outbound.pids, ...inbound.pids],
      load: { authority: `127.0.0.1:${outPort}` },
      stop: async () => void (await Promise.all([outbound.stop(), inbound.stop()])),
    };
  },
};

export const haproxyPair: TargetSpec = {
  name: 'haproxy-pair',
  label: 'HAProxy pair (h2, mTLS between)',
  async start(env) {
    const [inPort, outPort] = [await freePort(), await freePort()];
    const inbound = await startHaproxy(env.processes, {
      name: 'haproxy-pair-inbound',
      template: 'inbound.cfg',
      dir: env.dir,
      port: inPort,
      certPem: env.serverSvid.certPem,
      keyPem: env.serverSvid.keyPem,
      values: { APP: `127.0.0.1:${env.appPort}`, CA: env.pki.ca.certFile },
    });
    const outbound = await startHaproxy(env.processes, {
      name: 'haproxy-pair-outbound',
      template: 'outbound.cfg',
      dir: env.dir,
      port: outPort,
      certPem: env.pki.client.certPem,
      keyPem: env.pki.client.keyPem,
      values: { UPSTREAM: `127.0.0.1:${inPort}`, CA: env.pki.ca.certFile, SERVER_NAME: env.serverName },
    }).catch(async (err: unknown) => {
      await inbound.stop();
      throw err;
    });
    return {
      proxyPids: [...outbound.pids, ...inbound.pids],
      load: { authority: `127.0.0.1:${outPort}` },
      stop: async () => void (await Promise.all([outbound.stop(), inbound.stop()])),
    };
  },
};

/**
 * A meshward pair for the mesh path: the outbound sidecar presents the caller's SVID and
 * routes its own listen address (what h2load sends as :authority) to the inbound sidecar,
 * expecting the inbound's SPIFFE ID; the inbound one runs `variant`.
 */
export function meshwardPair(variant: MeshwardVariant, build: NodeBuild = DEFAULT_BUILD): TargetSpec {
  return {
    name: `${variant.name}-pair${build.suffix}`,
    label: `${variant.label}, pair${build.label}`,
    ...(variant.pending === undefined ? {} : { pending: variant.pending }),
    async start(env) {
      const inbound = await startMeshwardInbound(env, `${variant.name}-pair-inbound${build.suffix}`, variant, build);
      const outPort = await freePort();
      const name = `${variant.name}-pair-outbound${build.suffix}`;
      const route = [
        'outbound:',
        `  listen: "127.0.0.1:${outPort}"`,
        '  routes:',
        `    - authority: "127.0.0.1:${outPort}"`,
        `      address: "127.0.0.1:${inbound.port}"`,
        `      identity: ${JSON.stringify(env.serverSvid.uris[0]!)}`,
      ].join('\n');
      const config = await writeSidecarConfig(env.dir, {
        fileName: `${name}.yaml`,
        appPort: env.appPort,
        pki: env.pki,
        svid: env.pki.client,
        allowAnyAuthenticated: true,
        extra: sidecarExtraYaml(env, name, { ...variant, rbacRules: 0 }, undefined, route),
      });
      const outbound = await startMeshward(env.processes, name, config, { ...build, execArgv: [...env.meshwardExecArgv, ...(build.execArgv ?? [])], traceGc: env.traceGc }).catch(async (err: unknown) => {
        await inbound.stop();
        throw err;
      });
      return {
        proxyPids: [...outbound.pids, ...inbound.pids],
        load: { authority: `127.0.0.1:${outPort}` },
        stop: async () => void (await Promise.all([outbound.stop(), inbound.stop()])),
        gc: gcOf(outbound.gc, inbound.gc),
      };
    },
  };
}

const gcOf = (...traces: (GcTrace | undefined)[]): GcTrace[] | undefined => {
  const t = traces.filter((x): x is GcTrace => x !== undefined);
  return t.length === 0 ? undefined : t;
};

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** One driver for every target of the scenario, so their numbers compare. */
  readonly driver: 'node' | 'h2load';
  readonly targets: readonly TargetSpec[];
}

/** An earlier build (--baseline) may not know newer config keys such as `workers`. */
const variantsFor = (b: NodeBuild): readonly MeshwardVariant[] => (b.cli === undefined ? MESHWARD_VARIANTS : MESHWARD_VARIANTS.filter((v) => v.workers === undefined));

/**
 * The scenarios. Every Node-based proxy runs once per build (`builds`, the default first):
 * meshward and the pass-through on another Node binary, meshward from an earlier dist/.
 */
export function scenarios(builds: readonly NodeBuild[] = [DEFAULT_BUILD]): Scenario[] {
  const perBuild = <T>(make: (b: NodeBuild) => T[]): T[] => builds.flatMap(make);
  return [
    {
      name: 'inbound',
      title: 'inbound hop: client → proxy (mTLS) → app (h2c); Node generator with a client certificate',
      driver: 'node',
      targets: [
        direct,
        nginxInbound,
        haproxyInbound,
        // The pass-through and the bare relay have no dist/ build of their own: they run once per Node binary.
        ...perBuild((b) => (b.cli === undefined ? [nodePassthrough(b), h2Relay(b)] : [])),
        ...perBuild((b) => variantsFor(b).map((v) => meshwardInbound(v, b))),
      ],
    },
    {
      name: 'mesh',
      title: 'mesh path: client → outbound proxy (h2c) → inbound proxy (mTLS) → app (h2c); h2load',
      driver: 'h2load',
      targets: [
        direct,
        nginxPair,
        haproxyPair,
        ...perBuild((b) => (b.cli === undefined ? [h2RelayPair(b)] : [])),
        ...perBuild((b) => variantsFor(b).map((v) => meshwardPair(v, b))),
      ],
    },
  ];
}
