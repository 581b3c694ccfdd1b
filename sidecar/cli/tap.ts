// `meshward tap --admin URL [--method M] [--principal P] [--decision D] [--json] [--count N]`
// (DESIGN §12): follows a sidecar's GET /tap and prints one line per call as it ends —
// colour on a terminal only; with --json the events as sent. CLI, control path.
// Exit: 0 when stopped (Ctrl-C, --count reached), 1 when the sidecar refuses or goes away, 2 usage.

import { parseArgs } from 'node:util';
import type { TapEvent } from '../tap/tap-event.js';
import { ADMIN_OPTIONS, ADMIN_USAGE, AdminHttpError, adminTarget, ansi, CliUsageError, followEvents, useColour } from './admin-client.js';

const USAGE = `Usage: meshward tap --admin URL [--method M] [--principal P] [--decision D] [--json] [--count N]

Prints the calls a sidecar serves, one line each as it ends, from now on (no replay).

${ADMIN_USAGE}
  --method M         package.Service/Method, package.Service/*, package.Service/Prefix*,
                     or a GraphQL endpoint path such as /graphql
  --principal P      the caller's SPIFFE ID, or a prefix ending in /* (e.g. spiffe://td/ns/web/*)
  --decision D       allow | deny | audit_deny
  --json             the events as JSON lines (time, method, principal, decision, reason,
                     status, durationMs, traceId, ...): docs/dashboard.md
  --count N          stop after N calls

A subscriber that cannot keep up loses events; the count of lost events goes to stderr.`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readonly colour: boolean;
}

const processIo = (): CliIo => ({
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  colour: useColour(process.stdout),
});

/** One call as a line: time, decision, method, then key=value fields. */
export function formatTapLine(e: TapEvent, colour: boolean): string {
  const label = e.decision === 'deny' && e.limited ? 'LIMITED' : e.decision.toUpperCase();
  const paint = !colour ? (s: string) => s : e.decision === 'allow' ? ansi.green : e.decision === 'audit_deny' ? ansi.yellow : e.limited ? ansi.magenta : ansi.red;
  const fields = [
    `principal=${e.principal ?? '-'}`,
    ...(e.operation === null ? [] : [`operation=${JSON.stringify(e.operation)}`]),
    ...(e.decision === 'allow' && e.reason === 'allowed' ? [] : [`reason=${e.reason}`]),
    ...(e.rule === null ? [] : [`rule=${e.rule}`]),
    `status=${e.status ?? 'reset'}`,
    `duration=${e.durationMs}ms`,
    ...(e.traceId === null ? [] : [`trace=${e.traceId}`]),
  ];
  const time = colour ? ansi.dim(e.time) : e.time;
  return `${time} ${paint(label.padEnd(10))} ${e.method} ${fields.join(' ')}`;
}

export async function runTapCommand(argv: string[], io: CliIo = processIo()): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        ...ADMIN_OPTIONS,
        method: { type: 'string' },
        principal: { type: 'string' },
        decision: { type: 'string' },
        json: { type: 'boolean', default: false },
        count: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.err(`meshward tap: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  let count: number | undefined;
  let target;
  try {
    if (values.count !== undefined) {
      count = Number(values.count);
      if (!Number.isInteger(count) || count < 1) throw new CliUsageError(`--count: expected a positive integer, got ${values.count}`);
    }
    target = adminTarget(values);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    io.err(`meshward tap: ${err.message}\n${USAGE}`);
    return 2;
  }

  let seen = 0;
  let stoppedHere = false;
  let stop: () => void = () => undefined;
  const finish = (): void => {
    stoppedHere = true;
    stop();
  };
  try {
    const stream = await followEvents(
      target,
      '/tap',
      { method: values.method, principal: values.principal, decision: values.decision },
      {
        onEvent(event, data) {
          if (stoppedHere) return;
          if (event === 'subscribed') {
            const { filter } = JSON.parse(data) as { filter: Record<string, string> };
            const desc = Object.entries(filter).map(([k, v]) => `${k}=${v}`).join(' ');
            io.err(`tapping ${target.url.origin}${desc === '' ? '' : ` (${desc})`}; Ctrl-C to stop`);
          } else if (event === 'dropped') {
            const { dropped } = JSON.parse(data) as { dropped: number };
            io.err(`meshward tap: ${dropped} events dropped so far (this client fell behind the sidecar)`);
          } else if (event === 'message') {
            io.out(values.json ? data : formatTapLine(JSON.parse(data) as TapEvent, io.colour && !values.json));
            if (count !== undefined && ++seen >= count) finish();
          }
        },
      },
    );
    stop = stream.stop;
    const onSignal = (): void => finish();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await stream.ended;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  } catch (err) {
    if (stoppedHere) return 0;
    io.err(`meshward tap: ${describeError(err, target.url)}`);
    return 1;
  }
  if (stoppedHere) return 0;
  io.err('meshward tap: the sidecar closed the stream');
  return 1;
}

export function describeError(err: unknown, url: URL): string {
  if (err instanceof AdminHttpError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ECONNREFUSED') return `cannot connect to ${url.origin} (is the sidecar running? is admin.listen this address?)`;
  if (e.code === 'EPROTO' || /certificate|SSL|TLS/i.test(e.message ?? '')) return `TLS to ${url.origin} failed: ${e.message}`;
  return `${url.origin}: ${e.message ?? String(err)}`;
}
