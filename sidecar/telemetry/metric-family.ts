// Labelled Prometheus metrics for the data path: a cell is found by one Map lookup per label
// value and updated in place; the text format is built only per scrape (control path).
// Hand-written because prom-client's labelled inc + observe cost ~5x more (BENCHMARKS.md).

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface CounterCell {
  value: number;
}

export interface HistogramCell {
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly buckets: Float64Array;
}

type Node<C> = Map<string, Node<C> | C>;

function child<C>(node: Node<C>, key: string): Node<C> {
  let next = node.get(key) as Node<C> | undefined;
  if (next === undefined) {
    next = new Map();
    node.set(key, next);
  }
  return next;
}

export class MetricFamily<C> {
  readonly #root: Node<C> = new Map();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    private readonly make: () => C,
  ) {}

  /** The cell for these label values (one per label name), created on first use. */
  get(values: readonly string[]): C {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values`);
    return this.leaf(this.#root, values, 0);
  }

  /** `get([a])` without the array, for single-label families on the data path. */
  get1(a: string): C {
    let cell = this.#root.get(a) as C | undefined;
    if (cell === undefined) {
      if (this.labelNames.length !== 1) throw new Error(`${this.name}: get1 needs exactly 1 label`);
      cell = this.make();
      this.#root.set(a, cell);
    }
    return cell;
  }

  /** `get([a, b])` without the array. */
  get2(a: string, b: string): C {
    const node = child(this.#root, a);
    let cell = node.get(b) as C | undefined;
    if (cell === undefined) {
      if (this.labelNames.length !== 2) throw new Error(`${this.name}: get2 needs exactly 2 labels`);
      cell = this.make();
      node.set(b, cell);
    }
    return cell;
  }

  /** A view with the first label values fixed, for a hot path whose first labels never change. */
  with(...fixed: string[]): MetricView<C> {
    let node = this.#root;
    for (const v of fixed) node = child(node, v);
    return new MetricView(this, node, fixed.length);
  }

  /** @internal */
  leaf(node: Node<C>, values: readonly string[], from: number): C {
    for (let i = from; i < values.length - 1; i++) node = child(node, values[i]!);
    const last = values[values.length - 1]!;
    let cell = node.get(last) as C | undefined;
    if (cell === undefined) {
      cell = this.make();
      node.set(last, cell);
    }
    return cell;
  }

  /** Every cell with its label values, in creation order. */
  *cells(): Generator<[readonly string[], C]> {
    const depth = this.labelNames.length;
    const values: string[] = [];
    function* walk(node: Node<C>, level: number): Generator<[readonly string[], C]> {
      for (const [key, next] of node) {
        values[level] = key;
        if (level === depth - 1) yield [values.slice(), next as C];
        else yield* walk(next as Node<C>, level + 1);
      }
    }
    if (depth > 0) yield* walk(this.#root, 0);
  }
}

/** Cells of a family under fixed leading label values; three-label lookups without arrays. */
export class MetricView<C> {
  constructor(
    private readonly family: MetricFamily<C>,
    private readonly node: Node<C>,
    private readonly fixed: number,
  ) {}

  get3(a: string, b: string, c: string): C {
    let cell = child(child(this.node, a), b).get(c) as C | undefined;
    if (cell === undefined) {
      if (this.family.labelNames.length - this.fixed !== 3) throw new Error(`${this.family.name}: get3 needs exactly 3 free labels`);
      cell = this.family.leaf(this.node, [a, b, c], 0);
    }
    return cell;
  }
}

export const counterCell = (): CounterCell => ({ value: 0 });

export function histogramCell(bounds: readonly number[]): () => HistogramCell {
  return () => ({ count: 0, sum: 0, buckets: new Float64Array(bounds.length + 1) });
}

/** Adds one observation (seconds) to a histogram cell with these upper bounds. */
export function observe(cell: HistogramCell, bounds: readonly number[], value: number): void {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  cell.buckets[i]!++;
  cell.count++;
  cell.sum += value;
}

// Exposition format 0.0.4: label values escape backslash, double quote and newline.
export function escapeLabel(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

function formatNumber(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return Number.isNaN(n) ? 'NaN' : String(n);
}

export function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function header(name: string, help: string, type: MetricType): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** A counter or gauge family in the text format. */
export function renderCounterFamily(family: MetricFamily<CounterCell>): string {
  let out = header(family.name, family.help, family.type);
  for (const [values, cell] of family.cells()) out += `${family.name}${labelText(family.labelNames, values)} ${formatNumber(cell.value)}\n`;
  return out;
}

/** A histogram family: cumulative `_bucket` series, `_sum` and `_count`. */
export function renderHistogramFamily(family: MetricFamily<HistogramCell>, bounds: readonly number[]): string {
  let out = header(family.name, family.help, 'histogram');
  for (const [values, cell] of family.cells()) {
    let cumulative = 0;
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += cell.buckets[i]!;
      const le = i < bounds.length ? formatNumber(bounds[i]!) : '+Inf';
      out += `${family.name}_bucket${labelText(family.labelNames, values, `le="${le}"`)} ${cumulative}\n`;
    }
    out += `${family.name}_sum${labelText(family.labelNames, values)} ${formatNumber(cell.sum)}\n`;
    out += `${family.name}_count${labelText(family.labelNames, values)} ${cell.count}\n`;
  }
  return out;
}

/** One unlabelled sample (a gauge read at scrape time, a counter kept elsewhere). */
export function renderSingle(name: string, help: string, type: MetricType, value: number, labels = ''): string {
  return `${header(name, help, type)}${name}${labels} ${formatNumber(value)}\n`;
}
