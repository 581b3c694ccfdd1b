// The result of a successful JWT validation, as the request path carries it (data path).
// Produced by the JWT authenticator; read by authorization (claim conditions) and audit.

export interface VerifiedJwt {
  /** Name of the configured provider (config `jwt.providers[].name`) that verified it. */
  readonly provider: string;
  /** The verified payload; claim paths are looked up in it. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** `sub`, when it is a string (for the audit log). */
  readonly subject: string | undefined;
  /** `exp` in ms since the epoch. */
  readonly expiresAt: number;
}
