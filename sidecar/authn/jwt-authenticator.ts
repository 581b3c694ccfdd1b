// JWT bearer authentication (data path; the JWKS fetch behind it is control-path I/O):
// takes the `authorization` values of a call, picks the provider by the token's `iss`, and
// verifies it with jose against the provider's remote JWKS. Verified tokens are cached, so a
// repeated token answers synchronously; only a cache miss returns a Promise.

import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { SidecarConfig } from '../config/schema.js';
import { boundedJwksFetch } from './jwks-fetch.js';
import { describeError, failureOf, JwksUnavailableError, type JwtFailure } from './jwt-failure.js';
import { TokenCache } from './token-cache.js';
import type { VerifiedJwt } from './verified-jwt.js';

export type { JwtFailure } from './jwt-failure.js';

export type ProviderConfig = SidecarConfig['jwt']['providers'][number];

export type AuthnResult =
  | { readonly ok: true; readonly jwt: VerifiedJwt | undefined }
  | { readonly ok: false; readonly failure: JwtFailure; readonly provider: string | undefined; readonly detail: string };

export interface JwtAuthenticatorOptions {
  /** JWKS fetch timeout (jose `timeoutDuration`). Default 5000. */
  readonly fetchTimeoutMs?: number;
  /** After a successful fetch, how long an unknown `kid` does not trigger another one. Default 30000. */
  readonly cooldownMs?: number;
  /** JWKS age after which the next verification refetches it; a cached token is verified again after as long. Default 600000. */
  readonly cacheMaxAgeMs?: number;
  /** Verified tokens kept (CLOCK eviction, see token-cache.ts). 0 disables the cache. Default 10000. */
  readonly tokenCacheSize?: number;
  /** Largest JWKS response accepted. Default 1 MiB. */
  readonly jwksMaxBytes?: number;
  /** Clock in ms since the epoch, for token times and the token cache. Default Date.now. */
  readonly now?: () => number;
}

/** Longest token accepted (bytes of the compact serialization). */
export const MAX_TOKEN_LENGTH = 8192;

// JWS compact serialization: three base64url parts, the last may be empty (alg "none").
// Five parts (a JWE) or anything else is malformed before any decoding.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type AuthnFailure = Extract<AuthnResult, { ok: false }>;
type AuthnSuccess = Extract<AuthnResult, { ok: true }>;

const fail = (failure: JwtFailure, provider: string | undefined, detail: string): AuthnFailure =>
  Object.freeze({ ok: false, failure, provider, detail });

const NO_TOKEN: AuthnSuccess = Object.freeze({ ok: true, jwt: undefined });
const DUPLICATE = fail('duplicate_header', undefined, 'more than one authorization header');
const NOT_BEARER = fail('not_bearer', undefined, 'authorization scheme is not Bearer');
const NO_BEARER_TOKEN = fail('malformed', undefined, 'Bearer without a token');
const NOT_COMPACT = fail('malformed', undefined, 'token is not a compact JWS');
const TOO_LARGE = fail('too_large', undefined, `token longer than ${MAX_TOKEN_LENGTH} bytes`);
const CLOSED = fail('jwks_unavailable', undefined, 'authenticator closed');

interface Provider {
  readonly name: string;
  readonly jwksUri: string;
  readonly getKey: JWTVerifyGetKey;
  /** Fetches the key set now (startup check; it also warms jose's cache). */
  readonly reload: () => Promise<void>;
  /** jwtVerify options without `currentDate`, which is set per call from the clock. */
  readonly verifyOptions: JWTVerifyOptions;
  readonly toleranceMs: number;
}

export class JwtAuthenticator {
  readonly providerNames: readonly string[];
  readonly #byIssuer = new Map<string, Provider>();
  readonly #cache: TokenCache;
  /** Verifications in flight by token: concurrent calls with a new token share one. */
  readonly #pending = new Map<string, Promise<AuthnResult>>();
  readonly #cacheMaxAgeMs: number;
  readonly #now: () => number;
  readonly #closing = new AbortController();

  /** Throws if two providers share an issuer: a token could not be routed to one of them. */
  constructor(providers: readonly ProviderConfig[], opts: JwtAuthenticatorOptions = {}) {
    this.#cache = new TokenCache(opts.tokenCacheSize ?? 10_000);
    this.#cacheMaxAgeMs = opts.cacheMaxAgeMs ?? 600_000;
    this.#now = opts.now ?? Date.now;
    const fetchJwks = boundedJwksFetch(opts.jwksMaxBytes ?? 1 << 20, this.#closing.signal);
    for (const p of providers) {
      const other = this.#byIssuer.get(p.issuer);
      if (other !== undefined) {
        throw new Error(`jwt providers "${other.name}" and "${p.name}" have the same issuer ${JSON.stringify(p.issuer)}`);
      }
      const remote = createRemoteJWKSet(new URL(p.jwksUri), {
        timeoutDuration: opts.fetchTimeoutMs ?? 5000,
        cooldownDuration: opts.cooldownMs ?? 30_000,
        cacheMaxAge: this.#cacheMaxAgeMs,
        [customFetch]: fetchJwks,
      });
      // Only the token's alg and kid reach the resolver: jose never follows jku, x5u or an
      // embedded jwk, and with `algorithms` pinned it refuses other algs before this runs.
      const getKey: JWTVerifyGetKey = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (err) {
          if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
          throw new JwksUnavailableError(p.jwksUri, err);
        }
      };
      this.#byIssuer.set(p.issuer, {
        name: p.name,
        jwksUri: p.jwksUri,
        getKey,
        reload: () => remote.reload(),
        verifyOptions: {
          algorithms: [...p.algorithms],
          issuer: p.issuer,
          audience: [...p.audiences],
          clockTolerance: p.clockTolerance / 1000, // jose wants seconds
          requiredClaims: ['exp'], // jose checks exp only when present
        },
        toleranceMs: p.clockTolerance,
      });
    }
    this.providerNames = Object.freeze(providers.map((p) => p.name));
  }

  /**
   * `authorization` = every value of the header as received (0, 1 or more).
   * Synchronous when there is no token, the token is refused before verification, or it is
   * cached; a Promise only when a signature must be verified (and maybe the JWKS fetched).
   * Never throws or rejects.
   */
  authenticate(authorization: readonly string[]): AuthnResult | Promise<AuthnResult> {
    if (authorization.length === 0) return NO_TOKEN;
    if (authorization.length > 1) return DUPLICATE;
    if (this.#closing.signal.aborted) return CLOSED;
    const token = bearerToken(authorization[0]!);
    if (typeof token !== 'string') return token;

    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      const now = this.#now();
      if (now < cached.validUntil && now < cached.recheckAt) return cached.result;
      this.#cache.delete(token);
      // Expired: jose would say the same, no need to ask it. Past recheckAt: verify again below.
      if (now >= cached.validUntil) return fail('expired', cached.result.jwt.provider, 'cached token expired');
    }

    if (!COMPACT_JWS.test(token)) return NOT_COMPACT;
    const pending = this.#pending.get(token);
    if (pending !== undefined) return pending;
    const provider = this.#route(token);
    if ('ok' in provider) return provider;
    const verification = this.#verify(token, provider).finally(() => this.#pending.delete(token));
    this.#pending.set(token, verification);
    return verification;
  }

  /** Drops cached tokens, aborts JWKS fetches in flight; later calls fail closed. */
  /**
   * Fetches every provider's key set once (control path, at startup): resolves with the
   * providers whose JWKS could not be fetched and why. Calls keep failing closed for those
   * providers until a later fetch succeeds; this only lets the operator know early.
   */
  async checkKeySets(): Promise<{ provider: string; jwksUri: string; error: string }[]> {
    const results = await Promise.all(
      [...this.#byIssuer.values()].map(async (p) => {
        try {
          await p.reload();
          return undefined;
        } catch (err) {
          return { provider: p.name, jwksUri: p.jwksUri, error: (err as Error).message };
        }
      }),
    );
    return results.filter((r) => r !== undefined);
  }

  close(): void {
    this.#closing.abort();
    this.#cache.clear();
    this.#pending.clear();
  }

  // The unverified `iss` only picks the provider; jwtVerify checks it again.
  #route(token: string): Provider | AuthnFailure {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch (err) {
      return fail('malformed', undefined, describeError(err));
    }
    const iss: unknown = claims.iss;
    if (typeof iss !== 'string') return fail('unknown_issuer', undefined, 'token has no "iss" claim');
    return this.#byIssuer.get(iss) ?? fail('unknown_issuer', undefined, `no provider for issuer ${JSON.stringify(iss.slice(0, 200))}`);
  }

  async #verify(token: string, provider: Provider): Promise<AuthnResult> {
    const verifiedAt = this.#now();
    let payload: JWTPayload;
    try {
      payload = await verifyAnyKey(token, provider.getKey, { ...provider.verifyOptions, currentDate: new Date(verifiedAt) });
    } catch (err) {
      return fail(failureOf(err), provider.name, describeError(err));
    }
    // requiredClaims + jose's NumericDate check guarantee a number here.
    const expiresAt = (payload.exp as number) * 1000;
    const jwt: VerifiedJwt = Object.freeze({
      provider: provider.name,
      payload: deepFreeze(payload),
      subject: typeof payload.sub === 'string' ? payload.sub : undefined,
      expiresAt,
    });
    const result = Object.freeze({ ok: true as const, jwt });
    if (!this.#closing.signal.aborted) {
      this.#cache.set(token, { result, validUntil: expiresAt + provider.toleranceMs, recheckAt: verifiedAt + this.#cacheMaxAgeMs });
    }
    return result;
  }
}

/**
 * The token of one `authorization` value: `Bearer` (any case), one or more spaces, the token
 * (RFC 6750 §2.1). Returns a failure for another scheme, a missing or oversized token.
 */
function bearerToken(value: string): string | AuthnFailure {
  const sp = value.indexOf(' ');
  const scheme = sp === -1 ? value : value.slice(0, sp);
  if (scheme.length !== 6 || scheme.toLowerCase() !== 'bearer') return NOT_BEARER;
  let start = sp === -1 ? value.length : sp + 1;
  while (value.charCodeAt(start) === 0x20) start++;
  const length = value.length - start;
  if (length === 0) return NO_BEARER_TOKEN;
  if (length > MAX_TOKEN_LENGTH) return TOO_LARGE;
  return value.slice(start);
}

/**
 * jwtVerify; when the token has no `kid` and several keys of its type are in the JWKS (during a
 * rotation), jose leaves the choice to the caller: try each, as jose's createRemoteJWKSet example does.
 */
async function verifyAnyKey(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
