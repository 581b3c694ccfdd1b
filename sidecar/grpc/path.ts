// Strict parsing of a gRPC :path (data path). Only the canonical form
// "/package.Service/Method" is accepted: no dot segments, %-encoding, query, fragment,
// empty parts or trailing slash. Anything else is never forwarded (DESIGN §5).

export interface GrpcMethod {
  /** "package.Service" */
  readonly service: string;
  /** "Method" */
  readonly method: string;
  /** "package.Service/Method", the name policies use. */
  readonly fullName: string;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const PATH_RE = new RegExp(`^/(${IDENT}(?:\\.${IDENT})*)/(${IDENT})$`);
const MAX_PATH = 1024;

// Paths repeat; a small bounded cache avoids re-running the regex per call.
const cache = new Map<string, GrpcMethod>();
const CACHE_MAX = 4096;

/**
 * The engine's one copy of `s` (V8 internalizes property keys): Map lookups by the method name
 * (policies, the catalog) then compare pointers instead of characters. Once per cached path.
 */
export function internString(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}

export function parseGrpcPath(path: string | undefined): GrpcMethod | undefined {
  if (path === undefined || path.length > MAX_PATH) return undefined;
  const hit = cache.get(path);
  if (hit !== undefined) return hit;
  const m = PATH_RE.exec(path);
  if (m === null) return undefined;
  const method: GrpcMethod = Object.freeze({ service: m[1]!, method: m[2]!, fullName: internString(path.slice(1)) });
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(path, method);
  return method;
}
