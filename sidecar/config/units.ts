// Parsers for the units written in config files: durations and byte sizes.
// CONTROL path (config loading); pure functions, no I/O.

const MS_PER_UNIT = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type DurationUnit = keyof typeof MS_PER_UNIT;
const UNIT_ORDER: readonly DurationUnit[] = ['h', 'm', 's', 'ms'];

/**
 * Parses a duration into milliseconds, or returns undefined if `s` is not one.
 *
 * Grammar (as Prometheus durations, restricted to what a sidecar needs): one or more
 * `<integer><unit>` parts, units `h`, `m`, `s`, `ms`, each at most once and largest
 * first: `250ms`, `5s`, `1m`, `1h`, `1m30s`, `1h0m0s`, `0s`. No sign, spaces or
 * fractions (write `1s500ms`, not `1.5s`), and no bare numbers: `"5"` could mean
 * seconds or milliseconds, so it is refused. The result is a safe integer.
 */
export function parseDuration(s: string): number | undefined {
  const part = /(\d+)(ms|h|m|s)/y;
  let total = 0;
  let lastRank = -1;
  let at = 0;
  while (at < s.length) {
    part.lastIndex = at;
    const m = part.exec(s);
    if (m === null) return undefined;
    const unit = m[2] as DurationUnit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) return undefined; // repeated or out of order: "1s1s", "1s1m"
    lastRank = rank;
    total += Number(m[1]) * MS_PER_UNIT[unit];
    at = part.lastIndex;
  }
  if (lastRank < 0 || !Number.isSafeInteger(total)) return undefined;
  return total;
}

const DAY_MS = 86_400_000;

/**
 * Writes milliseconds as the config grammar above reads them (with `days`, as long durations
 * read them: `30d`, `1d12h`), largest units first and
 * zero parts left out: 1000 → `1s`, 90000 → `1m30s`, 1500 → `1s500ms`, 0 → `0s`.
 * `parseDuration(formatDuration(ms)) === ms` for every non-negative safe integer.
 */
export function formatDuration(ms: number, opts: { days?: boolean } = {}): string {
  if (ms === 0) return '0s';
  let left = ms;
  let out = '';
  if (opts.days === true && left >= DAY_MS) {
    out += `${Math.floor(left / DAY_MS)}d`;
    left %= DAY_MS;
    if (left === 0) return out;
  }
  for (const unit of UNIT_ORDER) {
    const n = Math.floor(left / MS_PER_UNIT[unit]);
    if (n > 0) out += `${n}${unit}`;
    left -= n * MS_PER_UNIT[unit];
  }
  return out;
}

const BYTES_PER_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 1024,
  KiB: 1024,
  Mi: 1024 ** 2,
  MiB: 1024 ** 2,
  Gi: 1024 ** 3,
  GiB: 1024 ** 3,
};

/**
 * Parses a byte size into a number of bytes, or returns undefined if `v` is not one.
 *
 * Accepted: a non-negative integer (`65536`, or the string `"65536"`), or an integer
 * with a binary (IEC) suffix: `Ki`/`KiB` = 1024, `Mi`/`MiB` = 1024², `Gi`/`GiB` = 1024³
 * (`"64Ki"` = 65536, `"4Mi"` = 4194304). Decimal suffixes (`k`, `KB`, `MB`, `M`, ...)
 * are refused on purpose: whether `1MB` means 10⁶ or 2²⁰ bytes differs between tools,
 * and a limit should not depend on the reader's guess. No fractions, signs or spaces.
 */
export function parseByteSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  const m = /^(\d+)([KMG]iB?)?$/.exec(v);
  if (m === null) return undefined;
  const factor = BYTES_PER_SUFFIX[m[2] ?? ''];
  if (factor === undefined) return undefined;
  const bytes = Number(m[1]) * factor;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
