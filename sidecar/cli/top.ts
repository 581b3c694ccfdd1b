// `meshward top --admin URL [--once]` (DESIGN §12): a live table of a sidecar's calls per
// method — calls/s, allowed / denied / limited, p50 / p99 ms, top callers — over the last
// minute, from GET /tap (like `linkerd viz top`). Redrawn in place on a terminal; printed
// as successive tables otherwise; --once prints one table after one interval. CLI.

import { parseArgs } from 'node:util';
import { parseDuration } from '../config/units.js';
import { shortPrincipal, TrafficWindow, type MethodRow } from '../admin/dashboard/traffic-window.js';
import type { TapEvent } from '../tap/tap-event.js';
import { ADMIN_OPTIONS, ADMIN_USAGE, adminTarget, ansi, CliUsageError, followEvents, useColour } from './admin-client.js';
import { describeError, type CliIo } from './tap.js';

const USAGE = `Usage: meshward top --admin URL [--once] [--interval DURATION] [--window DURATION]
                    [--method M] [--principal P]

A live table of the calls a sidecar serves, per method: calls/s, allowed / denied /
limited, p50 / p99 ms and top callers, over the last minute since top started.

${ADMIN_USAGE}
  --once             print one table after one interval, then exit
  --interval D       how often the table is redrawn (default 2s)
  --window D         how far back the table looks (default 1m)
  --method M, --principal P   only these calls (as for meshward tap)`;

const MAX_METHOD = 64;

export interface TopIo extends CliIo {
  /** Redraw in place (a terminal). */
  readonly tty: boolean;
  write(text: string): void;
}

const processIo = (): TopIo => ({
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  write: (text) => process.stdout.write(text),
  colour: useColour(process.stdout),
  tty: process.stdout.isTTY === true,
});

function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}

/** The table as text lines (header first). */
export function renderTopTable(rows: readonly MethodRow[], colour: boolean): string[] {
  const header = ['METHOD', 'CALLS/S', 'ALLOWED', 'DENIED', 'LIMITED', 'P50 MS', 'P99 MS', 'TOP CALLERS'];
  const cells = rows.map((r) => [
    r.method.length > MAX_METHOD ? `${r.method.slice(0, MAX_METHOD - 1)}…` : r.method,
    fmt(r.callsPerSecond, r.callsPerSecond >= 10 ? 0 : 1),
    String(r.allowed),
    String(r.denied),
    String(r.limited),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    r.topCallers.map((c) => `${shortPrincipal(c.principal)} ×${c.calls}`).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = (i: number): boolean => i >= 1 && i <= 6;
  const line = (c: string[], paint?: (i: number, s: string) => string): string =>
    c
      .map((s, i) => {
        const padded = i === c.length - 1 ? s : right(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!);
        return paint === undefined ? padded : paint(i, padded);
      })
      .join('  ')
      .trimEnd();
  const paintRow = (row: string[]) => (i: number, s: string): string => {
    if (!colour || row[i] === '0') return s;
    return i === 3 ? ansi.red(s) : i === 4 ? ansi.magenta(s) : s;
  };
  return [colour ? ansi.bold(line(header)) : line(header), ...cells.map((c) => line(c, paintRow(c)))];
}

export async function runTopCommand(argv: string[], io: TopIo = processIo()): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        ...ADMIN_OPTIONS,
        once: { type: 'boolean', default: false },
        interval: { type: 'string', default: '2s' },
        window: { type: 'string', default: '1m' },
        method: { type: 'string' },
        principal: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.err(`meshward top: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  let target;
  let intervalMs: number;
  let windowMs: number;
  try {
    const duration = (flag: string, text: string): number => {
      const ms = parseDuration(text);
      if (ms === undefined || ms < 100 || ms > 3_600_000) throw new CliUsageError(`--${flag}: expected a duration from 100ms to 1h such as 2s, got ${text}`);
      return ms;
    };
    intervalMs = duration('interval', values.interval);
    windowMs = duration('window', values.window);
    target = adminTarget(values);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    io.err(`meshward top: ${err.message}\n${USAGE}`);
    return 2;
  }

  const traffic = new TrafficWindow({ windowMs });
  let dropped = 0;
  let stoppedHere = false;
  let timer: NodeJS.Timeout | undefined;
  let stop: () => void = () => undefined;
  const draw = (): void => {
    const now = Date.now();
    const rows = traffic.rows(now);
    const seconds = Math.round(traffic.spanMs(now) / 1000);
    const title = `meshward top  ${target.url.origin}  last ${seconds} s  ${traffic.total} calls${dropped > 0 ? `  (${dropped} dropped: top fell behind)` : ''}  ${new Date(now).toLocaleTimeString(undefined, { hour12: false })}`;
    const table = rows.length === 0 ? ['(no calls yet)'] : renderTopTable(rows, io.colour);
    // In place on a terminal (home, clear below); one table after another otherwise.
    if (io.tty && !values.once) io.write(`\x1b[H\x1b[2J${title}\n\n${table.join('\n')}\n`);
    else io.write(`${title}\n${table.join('\n')}\n\n`);
  };
  const finish = (): void => {
    stoppedHere = true;
    clearInterval(timer);
    stop();
  };
  try {
    const stream = await followEvents(
      target,
      '/tap',
      { method: values.method, principal: values.principal },
      {
        onEvent(event, data) {
          if (event === 'message') traffic.add(JSON.parse(data) as TapEvent);
          else if (event === 'dropped') dropped = (JSON.parse(data) as { dropped: number }).dropped;
          else if (event === 'subscribed') {
            io.err(values.once ? `collecting calls for ${values.interval}…` : `following ${target.url.origin}; Ctrl-C to stop`);
            if (values.once) timer = setTimeout(() => (draw(), finish()), intervalMs);
            else {
              draw();
              timer = setInterval(draw, intervalMs);
            }
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
    clearInterval(timer);
    if (stoppedHere) return 0;
    io.err(`meshward top: ${describeError(err, target.url)}`);
    return 1;
  }
  clearInterval(timer);
  if (stoppedHere) return 0;
  io.err('meshward top: the sidecar closed the stream');
  return 1;
}
