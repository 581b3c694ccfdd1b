import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { JwksServer } from '../../integration/support/jwks-server.js';
import { JwtAuthenticator, type ProviderConfig } from '../authn/jwt-authenticator.js';
import { runChain } from '../core/chain.js';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import { headersOf } from '../pipeline/call.test-helper.js';
import type { CallFilter as Filter } from '../pipeline/pipeline.js';
import { jwtAuthnFilter, jwtAuthnFilterFor } from './jwt-authn-filter.js';

type CallContext = Call;

const T0 = 1_900_000_000_000;
const ISS = 'https://idp.example.test';
let idp: JwksServer;
let provider: ProviderConfig;

before(async () => {
  idp = await JwksServer.start();
  provider = { name: 'corp', issuer: ISS, jwksUri: idp.jwksUri, audiences: ['orders'], algorithms: ['RS256', 'ES256'], clockTolerance: 0 };
});
after(() => idp.close());

const claims = (over: Record<string, unknown> = {}) => ({ iss: ISS, aud: 'orders', sub: 'alice', exp: T0 / 1000 + 300, ...over });

/** A call as the pipeline builds it, for the fields this filter reads. */
function call(rawHeaders: string[]): CallContext {
  return { headers: headersOf(rawHeaders), jwt: undefined } as unknown as CallContext;
}

function filterFor(t: { after(fn: () => void): void }): Filter {
  const auth = new JwtAuthenticator([provider], { now: () => T0 });
  t.after(() => auth.close());
  return jwtAuthnFilter(auth);
}

test('no authorization header: continues synchronously without reading rawHeaders', (t) => {
  const filter = filterFor(t);
  const headers = { get: () => undefined, get pairs(): never { throw new Error('rawHeaders read') } };
  const ctx = { headers, jwt: undefined } as unknown as CallContext;
  assert.equal(filter.apply(ctx), undefined);
  assert.equal(ctx.jwt, undefined);
});

test('a valid token sets ctx.jwt; the next call with it is synchronous', async (t) => {
  const filter = filterFor(t);
  const token = await idp.sign(claims());
  const first = call([':path', '/a.B/C', 'authorization', `Bearer ${token}`]);
  const pending = filter.apply(first);
  assert.ok(pending instanceof Promise);
  assert.equal(await pending, undefined);
  assert.equal(first.jwt?.subject, 'alice');
  assert.equal(first.jwt?.provider, 'corp');
  const second = call(['authorization', `Bearer ${token}`]);
  assert.equal(filter.apply(second), undefined);
  assert.equal(second.jwt, first.jwt);
});

test('a bad token is UNAUTHENTICATED with reason jwt_<failure>, and no ctx.jwt', async (t) => {
  const filter = filterFor(t);
  const ctx = call(['authorization', `Bearer ${await idp.sign(claims({ exp: T0 / 1000 - 1 }))}`]);
  const r = (await filter.apply(ctx)) as Rejection;
  assert.equal(r.code, RejectCode.UNAUTHENTICATED);
  assert.equal(r.reason, 'jwt_expired');
  assert.match(r.detail ?? '', /^provider corp: /);
  assert.equal(ctx.jwt, undefined);
  const basic = filter.apply(call(['authorization', 'Basic Zm9vOmJhcg==']));
  assert.equal((basic as Rejection).reason, 'jwt_not_bearer');
});

test('duplicate authorization headers are refused, whatever the name case (HTTP/1.1 keeps it)', async (t) => {
  const filter = filterFor(t);
  const token = await idp.sign(claims());
  for (const second of ['authorization', 'Authorization']) {
    const r = filter.apply(call(['Authorization', `Bearer ${token}`, 'x-other', '1', second, `Bearer ${token}`]));
    assert.ok(!(r instanceof Promise));
    assert.equal(r?.code, RejectCode.UNAUTHENTICATED);
    assert.equal(r?.reason, 'jwt_duplicate_header');
  }
});

test('in the chain: a rejection stops it, a success continues to the next filter', async (t) => {
  const filter = filterFor(t);
  const seen: string[] = [];
  const next: Filter = { name: 'next', apply: (ctx) => void seen.push(ctx.jwt?.subject ?? '-') };
  assert.equal(await runChain([filter, next], call(['authorization', `Bearer ${await idp.sign(claims({ sub: 'bob' }))}`])), undefined);
  assert.equal((await runChain([filter, next], call(['authorization', 'Bearer x.y.z'])))?.reason, 'jwt_malformed');
  assert.equal(runChain([filter, next], call([])), undefined);
  assert.deepEqual(seen, ['bob', '-']);
});

test('jwtAuthnFilterFor: with providers it verifies; without, only duplicates are refused', async (t) => {
  const token = await idp.sign(claims());
  const withProviders = jwtAuthnFilterFor([provider], { now: () => T0 });
  t.after(() => withProviders.close());
  const ctx = call(['authorization', `Bearer ${token}`]);
  assert.equal(await withProviders.filter.apply(ctx), undefined);
  assert.equal(ctx.jwt?.subject, 'alice');

  const none = jwtAuthnFilterFor([]);
  const passThrough = call(['authorization', 'Basic Zm9vOmJhcg==']);
  assert.equal(none.filter.apply(passThrough), undefined);
  assert.equal(passThrough.jwt, undefined);
  assert.equal(none.filter.apply(call([])), undefined);
  const dup = none.filter.apply(call(['authorization', 'a', 'authorization', 'b']));
  assert.equal((dup as Rejection).reason, 'jwt_duplicate_header');
  none.close();
});
