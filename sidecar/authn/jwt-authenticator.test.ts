import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeySet, JwksServer, type KeySet } from '../../integration/support/jwks-server.js';
import { JwtAuthenticator, type AuthnResult, type JwtAuthenticatorOptions, type JwtFailure, type ProviderConfig } from './jwt-authenticator.js';

// Token times use an injected clock (jose's `currentDate`); only JWKS cooldown and fetch
// timeouts, which jose times with Date.now and real timers, need real time.
const T0 = 1_900_000_000_000; // ms, in 2030
const ISS = 'https://idp.example.test';
const AUD = 'orders';

// RSA key generation takes ~0.3 s here: three key sets are made once, in parallel.
let idp: JwksServer; // shared; tests that change its mode or keys use their own server
let attacker: JwksServer; // serves the attacker's keys at the jku / x5u URLs
let spare: KeySet; // served by nobody: "another key", and the set rotated in

before(async () => {
  const [idpKeys, attackerKeys, spareKeys] = await Promise.all([createKeySet(), createKeySet(), createKeySet()]);
  [idp, attacker] = await Promise.all([JwksServer.start({ keys: idpKeys }), JwksServer.start({ keys: attackerKeys })]);
  spare = spareKeys;
});
after(async () => {
  await Promise.all([idp.close(), attacker.close()]);
});

/** A server of its own (same keys as idp unless given), closed after the test. */
async function serverFor(t: { after(fn: () => Promise<void>): void }, keys: KeySet = idp.keys): Promise<JwksServer> {
  const server = await JwksServer.start({ keys });
  t.after(() => server.close());
  return server;
}

function providerFor(server: JwksServer, over: Partial<ProviderConfig> = {}): ProviderConfig {
  return { name: 'corp', issuer: ISS, jwksUri: server.jwksUri, audiences: [AUD, 'billing'], algorithms: ['RS256', 'ES256'], clockTolerance: 30_000, ...over };
}

/** An authenticator on `server` with a settable clock; closed after the test. */
function authFor(
  t: { after(fn: () => void): void },
  server: JwksServer = idp,
  opts: JwtAuthenticatorOptions & { provider?: Partial<ProviderConfig> } = {},
) {
  const clock = { now: T0 };
  const auth = new JwtAuthenticator([providerFor(server, opts.provider)], { now: () => clock.now, ...opts });
  t.after(() => auth.close());
  return { auth, clock };
}

const claims = (over: Record<string, unknown> = {}) => ({ iss: ISS, aud: AUD, sub: 'alice', iat: T0 / 1000, exp: T0 / 1000 + 300, ...over });
const bearer = (token: string) => [`Bearer ${token}`];

async function expectOk(auth: JwtAuthenticator, token: string) {
  const r = await auth.authenticate(bearer(token));
  assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`);
  assert.ok(r.jwt);
  return r.jwt;
}

async function expectFailure(auth: JwtAuthenticator, headers: readonly string[], failure: JwtFailure): Promise<AuthnResult> {
  const r = await auth.authenticate(headers);
  assert.equal(r.ok, false, `expected ${failure}, got ok`);
  if (!r.ok) assert.equal(r.failure, failure, r.detail);
  return r;
}

test('valid RS256 and ES256 tokens verify; the result carries provider, subject, exp and a frozen payload', async (t) => {
  const { auth } = authFor(t);
  for (const alg of ['RS256', 'ES256'] as const) {
    const jwt = await expectOk(auth, await idp.sign(claims({ realm_access: { roles: ['admin'] } }), { alg }));
    assert.equal(jwt.provider, 'corp');
    assert.equal(jwt.subject, 'alice');
    assert.equal(jwt.expiresAt, T0 + 300_000);
    assert.ok(Object.isFrozen(jwt.payload) && Object.isFrozen(jwt.payload.realm_access));
  }
  assert.deepEqual(auth.providerNames, ['corp']);
});

test('no authorization header: ok without a jwt, synchronously', (t) => {
  const { auth } = authFor(t);
  assert.deepEqual(auth.authenticate([]), { ok: true, jwt: undefined });
});

test('alg none is refused as bad_algorithm, before any JWKS fetch', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server);
  for (const alg of ['none', 'None', 'NONE']) {
    await expectFailure(auth, bearer(await server.sign(claims(), { alg: 'none', header: { alg } })), 'bad_algorithm');
  }
  assert.equal(server.requests, 0);
});

test('HS256 signed with the RSA public key (key confusion) is refused as bad_algorithm', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server);
  await expectFailure(auth, bearer(await server.sign(claims(), { alg: 'HS256' })), 'bad_algorithm');
  assert.equal(server.requests, 0);
});

test('algorithms are pinned: an ES256 token for an RS256-only provider is bad_algorithm', async (t) => {
  const { auth } = authFor(t, idp, { provider: { algorithms: ['RS256'] } });
  await expectFailure(auth, bearer(await idp.sign(claims(), { alg: 'ES256' })), 'bad_algorithm');
  await expectOk(auth, await idp.sign(claims(), { alg: 'RS256' }));
});

test('a token signed by another key under a known kid is bad_signature', async (t) => {
  const { auth } = authFor(t);
  await expectFailure(auth, bearer(await idp.sign(claims(), { key: spare.RS256, kid: idp.keys.RS256.kid })), 'bad_signature');
  await expectFailure(auth, bearer(await idp.sign(claims(), { alg: 'ES256', key: spare.ES256, kid: idp.keys.ES256.kid })), 'bad_signature');
  const tampered = (await idp.sign(claims())).split('.');
  tampered[1] = Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url');
  await expectFailure(auth, bearer(tampered.join('.')), 'bad_signature');
});

test('expired and not-yet-valid tokens are refused', async (t) => {
  const { auth } = authFor(t);
  await expectFailure(auth, bearer(await idp.sign(claims({ exp: T0 / 1000 - 60 }))), 'expired');
  await expectFailure(auth, bearer(await idp.sign(claims({ nbf: T0 / 1000 + 120 }))), 'not_yet_valid');
});

test('clock tolerance is honoured in both directions, and only up to its size', async (t) => {
  const lenient = authFor(t).auth; // 30 s
  const strict = authFor(t, idp, { provider: { clockTolerance: 0 } }).auth;
  const lateExp = await idp.sign(claims({ exp: T0 / 1000 - 10 }));
  const earlyNbf = await idp.sign(claims({ nbf: T0 / 1000 + 10 }));
  await expectOk(lenient, lateExp);
  await expectOk(lenient, earlyNbf);
  await expectFailure(strict, bearer(lateExp), 'expired');
  await expectFailure(strict, bearer(earlyNbf), 'not_yet_valid');
  await expectFailure(lenient, bearer(await idp.sign(claims({ exp: T0 / 1000 - 31 }))), 'expired');
});

test('wrong or missing issuer is unknown_issuer, without fetching any JWKS', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server);
  await expectFailure(auth, bearer(await server.sign(claims({ iss: 'https://evil.example' }))), 'unknown_issuer');
  await expectFailure(auth, bearer(await server.sign(claims({ iss: undefined }))), 'unknown_issuer');
  await expectFailure(auth, bearer(await server.sign(claims({ iss: [ISS] }))), 'unknown_issuer');
  assert.equal(server.requests, 0);
});

test('wrong or missing audience is bad_audience; any configured audience matches', async (t) => {
  const { auth } = authFor(t);
  await expectFailure(auth, bearer(await idp.sign(claims({ aud: 'payments' }))), 'bad_audience');
  await expectFailure(auth, bearer(await idp.sign(claims({ aud: undefined }))), 'bad_audience');
  await expectOk(auth, await idp.sign(claims({ aud: ['payments', 'billing'] })));
});

test('a token without exp is missing_exp; a non-numeric exp is malformed', async (t) => {
  const { auth } = authFor(t);
  await expectFailure(auth, bearer(await idp.sign(claims({ exp: undefined }))), 'missing_exp');
  await expectFailure(auth, bearer(await idp.sign(claims({ exp: 'tomorrow' }))), 'malformed');
});

test('an unknown kid is unknown_kid; within the cooldown it does not refetch', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server);
  await expectOk(auth, await server.sign(claims()));
  assert.equal(server.requests, 1);
  await expectFailure(auth, bearer(await server.sign(claims(), { kid: 'nobody' })), 'unknown_kid');
  await expectFailure(auth, bearer(await server.sign(claims(), { kid: 'nobody-else' })), 'unknown_kid');
  assert.equal(server.requests, 1);
});

test('jku, x5u and an embedded jwk in the token header are never used', async (t) => {
  const { auth } = authFor(t);
  const evil = attacker.keys.RS256;
  const header = { jku: attacker.jwksUri, x5u: `${attacker.origin}/cert.pem`, jwk: evil.publicJwk };
  // The attacker's own kid: only the attacker's JWKS could resolve it.
  await expectFailure(auth, bearer(await attacker.sign(claims(), { header })), 'unknown_kid');
  // The provider's kid, signed with the attacker's key.
  await expectFailure(auth, bearer(await attacker.sign(claims(), { kid: idp.keys.RS256.kid, header })), 'bad_signature');
  assert.equal(attacker.requests, 0, 'the jku / x5u server was contacted');
});

test('JWKS down from the start: jwks_unavailable, fast', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server);
  const token = await server.sign(claims());
  await server.setMode({ kind: 'down' });
  const r = await expectFailure(auth, bearer(token), 'jwks_unavailable');
  assert.match((r as { detail: string }).detail, /ECONNREFUSED/);
  await server.setMode({ kind: 'normal' });
  await expectOk(auth, token); // recovers: a failed fetch is not cached
});

test('unknown kid while the JWKS is unreachable fails closed; cached tokens keep working', async (t) => {
  const server = await serverFor(t);
  const eager = authFor(t, server, { cooldownMs: 0 }).auth; // refetches on every unknown kid
  const patient = authFor(t, server).auth; // 30 s cooldown
  const good = await server.sign(claims());
  await expectOk(eager, good);
  await expectOk(patient, good);
  await server.setMode({ kind: 'down' });
  const stranger = bearer(await server.sign(claims(), { kid: 'rotated-in' }));
  await expectFailure(eager, stranger, 'jwks_unavailable');
  await expectFailure(patient, stranger, 'unknown_kid');
  const cached = eager.authenticate(bearer(good));
  assert.ok(!(cached instanceof Promise) && cached.ok);
});

test('a JWKS slower than the fetch timeout fails closed within the timeout', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server, { fetchTimeoutMs: 150 });
  await server.setMode({ kind: 'slow', delayMs: 5000 });
  const started = performance.now();
  await expectFailure(auth, bearer(await server.sign(claims())), 'jwks_unavailable');
  const took = performance.now() - started;
  assert.ok(took >= 140 && took < 1000, `took ${took} ms`);
  await server.setMode({ kind: 'slow', delayMs: 20 });
  await expectOk(auth, await server.sign(claims()));
});

test('a garbage JWKS (not JSON, not a key set, HTTP 500, oversized) is jwks_unavailable', async (t) => {
  const server = await serverFor(t);
  const token = await server.sign(claims());
  for (const body of ['not-json', 'not-a-jwks', 'http-500', 'oversized'] as const) {
    await server.setMode({ kind: 'garbage', body });
    const { auth } = authFor(t, server, { jwksMaxBytes: 64 * 1024 });
    const r = await expectFailure(auth, bearer(token), 'jwks_unavailable');
    if (body === 'oversized') assert.match((r as { detail: string }).detail, /exceeds 65536/);
  }
});

test('key rotation: a new kid is picked up by a refetch once the cooldown has passed', async (t) => {
  const server = await serverFor(t);
  const cooldownMs = 300;
  const { auth } = authFor(t, server, { cooldownMs });
  await expectOk(auth, await server.sign(claims()));
  const fetchedAt = performance.now();
  await server.rotate(spare);
  const rotated = await server.sign(claims({ jti: 'after-rotation' }), { alg: 'ES256' });
  await expectFailure(auth, bearer(rotated), 'unknown_kid');
  assert.ok(performance.now() - fetchedAt < cooldownMs, 'test too slow to observe the cooldown');
  assert.equal(server.requests, 1);
  await sleep(cooldownMs + 20 - (performance.now() - fetchedAt));
  const jwt = await expectOk(auth, rotated);
  assert.equal(jwt.payload.jti, 'after-rotation');
  assert.equal(server.requests, 2);
});

test('during a rotation, a token without kid is checked against every key of its type', async (t) => {
  const server = await serverFor(t);
  const old = server.keys;
  await server.rotate(spare, { keepOld: true }); // two RSA keys served
  const { auth } = authFor(t, server);
  await expectOk(auth, await server.sign(claims(), { kid: null, key: old.RS256 }));
  await expectOk(auth, await server.sign(claims({ jti: '2' }), { kid: null }));
  await expectFailure(auth, bearer(await server.sign(claims(), { kid: null, key: attacker.keys.RS256 })), 'bad_signature');
});

test('a cached token answers synchronously, without a fetch, even with the JWKS down', async (t) => {
  const server = await serverFor(t);
  const { auth } = authFor(t, server);
  const token = await server.sign(claims());
  const first = auth.authenticate(bearer(token));
  assert.ok(first instanceof Promise);
  const verified = await first;
  await server.setMode({ kind: 'down' });
  const again = auth.authenticate([`bearer   ${token}`]);
  assert.ok(!(again instanceof Promise), 'cache hit returned a Promise');
  assert.equal(again, verified);
  assert.equal(server.requests, 1);
  // Same signature (the cache key's suffix), another payload: not a hit, and refused.
  const parts = token.split('.');
  parts[1] = Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url');
  const forged = auth.authenticate(bearer(parts.join('.')));
  assert.ok(forged instanceof Promise, 'a forged token hit the cache');
  assert.equal(((await forged) as { failure?: string }).failure, 'bad_signature');
});

test('a cached token is refused once expired (exp + tolerance), synchronously', async (t) => {
  const { auth, clock } = authFor(t);
  const token = await idp.sign(claims({ exp: T0 / 1000 + 60 }));
  await expectOk(auth, token);
  clock.now = T0 + 60_000 + 29_999;
  assert.equal((auth.authenticate(bearer(token)) as AuthnResult).ok, true);
  clock.now = T0 + 60_000 + 30_000;
  const r = auth.authenticate(bearer(token));
  assert.ok(!(r instanceof Promise));
  assert.equal(r.ok ? 'ok' : r.failure, 'expired');
  await expectFailure(auth, bearer(token), 'expired'); // and stays refused (jose agrees)
});

test('a cached token is verified again after cacheMaxAge (a key may have been withdrawn)', async (t) => {
  const { auth, clock } = authFor(t, idp, { cacheMaxAgeMs: 60_000 });
  const token = await idp.sign(claims());
  await expectOk(auth, token);
  clock.now = T0 + 59_000;
  assert.ok(!(auth.authenticate(bearer(token)) instanceof Promise));
  clock.now = T0 + 61_000;
  const r = auth.authenticate(bearer(token));
  assert.ok(r instanceof Promise);
  assert.ok((await r).ok);
});

test('the token cache is bounded; a token hit since the last sweep outlives a cold one; failures are not cached', async (t) => {
  const { auth } = authFor(t, idp, { tokenCacheSize: 2 });
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => idp.sign(claims({ sub }))));
  await expectOk(auth, a!);
  await expectOk(auth, b!);
  assert.ok(!(auth.authenticate(bearer(a!)) instanceof Promise)); // a is marked as used
  await expectOk(auth, c!); // evicts b
  assert.ok(!(auth.authenticate(bearer(a!)) instanceof Promise));
  assert.ok(auth.authenticate(bearer(b!)) instanceof Promise);
  const expired = await idp.sign(claims({ exp: T0 / 1000 - 3600 }));
  await expectFailure(auth, bearer(expired), 'expired');
  assert.ok(auth.authenticate(bearer(expired)) instanceof Promise);
});

test('concurrent calls with the same new token share one verification', async (t) => {
  const { auth } = authFor(t);
  const token = await idp.sign(claims({ jti: 'shared' }));
  const p1 = auth.authenticate(bearer(token));
  const p2 = auth.authenticate(bearer(token));
  assert.equal(p1, p2);
  assert.ok((await p1).ok);
});

test('header shapes: duplicate, not Bearer, empty, oversized, not a compact JWS', async (t) => {
  const { auth } = authFor(t);
  const token = await idp.sign(claims());
  const sync = (headers: readonly string[], failure: JwtFailure) => {
    const r = auth.authenticate(headers);
    assert.ok(!(r instanceof Promise), `${headers.join(',').slice(0, 40)}: returned a Promise`);
    assert.equal(r.ok ? 'ok' : r.failure, failure);
  };
  sync([`Bearer ${token}`, `Bearer ${token}`], 'duplicate_header');
  sync([`Bearer ${token}`, 'Basic Zm9vOmJhcg=='], 'duplicate_header');
  sync(['Basic Zm9vOmJhcg=='], 'not_bearer');
  sync([`Bearerx ${token}`], 'not_bearer');
  sync([`Token ${token}`], 'not_bearer');
  sync([''], 'not_bearer');
  sync(['Bearer'], 'malformed');
  sync(['Bearer   '], 'malformed');
  sync(['Bearer a.b'], 'malformed');
  sync(['Bearer a.b.c.d.e'], 'malformed'); // a JWE
  sync([`Bearer ${token} `], 'malformed');
  sync([`Bearer ${'a'.repeat(8193)}`], 'too_large');
  await expectFailure(auth, ['Bearer e30.bm90IGpzb24.c2ln'], 'malformed'); // payload not JSON
  const upper = await auth.authenticate([`BEARER ${token}`]); // scheme in any case, uncached
  assert.ok(upper.ok, JSON.stringify(upper));
});

test('close() aborts a fetch in flight and later calls fail closed', async (t) => {
  const server = await serverFor(t);
  const auth = new JwtAuthenticator([providerFor(server)], { now: () => T0 });
  await server.setMode({ kind: 'slow', delayMs: 5000 });
  const started = performance.now();
  const pending = auth.authenticate(bearer(await server.sign(claims())));
  await sleep(20);
  auth.close();
  const r = await pending;
  assert.equal(r.ok ? 'ok' : r.failure, 'jwks_unavailable');
  assert.ok(performance.now() - started < 1000);
  assert.equal((auth.authenticate(bearer('a.b.c')) as AuthnResult).ok, false);
});

test('two providers with the same issuer are refused; tokens route by iss', async (t) => {
  assert.throws(
    () => new JwtAuthenticator([providerFor(idp), providerFor(idp, { name: 'other' })]),
    /"corp" and "other" have the same issuer/,
  );
  const partnerIdp = await serverFor(t, spare);
  const auth = new JwtAuthenticator(
    [providerFor(partnerIdp, { name: 'partner', issuer: 'https://partner.example' }), providerFor(idp)],
    { now: () => T0 },
  );
  t.after(() => auth.close());
  assert.equal((await expectOk(auth, await idp.sign(claims()))).provider, 'corp');
  const partner = await partnerIdp.sign(claims({ iss: 'https://partner.example' }));
  assert.equal((await expectOk(auth, partner)).provider, 'partner');
  // iss says corp, signed with partner's key under partner's kid: corp's JWKS does not know it.
  await expectFailure(auth, bearer(await partnerIdp.sign(claims())), 'unknown_kid');
});
