// Token buckets in plain numbers (data path, synchronous): refill by elapsed time, then take.
// Request buckets (memory-store rate limits) take one token; byte buckets (bandwidth) take a
// chunk's size and may go into debt. Time is passed in, so tests drive it.

/** Mutable state of one bucket. `last` is the time (ms) of the last refill. */
export interface Bucket {
  tokens: number;
  last: number;
}

export interface BucketShape {
  /** Tokens added per millisecond. */
  readonly ratePerMs: number;
  /** Most tokens the bucket holds (what an idle caller may spend at once). */
  readonly capacity: number;
}

// Refill arithmetic in floating point can land a hair under a whole token
// (0.1 + 0.2 style): a bucket that is "exactly 1" must allow the call.
const EPSILON = 1e-9;

export function fullBucket(shape: BucketShape, now: number): Bucket {
  return { tokens: shape.capacity, last: now };
}

function refill(b: Bucket, shape: BucketShape, now: number): number {
  const elapsed = now - b.last;
  let tokens = elapsed > 0 ? b.tokens + elapsed * shape.ratePerMs : b.tokens;
  if (tokens > shape.capacity) tokens = shape.capacity;
  b.tokens = tokens;
  if (elapsed > 0) b.last = now;
  return tokens;
}

/**
 * Takes one token (or `n`: a GraphQL cost budget takes the operation's cost). Returns 0 when taken, otherwise the ms until a token will be there
 * (the bucket is left as it was, refilled to `now`).
 */
export function takeToken(b: Bucket, shape: BucketShape, now: number, n = 1): number {
  const tokens = refill(b, shape, now);
  if (tokens >= n - EPSILON) {
    b.tokens = tokens - n;
    return 0;
  }
  return (n - tokens) / shape.ratePerMs;
}

/**
 * Takes at least `need` and up to `want` whole tokens (a worker's lease, token-broker.ts);
 * returns how many were taken, 0 when fewer than `need` are there (the bucket is left as it
 * was, refilled to `now`).
 */
export function takeTokens(b: Bucket, shape: BucketShape, need: number, want: number, now: number): number {
  const tokens = refill(b, shape, now);
  if (tokens < need - EPSILON) return 0;
  const n = Math.max(need, Math.min(want, Math.floor(tokens + EPSILON)));
  b.tokens = Math.max(0, tokens - n);
  return n;
}

/**
 * Takes `n` tokens even when that leaves the bucket in debt; returns the ms to wait until
 * the debt is repaid (0 = none). Callers that wait before passing the bytes on get the
 * configured rate in the long run, shared fairly in the order they asked.
 */
export function takeWithDebt(b: Bucket, shape: BucketShape, n: number, now: number): number {
  const tokens = refill(b, shape, now) - n;
  b.tokens = tokens;
  return tokens >= 0 ? 0 : -tokens / shape.ratePerMs;
}

/** A bucket that has refilled to capacity is the same as a new one: it can be forgotten. */
export function isFull(b: Bucket, shape: BucketShape, now: number): boolean {
  return b.tokens + Math.max(0, now - b.last) * shape.ratePerMs >= shape.capacity - EPSILON;
}
