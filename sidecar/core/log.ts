// Operational log: one JSON line per event on stderr (stdout belongs to the audit log
// when `audit.file` is "-"). Used on the control path and for rare data-path events.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = order[(process.env.MESHWARD_LOG_LEVEL as LogLevel) ?? 'info'] ?? order.info;

export function setLogLevel(level: LogLevel): void {
  threshold = order[level];
}

/** Fields added to every record of this process (a worker's number, main.ts). */
let processFields: Record<string, unknown> = {};
export function setLogFields(fields: Record<string, unknown>): void {
  processFields = fields;
}

function write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (order[level] < threshold) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...processFields, ...fields });
  process.stderr.write(line + '\n');
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
