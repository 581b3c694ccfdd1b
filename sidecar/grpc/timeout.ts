// grpc-timeout header: parse, cap and format (data path).
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md ("Timeout → ...").

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const TIMEOUT_RE = /^(\d{1,8})([HMSmun])$/;

/** Milliseconds, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TIMEOUT_RE.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** At most 8 digits, as the spec requires; rounds up so a deadline is never shortened to 0. */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 100_000_000) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 100_000_000) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}
