// JWT check cost (data path), in µs per check: the filter without a token, a cached token
// (synchronous hit), and a full verification (RS256, ES256; JWKS already fetched) next to
// its direct path, jose's jwtVerify with the key in hand, as a ratio.
// Run: node --import tsx bench/jwt-check.bench.ts

import { jwtVerify } from 'jose';
import type { Call as CallContext } from '../sidecar/pipeline/call.js';
import { headersOf } from '../sidecar/pipeline/call.test-helper.js';
import { JwtAuthenticator, type ProviderConfig } from '../sidecar/authn/jwt-authenticator.js';
import { jwtAuthnFilter } from '../sidecar/filters/jwt-authn-filter.js';
import { JwksServer, type KeyAlg } from '../integration/support/jwks-server.js';

const CACHED_ITERATIONS = 1_000_000;
const UNCACHED_TOKENS = 2_000;
const ISS = 'https://idp.example.test';

const idp = await JwksServer.start();
const provider: ProviderConfig = {
  name: 'corp', issuer: ISS, jwksUri: idp.jwksUri, audiences: ['orders'], algorithms: ['RS256', 'ES256'], clockTolerance: 30_000,
};
const auth = new JwtAuthenticator([provider], { tokenCacheSize: 10_000 });
const exp = Math.floor(Date.now() / 1000) + 3600;
const claims = (jti: string) => ({ iss: ISS, aud: 'orders', sub: 'alice', exp, jti, scope: 'orders:read orders:write' });

/** Best of `rounds` runs of `fn` over `n` iterations, in µs per iteration. */
function timeSync(n: number, rounds: number, fn: () => unknown): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  return best;
}

/**
 * µs per token for `a` and `b` over the same tokens, in alternating blocks of 100 (order
 * swapped every block) so that load drift on a shared machine hits both alike.
 */
async function timePair(tokens: readonly string[], a: (t: string) => Promise<unknown>, b: (t: string) => Promise<unknown>) {
  const total = [0, 0];
  for (let i = 0; i < tokens.length; i += 100) {
    const block = tokens.slice(i, i + 100);
    const order = (i / 100) % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const fn = which === 0 ? a : b;
      const t = performance.now();
      for (const token of block) await fn(token);
      total[which]! += performance.now() - t;
    }
  }
  return total.map((ms) => (ms * 1000) / tokens.length) as [number, number];
}

const ctxWith = (rawHeaders: string[]): CallContext => ({ headers: headersOf(rawHeaders), jwt: undefined }) as unknown as CallContext;

const rows: [string, number, string][] = [];

// --- cached (synchronous hit) ---
const token = await idp.sign(claims('cached'));
const header = [`Bearer ${token}`];
const warm = await auth.authenticate(header);
if (!warm.ok) throw new Error(`warm-up failed: ${warm.detail}`);
if (auth.authenticate(header) instanceof Promise) throw new Error('cache hit returned a Promise');
const filter = jwtAuthnFilter(auth);
const rawHeaders = [':method', 'POST', ':path', '/shop.v1.Orders/GetOrder', 'content-type', 'application/grpc', 'te', 'trailers', 'authorization', `Bearer ${token}`];
const ctxToken = ctxWith(rawHeaders);
const ctxNone = ctxWith(rawHeaders.slice(0, 8));

const noToken = timeSync(CACHED_ITERATIONS, 3, () => filter.apply(ctxNone));
const hitAuth = timeSync(CACHED_ITERATIONS, 3, () => auth.authenticate(header));
const hitFilter = timeSync(CACHED_ITERATIONS, 3, () => filter.apply(ctxToken));
rows.push(['filter, no authorization header', noToken, '']);
rows.push(['authenticate, cached token (sync hit)', hitAuth, '']);
rows.push(['filter, cached token (sync hit)', hitFilter, '']);

// --- uncached (full verification; JWKS already fetched) ---
for (const alg of ['RS256', 'ES256'] as KeyAlg[]) {
  const tokens = await Promise.all(Array.from({ length: UNCACHED_TOKENS }, (_, i) => idp.sign(claims(`${alg}-${i}`), { alg })));
  const key = idp.keys[alg].publicKey;
  const options = { algorithms: [alg], issuer: ISS, audience: ['orders'], clockTolerance: 30, requiredClaims: ['exp'] };
  const [direct, viaAuth] = await timePair(
    tokens,
    (t) => jwtVerify(t, key, options),
    async (t) => {
      const r = await auth.authenticate([`Bearer ${t}`]);
      if (!r.ok) throw new Error(`${alg}: ${r.failure} ${r.detail}`);
    },
  );
  rows.push([`jose jwtVerify with the key, ${alg}`, direct, '']);
  rows.push([`authenticate, uncached ${alg}`, viaAuth, `${(viaAuth / direct).toFixed(2)}× direct jwtVerify`]);
}

auth.close();
await idp.close();

console.log(`node ${process.version}; cached: best of 3 × ${CACHED_ITERATIONS.toLocaleString('en')}; uncached: ${UNCACHED_TOKENS} distinct tokens each`);
for (const [name, us, note] of rows) console.log(`${name.padEnd(42)} ${us.toFixed(3).padStart(9)} µs/check  ${note}`);
