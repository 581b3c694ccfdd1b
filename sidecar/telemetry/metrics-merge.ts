// One /metrics for a sidecar of several worker processes (app/primary.ts; control path, per
// scrape): the workers' Prometheus texts merged series by series. Counters and histograms are
// summed and never go backwards: an exited worker's last-seen counts are kept.

type Aggregation = 'sum' | 'min' | 'max';

interface Family {
  readonly name: string;
  help: string | undefined;
  type: string;
  /** Sample text before the value (`name{labels}`) → value, in first-seen order. */
  readonly samples: Map<string, number>;
}

/** A parsed exposition: families in order. */
export type Exposition = Map<string, Family>;

/**
 * Gauges are summed (memory, handles, queued spans: totals of the pod) unless they describe
 * one shared thing: the soonest certificate expiry, the store as seen by the worse worker,
 * the worst event-loop lag, the oldest start time.
 */
const GAUGES: Readonly<Record<string, Aggregation>> = {
  meshward_certificate_expiry_seconds: 'min',
  meshward_certificate_not_before_seconds: 'max',
  meshward_ratelimit_store_up: 'min',
  process_start_time_seconds: 'min',
  process_max_fds: 'min',
};

function aggregationOf(family: Family, sampleKey: string): Aggregation {
  switch (family.type) {
    case 'gauge':
      if (family.name.startsWith('nodejs_eventloop_lag') || family.name.endsWith('_info')) return 'max';
      return GAUGES[family.name] ?? 'sum';
    case 'summary':
      return sampleKey.includes('quantile="') ? 'max' : 'sum';
    default:
      return 'sum'; // counter, histogram, untyped
  }
}

/** Parses the text format 0.0.4 as prom-client and meshward write it (no timestamps). */
export function parseExposition(text: string): Exposition {
  const families: Exposition = new Map();
  let current: Family | undefined;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, help: undefined, type: 'untyped', samples: new Map() };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) continue;
      current = family(m[2]!);
      if (m[1] === 'HELP') current.help = m[3];
      else current.type = m[3]!;
      continue;
    }
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space);
    const name = /^[^{ ]+/.exec(key)![0];
    const f = current !== undefined && name.startsWith(current.name) ? current : family(name);
    f.samples.set(key, parseValue(line.slice(space + 1)));
  }
  return families;
}

function parseValue(raw: string): number {
  const v = raw.toLowerCase();
  if (v === '+inf' || v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return Number(raw);
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  // Sums of fractions (CPU seconds) would show float noise such as 0.30000000000000004.
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15)));
}

export class MetricsMerger {
  /** Each live worker's last answer, by worker number. */
  readonly #latest = new Map<number, Exposition>();
  /** Summed counts of workers that exited. */
  readonly #retired: Exposition = new Map();

  /** A worker's fresh /metrics text. */
  update(worker: number, text: string): void {
    this.#latest.set(worker, parseExposition(text));
  }

  /** The worker exited: its counters and histograms stay in the totals, its gauges leave. */
  retire(worker: number): void {
    const last = this.#latest.get(worker);
    this.#latest.delete(worker);
    if (last === undefined) return;
    for (const f of last.values()) {
      let into = this.#retired.get(f.name);
      for (const [key, value] of f.samples) {
        if (aggregationOf(f, key) !== 'sum' || f.type === 'gauge') continue;
        if (into === undefined) {
          into = { name: f.name, help: f.help, type: f.type, samples: new Map() };
          this.#retired.set(f.name, into);
        }
        into.samples.set(key, (into.samples.get(key) ?? 0) + value);
      }
    }
  }

  /** The sum of one counter's samples in a worker's last answer (e.g. its calls, for /workers). */
  total(worker: number, name: string): number {
    let sum = 0;
    for (const v of this.#latest.get(worker)?.get(name)?.samples.values() ?? []) sum += v;
    return sum;
  }

  /** The merged exposition text. */
  render(): string {
    const sources = [...this.#latest.values()];
    const order = new Map<string, Family[]>();
    for (const source of [this.#retired, ...sources]) {
      for (const f of source.values()) {
        const list = order.get(f.name);
        if (list === undefined) order.set(f.name, [f]);
        else list.push(f);
      }
    }
    let out = '';
    for (const [name, parts] of order) {
      const first = parts.find((p) => p.help !== undefined) ?? parts[0]!;
      if (first.help !== undefined) out += `# HELP ${name} ${first.help}\n`;
      out += `# TYPE ${name} ${first.type}\n`;
      const keys = new Set<string>();
      for (const p of parts) for (const k of p.samples.keys()) keys.add(k);
      for (const key of keys) {
        const agg = aggregationOf(first, key);
        let value: number | undefined;
        for (const p of parts) {
          const v = p.samples.get(key);
          if (v === undefined) continue;
          value = value === undefined ? v : agg === 'sum' ? value + v : agg === 'min' ? Math.min(value, v) : Math.max(value, v);
        }
        out += `${key} ${formatValue(value!)}\n`;
      }
    }
    return out;
  }
}
