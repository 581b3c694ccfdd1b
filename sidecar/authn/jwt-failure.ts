// Why a JWT was refused, as one stable code, and the mapping from jose's errors to it.
// Data path (pure). Codes become Rejection reasons as `jwt_<code>` (see jwt-authn-filter.ts).

import { errors } from 'jose';

export type JwtFailure =
  | 'malformed'
  | 'duplicate_header'
  | 'not_bearer'
  | 'unknown_issuer'
  | 'bad_algorithm'
  | 'bad_signature'
  | 'unknown_kid'
  | 'jwks_unavailable'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'bad_audience'
  | 'bad_issuer'
  | 'too_large';

/**
 * Anything that went wrong while fetching or reading a provider's JWKS (network error,
 * timeout, non-200, not JSON, not a key set, too large, a member that is not a usable public
 * key). The key resolver wraps such errors in this class so they are told apart from errors
 * about the token itself.
 */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
  constructor(jwksUri: string, cause: unknown) {
    super(`JWKS ${jwksUri}: ${describeError(cause)}`, { cause });
  }
}

/** Maps an error thrown by jwtVerify (with our key resolver) to a failure code. */
export function failureOf(err: unknown): JwtFailure {
  if (err instanceof JwksUnavailableError) return 'jwks_unavailable';
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return claimFailure(err.claim, err.reason);
  if (err instanceof errors.JOSEAlgNotAllowed) return 'bad_algorithm';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'unknown_kid';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'jwks_unavailable';
  return 'malformed';
}

// jose reports the claim and a reason: "missing", "invalid" (wrong type) or "check_failed".
// A claim of the wrong type (e.g. a string "nbf") is a malformed token, not a timing problem.
function claimFailure(claim: string, reason: string): JwtFailure {
  switch (claim) {
    case 'nbf':
      return reason === 'check_failed' ? 'not_yet_valid' : 'malformed';
    case 'exp':
      return reason === 'missing' ? 'missing_exp' : 'malformed';
    case 'aud':
      return 'bad_audience';
    case 'iss':
      return 'bad_issuer';
    default:
      return 'malformed';
  }
}

/** One line for logs and spans: the message and, for network errors, the cause (ECONNREFUSED…). Never the token. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error && !(err instanceof JwksUnavailableError)) {
    const code = (cause as { code?: unknown }).code;
    return `${err.message} (${typeof code === 'string' ? code : cause.message})`;
  }
  return err.message;
}
