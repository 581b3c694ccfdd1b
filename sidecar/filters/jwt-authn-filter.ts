// JWT authn filter (data path): a call with a valid bearer token gets call.jwt; a call with a
// bad one is UNAUTHENTICATED (reason `jwt_<failure>`); a call without one continues and
// authorization decides whether it needed one (DESIGN §5). Sits between identity and authz.

import { JwtAuthenticator, type AuthnResult, type JwtAuthenticatorOptions, type JwtFailure, type ProviderConfig } from '../authn/jwt-authenticator.js';
import { log } from '../core/log.js';
import { RejectCode } from '../core/codes.js';
import { reject, type FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

/** Told every token check's outcome (metrics): the provider (undefined if none could be chosen) and "ok" or the failure. */
export type JwtResultListener = (provider: string | undefined, result: 'ok' | JwtFailure) => void;

export function jwtAuthnFilter(auth: JwtAuthenticator, onResult?: JwtResultListener): CallFilter {
  return {
    name: 'jwt-authn',
    apply(call: Call): FilterResult | Promise<FilterResult> {
      // The lookup keeps only the first authorization value; the pairs have them all.
      // Reading the lookup first keeps calls without a token free of the scan.
      const first = call.headers.get('authorization');
      if (first === undefined) return undefined;
      const result = auth.authenticate(authorizationValues(call.headers.pairs, first));
      return result instanceof Promise ? result.then((r) => settle(call, r, onResult)) : settle(call, result, onResult);
    },
  };
}

/**
 * A listener's authn step, built once per config. With providers: the JWT filter above.
 * Without: nothing can be verified, so tokens pass to the app untouched and call.jwt stays
 * undefined, but duplicate `authorization` headers are still refused — DESIGN §5 makes that
 * unconditional. Either way the cost of a call without the header is one lookup.
 * `close()` releases the authenticator when the config is replaced or the sidecar stops.
 */
export function jwtAuthnFilterFor(
  providers: readonly ProviderConfig[],
  opts?: JwtAuthenticatorOptions,
  onResult?: JwtResultListener,
): { readonly filter: CallFilter; checkKeySets(): Promise<void>; close(): void } {
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

function duplicateAuthorizationFilter(): CallFilter {
  return {
    name: 'authorization-header',
    apply(call: Call): FilterResult {
      const first = call.headers.get('authorization');
      if (first === undefined) return undefined;
      return authorizationValues(call.headers.pairs, first).length > 1 ? DUPLICATE : undefined;
    },
  };
}

function settle(call: Call, result: AuthnResult, onResult: JwtResultListener | undefined): FilterResult {
  if (result.ok) {
    call.jwt = result.jwt;
    if (onResult !== undefined && result.jwt !== undefined) onResult(result.jwt.provider, 'ok');
    return undefined;
  }
  onResult?.(result.provider, result.failure);
  const detail = result.provider === undefined ? result.detail : `provider ${result.provider}: ${result.detail}`;
  return reject(RejectCode.UNAUTHENTICATED, `jwt_${result.failure}`, detail);
}

/** Every authorization value in the pairs (name, value, name, value…); names compared without case (HTTP/1.1 keeps it). */
function authorizationValues(pairs: readonly string[], first: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!;
    if (name.length === 13 && (name === 'authorization' || name.toLowerCase() === 'authorization')) values.push(pairs[i + 1]!);
  }
  // The pairs always hold the value the lookup shows; never check less than it.
  return values.length === 0 ? [first] : values;
}
