// A real JWKS endpoint over HTTP on 127.0.0.1 (port 0) for tests and benchmarks: RS256 and
// ES256 keys made with jose, switchable failure modes, a request counter, and helpers that
// mint good and hostile tokens. Test support, not part of the sidecar.
//
//   const idp = await JwksServer.start();
//   const token = await idp.sign({ iss, aud, exp }, { alg: 'ES256' });
//   await idp.setMode({ kind: 'down' });   // normal | down | slow | garbage
//   await idp.rotate();                    // serve a new key set (new kids)
//   idp.requests                           // HTTP requests received so far, any path

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type KeyAlg = 'RS256' | 'ES256';
export type TokenAlg = KeyAlg | 'HS256' | 'none';

export interface SigningKey {
  readonly alg: KeyAlg;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** As served in the JWKS: kty…, kid, alg, use "sig". */
  readonly publicJwk: JWK;
}

export type KeySet = Readonly<Record<KeyAlg, SigningKey>>;

export type JwksMode =
  | { readonly kind: 'normal' }
  /** The listening socket is closed: connections are refused. */
  | { readonly kind: 'down' }
  /** Answers normally after delayMs. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** 200 with a body that is not JSON or not a key set, a 500, or a body of `oversizedBytes` (default 2 MiB). */
  | { readonly kind: 'garbage'; readonly body: 'not-json' | 'not-a-jwks' | 'http-500' | 'oversized'; readonly oversizedBytes?: number };

export interface SignOptions {
  /** Default RS256. HS256 uses the RS256 key's public SPKI PEM as the HMAC secret (key confusion); none is unsigned. */
  readonly alg?: TokenAlg;
  /** Default: the signing key's kid. null leaves `kid` out. */
  readonly kid?: string | null;
  /** Default: the server's current key for the alg (RS256 for HS256/none). */
  readonly key?: SigningKey;
  /** More protected-header parameters (jku, x5u, typ…); they override the defaults. */
  readonly header?: Readonly<Record<string, unknown>>;
}

export const JWKS_PATH = '/.well-known/jwks.json';

export async function createSigningKey(alg: KeyAlg, kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return Object.freeze({ alg, kid, privateKey, publicKey, publicJwk });
}

export async function createKeySet(): Promise<KeySet> {
  const [rs, es] = await Promise.all([createSigningKey('RS256'), createSigningKey('ES256')]);
  return Object.freeze({ RS256: rs, ES256: es });
}

/** Mints a compact JWT with `key` (see SignOptions for HS256 and none). */
export async function signToken(claims: JWTPayload, key: SigningKey, opts: SignOptions = {}): Promise<string> {
  const alg = opts.alg ?? key.alg;
  const kid = opts.kid === null ? {} : { kid: opts.kid ?? key.kid };
  const header = { alg, typ: 'JWT', ...kid, ...opts.header };
  if (alg === 'none') {
    const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
    return `${enc(header)}.${enc(claims)}.`;
  }
  const jwt = new SignJWT(claims).setProtectedHeader(header as typeof header & { alg: string });
  if (alg === 'HS256') return jwt.sign(new TextEncoder().encode(await exportSPKI(key.publicKey)));
  return jwt.sign(key.privateKey);
}

export class JwksServer {
  readonly #server: Server;
  readonly #port: number;
  #keys: KeySet;
  #served: readonly SigningKey[];
  #mode: JwksMode = { kind: 'normal' };
  #requests = 0;
  readonly #paths: string[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: Server, port: number, keys: KeySet) {
    this.#server = server;
    this.#port = port;
    this.#keys = keys;
    this.#served = [keys.RS256, keys.ES256];
  }

  static async start(opts: { keys?: KeySet } = {}): Promise<JwksServer> {
    const keys = opts.keys ?? (await createKeySet());
    let self: JwksServer | undefined;
    const server = createServer((req, res) => {
      if (self !== undefined) self.#handle(req, res);
    });
    server.keepAliveTimeout = 1000;
    await listen(server, 0);
    self = new JwksServer(server, (server.address() as AddressInfo).port, keys);
    return self;
  }

  /** http://127.0.0.1:PORT */
  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get jwksUri(): string {
    return this.origin + JWKS_PATH;
  }

  /** HTTP requests received (any path, any mode that answers). */
  get requests(): number {
    return this.#requests;
  }

  /** Paths of the requests received, in order. */
  get requestPaths(): readonly string[] {
    return this.#paths;
  }

  /** The current signing keys (the newest set after a rotation). */
  get keys(): KeySet {
    return this.#keys;
  }

  get mode(): JwksMode {
    return this.#mode;
  }

  async setMode(mode: JwksMode): Promise<void> {
    const wasDown = this.#mode.kind === 'down';
    this.#mode = mode;
    if (mode.kind === 'down' && !wasDown) await this.#stopListening();
    if (mode.kind !== 'down' && wasDown) await listen(this.#server, this.#port);
  }

  /** Serves `next` (default: a fresh set, new kids); `keepOld` also keeps serving the previous keys. */
  async rotate(next?: KeySet, opts: { keepOld?: boolean } = {}): Promise<KeySet> {
    const keys = next ?? (await createKeySet());
    this.#served = [...(opts.keepOld === true ? this.#served : []), keys.RS256, keys.ES256];
    this.#keys = keys;
    return keys;
  }

  /** Mints a token with the server's current key for `opts.alg` unless `opts.key` is given. */
  sign(claims: JWTPayload, opts: SignOptions = {}): Promise<string> {
    const alg = opts.alg ?? 'RS256';
    const key = opts.key ?? (alg === 'ES256' ? this.#keys.ES256 : this.#keys.RS256);
    return signToken(claims, key, { ...opts, alg });
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#mode.kind !== 'down') await this.#stopListening();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#requests++;
    this.#paths.push(req.url ?? '');
    const mode = this.#mode;
    if (mode.kind === 'slow') {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#answer(req, res, mode);
      }, mode.delayMs);
      this.#timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
      });
      return;
    }
    this.#answer(req, res, mode);
  }

  #answer(req: IncomingMessage, res: ServerResponse, mode: JwksMode): void {
    if (res.destroyed) return;
    if (req.url !== JWKS_PATH) return void res.writeHead(404).end();
    if (mode.kind === 'garbage') {
      if (mode.body === 'http-500') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('oops');
      if (mode.body === 'not-json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json');
      if (mode.body === 'not-a-jwks') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"nope"}');
      const body = `{"keys":[],"pad":"${'x'.repeat(mode.oversizedBytes ?? 2 << 20)}"}`;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    const body = JSON.stringify({ keys: this.#served.map((k) => k.publicJwk) });
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(body);
  }

  #stopListening(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
