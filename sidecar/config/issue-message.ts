// Wording of config problems: the "what was expected" part of
// `FILE:LINE:COL: /path: what was expected`. CONTROL path.
// The location and path prefix are added by load.ts; this module only words the issue.
import * as z from 'zod';

/** Renders a config value the way a problem message quotes it (`got "strick"`, `got a list`). */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a map';
  return typeof v;
}

/** `expected WHAT, got VALUE`: the shape of almost every message. */
export function expected(what: string, got: unknown): string {
  return `expected ${what}, got ${describeValue(got)}`;
}

/**
 * A schema-level `error` option for fields with a custom format (durations, host:port, ...):
 * a missing key still reads "missing required key", anything else "expected WHAT, got ...".
 */
export function expecting(what: string): (iss: z.core.$ZodRawIssue) => string {
  return (iss) => (isMissing(iss) ? missingKey(iss.path) : expected(what, iss.input));
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
};

/** The parse-level error map: words every issue a schema did not word itself. */
export function issueMessage(iss: z.core.$ZodRawIssue): string {
  if (isMissing(iss)) return missingKey(iss.path);
  switch (iss.code) {
    case 'invalid_type':
      return expected(TYPE_NAMES[iss.expected] ?? iss.expected, iss.input);
    case 'invalid_value':
      return iss.values.length === 1
        ? expected(JSON.stringify(iss.values[0]), iss.input)
        : expected(`one of ${iss.values.map(String).join(', ')}`, iss.input);
    case 'too_small':
      return expected(boundText('at least', 'more than', iss.minimum, iss.inclusive, iss.origin), iss.input);
    case 'too_big':
      return expected(boundText('at most', 'less than', iss.maximum, iss.inclusive, iss.origin), iss.input);
    case 'unrecognized_keys':
      // One line per key, in `iss.keys` order: load.ts gives each key its own problem and location.
      return iss.keys.map((key) => unknownKeyMessage(key, knownKeysOf(iss.inst))).join('\n');
    case 'invalid_format':
      return expected(`a string in ${iss.format} format`, iss.input);
    default:
      return expected('a valid value', iss.input);
  }
}

/** A key the file does not have: the schema saw `undefined` where a value was required. */
function isMissing(iss: z.core.$ZodRawIssue): boolean {
  const typed = iss.code === 'invalid_type' || iss.code === 'invalid_value' || iss.code === 'invalid_union';
  return typed && iss.input === undefined;
}

function missingKey(path: readonly PropertyKey[] | undefined): string {
  const key = path?.[path.length - 1];
  return key === undefined ? 'missing value' : `missing required key ${JSON.stringify(String(key))}`;
}

function boundText(
  incl: string,
  excl: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
  origin: string,
): string {
  const rel = inclusive === false ? excl : incl;
  if (origin === 'string') return bound === 1 && rel === incl ? 'a non-empty string' : `${rel} ${bound} characters`;
  if (origin === 'array') return `${rel} ${bound} item${bound === 1 ? '' : 's'}`;
  return `${rel} ${bound}`;
}

function knownKeysOf(inst: unknown): readonly string[] {
  return inst instanceof z.ZodObject ? Object.keys(inst.shape) : [];
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const hint = didYouMean(key, known);
  return `unknown key ${JSON.stringify(key)}${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}`;
}

/** The closest known key within edit distance 2 (case-insensitive), if any. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance; inputs are config keys, so the O(n·m) table is tiny. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
