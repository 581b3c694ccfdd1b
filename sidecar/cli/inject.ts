// `meshward inject [-f FILE]` (DESIGN §2): Kubernetes manifests in (a file or stdin), the
// same manifests out with meshward injected, for GitOps pipelines that cannot rely on the
// admission webhook. CONTROL path (CLI). Exit codes: 0 ok, 1 bad input (nothing written
// to stdout), 2 usage.
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { defaultInjectionOptions, SIDECAR_MODES, type InjectionOptions, type SidecarMode } from '../inject/injection-options.js';
import { loadInjectorConfig } from '../inject/injector-config.js';
import { injectManifests } from '../inject/manifests.js';

export interface InjectIo {
  /** The manifests (stdout), written once; resolves when flushed (the CLI exits right after). */
  out: (text: string) => void | Promise<void>;
  /** Diagnostics (stderr), one line per call. */
  err: (line: string) => void;
  readStdin: () => Promise<string>;
}

/** Manifests are text a person or a pipeline wrote; more than this is a mistake. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

const processIo: InjectIo = {
  out: (text) => new Promise<void>((resolve) => process.stdout.write(text, () => resolve())),
  err: (line) => process.stderr.write(line + '\n'),
  readStdin: () => readStream(process.stdin),
};

const USAGE = `Usage:
  meshward inject [-f FILE] [--config INJECTOR_CONFIG] [--sidecar-mode native|container]

Reads Kubernetes manifests (YAML, several documents, Lists) from FILE or stdin ("-" or no
-f) and writes them to stdout with the meshward sidecar added to every Pod, Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob pod template.
Other documents are copied unchanged; comments and key order are kept.
--config takes the injection defaults from an injector config file (kind: Injector, the
chart's ConfigMap), so the output matches what the webhook would inject.
--sidecar-mode overrides its sidecarMode (native needs Kubernetes >= 1.29).`;

class UsageError extends Error {}

export async function runInjectCommand(argv: string[], io: InjectIo = processIo): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        filename: { type: 'string', short: 'f' },
        config: { type: 'string' },
        'sidecar-mode': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
    if (values.help) {
      await io.out(USAGE + '\n');
      return 0;
    }
    const mode = values['sidecar-mode'];
    if (mode !== undefined && !(SIDECAR_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--sidecar-mode must be one of ${SIDECAR_MODES.join(', ')}, got "${mode}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`meshward inject: ${(error as Error).message}`);
      io.err(USAGE);
      return 2;
    }
    throw error;
  }

  let options: InjectionOptions = defaultInjectionOptions();
  if (values.config !== undefined) {
    try {
      options = loadInjectorConfig(values.config).injection;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.err(`meshward inject: invalid injector config\n${err.message}`);
      return 1;
    }
  }
  const mode = values['sidecar-mode'] as SidecarMode | undefined;
  if (mode !== undefined) options = { ...options, sidecarMode: mode };

  const file = values.filename ?? '-';
  const source = file === '-' ? '<stdin>' : file;
  let text: string;
  try {
    text = file === '-' ? await io.readStdin() : await readFileBounded(file);
  } catch (err) {
    io.err(`meshward inject: cannot read ${source}: ${(err as Error).message}`);
    return 1;
  }

  const result = injectManifests(text, source, options);
  if (!result.ok) {
    for (const p of result.problems) io.err(p);
    io.err(`meshward inject: nothing written (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'})`);
    return 1;
  }
  await io.out(result.output);
  for (const s of result.skipped) io.err(s);
  io.err(`meshward inject: ${result.injected.length} injected, ${result.skipped.length} skipped`);
  return 0;
}

async function readFileBounded(file: string): Promise<string> {
  const size = (await stat(file)).size;
  if (size > MAX_INPUT_BYTES) throw new Error(`larger than ${MAX_INPUT_BYTES} bytes`);
  return readFile(file, 'utf8');
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_INPUT_BYTES) throw new Error(`larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
