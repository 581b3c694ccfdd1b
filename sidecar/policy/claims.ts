// JWT claim conditions compiled to closures (DESIGN §4 "Claims"). Built on the CONTROL
// path; the closures run on the DATA path and do not allocate.
import type { CompiledClaim } from './model.js';

type Payload = Readonly<Record<string, unknown>>;

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `path` is dotted (`realm_access.roles`); `expected` is one value or a list (any matches).
 * A string claim matches an equal string; an array claim matches by membership; the
 * `scope` / `scp` claim, when a string, matches one space-separated item.
 */
export function compileClaim(path: string, expected: string | readonly string[]): CompiledClaim {
  const values = Object.freeze(typeof expected === 'string' ? [expected] : [...expected]);
  const scope = path === 'scope' || path === 'scp';
  const read = compileRead(path);
  const matches = compileMatch(values, scope);
  return Object.freeze({ path, expected: values, scope, read, matches, test: (payload: Payload) => matches(read(payload)) });
}

/**
 * A reader for a dotted path. A key that itself contains the dots (namespaced claims such
 * as `https://example.com/roles`) is tried first, then the nested path.
 */
function compileRead(path: string): (payload: Payload) => unknown {
  const segments = path.split('.');
  if (segments.length === 1) return (payload) => (hasOwn.call(payload, path) ? payload[path] : undefined);
  return (payload) => {
    if (hasOwn.call(payload, path)) return payload[path];
    let node: unknown = payload;
    for (let i = 0; i < segments.length; i++) {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
      const key = segments[i]!;
      if (!hasOwn.call(node, key)) return undefined;
      node = (node as Payload)[key];
    }
    return node;
  };
}

function compileMatch(values: readonly string[], scope: boolean): (value: unknown) => boolean {
  const one = values.length === 1 ? values[0]! : undefined;
  const isExpected = one !== undefined ? (v: unknown) => v === one : (v: unknown) => includes(values, v);
  return (value) => {
    if (typeof value === 'string') {
      if (!scope) return isExpected(value);
      for (let i = 0; i < values.length; i++) if (hasSpaceItem(value, values[i]!)) return true;
      return false;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (isExpected(value[i])) return true;
    }
    return false;
  };
}

function includes(values: readonly string[], v: unknown): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === v) return true;
  return false;
}

/** Whether `item` is one of the space-separated items of `list` (RFC 6749 §3.3), without splitting. */
export function hasSpaceItem(list: string, item: string): boolean {
  if (item.length === 0) return false;
  let at = list.indexOf(item);
  while (at !== -1) {
    const end = at + item.length;
    if ((at === 0 || list.charCodeAt(at - 1) === 32) && (end === list.length || list.charCodeAt(end) === 32)) return true;
    at = list.indexOf(item, at + 1);
  }
  return false;
}
