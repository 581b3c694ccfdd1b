// JWT authn filter (data path): a call with a valid bearer token gets ctx.jwt; a call with a
// bad one is UNAUTHENTICATED (reason `jwt_<failure>`); a call without one continues and
// authorization decides whether it needed one (DESIGN §5). Sits between identity and authz.

import { log } from '../core/log.js';
import { RejectCode } from '../core/codes.js';
import { reject, type CallInfo, type Filter, type FilterResult } from '../core/filter.js';
import { JwtAuthenticator, type AuthnResult, type JwtAuthenticatorOptions, type JwtFailure, type ProviderConfig } from './jwt-authenticator.js';

/** Told every token check's outcome (metrics): the provider (undefined if none could be chosen) and "ok" or the failure. */
export type JwtResultListener = (provider: string | undefined, result: 'ok' | JwtFailure) => void;

export function jwtAuthnFilter(auth: JwtAuthenticator, onResult?: JwtResultListener): Filter<CallInfo> {
  return {
    name: 'jwt-authn',
    apply(ctx: CallInfo): FilterResult | Promise<FilterResult> {
      // The headers object keeps only the first authorization value; rawHeaders has them all.
      // Reading the object first keeps calls without a token free of the scan.
      const first = ctx.headers.authorization;
      if (first === undefined) return undefined;
      const result = auth.authenticate(authorizationValues(ctx.rawHeaders, first));
      return result instanceof Promise ? result.then((r) => settle(ctx, r, onResult)) : settle(ctx, result, onResult);
    },
  };
}

/**
 * A listener's authn step, built once per config. With providers: the JWT filter above.
 * Without: nothing can be verified, so tokens pass to the app untouched and ctx.jwt stays
 * undefined, but duplicate `authorization` headers are still refused — DESIGN §5 makes that
 * unconditional. Either way the cost of a call without the header is one property read.
 * `close()` releases the authenticator when the config is replaced or the sidecar stops.
 */
export function jwtAuthnFilterFor(
  providers: readonly ProviderConfig[],
  opts?: JwtAuthenticatorOptions,
  onResult?: JwtResultListener,
): { readonly filter: Filter<CallInfo>; checkKeySets(): Promise<void>; close(): void } {
  if (providers.length === 0) return { filter: duplicateAuthorizationFilter(), checkKeySets: async () => {}, close: () => {} };
  const auth = new JwtAuthenticator(providers, opts);
  return {
    filter: jwtAuthnFilter(auth, onResult),
    // A provider whose key set is unreachable at startup would refuse every token silently.
    async checkKeySets() {
      for (const f of await auth.checkKeySets()) {
        log.warn('JWKS cannot be fetched: tokens of this provider are refused (UNAUTHENTICATED) until it can', { provider: f.provider, jwksUri: f.jwksUri, error: f.error });
      }
    },
    close: () => auth.close(),
  };
}

const DUPLICATE = reject(RejectCode.UNAUTHENTICATED, 'jwt_duplicate_header', 'more than one authorization header');

function duplicateAuthorizationFilter(): Filter<CallInfo> {
  return {
    name: 'authorization-header',
    apply(ctx: CallInfo): FilterResult {
      const first = ctx.headers.authorization;
      if (first === undefined) return undefined;
      return authorizationValues(ctx.rawHeaders, first).length > 1 ? DUPLICATE : undefined;
    },
  };
}

function settle(ctx: CallInfo, result: AuthnResult, onResult: JwtResultListener | undefined): FilterResult {
  if (result.ok) {
    ctx.jwt = result.jwt;
    if (onResult !== undefined && result.jwt !== undefined) onResult(result.jwt.provider, 'ok');
    return undefined;
  }
  onResult?.(result.provider, result.failure);
  const detail = result.provider === undefined ? result.detail : `provider ${result.provider}: ${result.detail}`;
  return reject(RejectCode.UNAUTHENTICATED, `jwt_${result.failure}`, detail);
}

/** Every authorization value in rawHeaders (name, value, name, value…); names compared without case (HTTP/1.1 keeps it). */
function authorizationValues(rawHeaders: readonly string[], first: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && (name === 'authorization' || name.toLowerCase() === 'authorization')) values.push(rawHeaders[i + 1]!);
  }
  // rawHeaders always holds the value the headers object shows; never check less than it.
  return values.length === 0 ? [first] : values;
}
