// Development CA and X.509-SVID workload certificates (ECDSA P-256, SHA-256) following
// https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md. Control path only:
// used by `meshward certs`, the demo and tests.

import 'reflect-metadata'; // @peculiar/x509 2.x throws without it; must load first
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509Certificate, createPrivateKey } from 'node:crypto';
import { parseSpiffeId } from './spiffe.js';

export interface PemPair {
  certPem: string;
  keyPem: string;
}

const EC_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const HOUR_MS = 3_600_000;
/** Certificates start a little in the past so that small clock skew between pods does not reject them. */
const BACKDATE_MS = 5 * 60_000;

const webcrypto = globalThis.crypto;

export async function createDevCa(opts: {
  trustDomain: string;
  commonName?: string;
  validDays?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<PemPair> {
  const trustDomainId = `spiffe://${opts.trustDomain}`;
  const parsed = parseSpiffeId(trustDomainId);
  if (!parsed.ok || parsed.id.path !== '') {
    throw new Error(`invalid trust domain "${opts.trustDomain}": ${parsed.ok ? 'must not contain "/"' : parsed.error}`);
  }
  const { notBefore, notAfter } = validity(opts.notBefore, opts.notAfter, (opts.validDays ?? 365) * 24 * HOUR_MS);

  const keys = await generateKeys();
  const name: x509.JsonName = [{ CN: [opts.commonName ?? `meshward dev CA (${opts.trustDomain})`] }, { O: ['meshward dev'] }];
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: name,
      issuer: name,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [
        // pathLen 0: this CA signs leaves only (X509-SVID §4.1 allows the constraint).
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        // X509-SVID §3.2: a signing certificate carries the trust domain ID, no path.
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainId }], false),
      ],
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

export async function issueWorkloadCert(opts: {
  ca: PemPair;
  spiffeId?: string;
  uris?: string[];
  dnsNames?: string[];
  validHours?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<PemPair> {
  let uris: string[];
  if (opts.uris !== undefined) {
    uris = opts.uris; // deliberately unvalidated: tests build malformed SVIDs with it
  } else if (opts.spiffeId !== undefined) {
    const parsed = parseSpiffeId(opts.spiffeId);
    if (!parsed.ok) throw new Error(`invalid SPIFFE ID "${opts.spiffeId}": ${parsed.error}`);
    if (parsed.id.path === '') throw new Error(`SPIFFE ID "${opts.spiffeId}" has no path; a workload ID needs one`);
    uris = [opts.spiffeId];
  } else {
    throw new Error('issueWorkloadCert needs spiffeId (or uris)');
  }

  const ca = await loadCa(opts.ca);
  const { notBefore, notAfter } = validity(opts.notBefore, opts.notAfter, (opts.validHours ?? 24) * HOUR_MS);
  const keys = await generateKeys();

  const sans: x509.JsonGeneralNames = [
    ...uris.map((value) => ({ type: 'url' as const, value })),
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // X509-SVID §4.3: digitalSignature is required; keyEncipherment only makes sense for RSA.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
    ca.authorityKeyId,
  ];
  // An empty GeneralNames is invalid DER-wise (SIZE 1..MAX): omit the extension instead.
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));

  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ CN: [leafCommonName(uris)] }, { O: ['meshward dev'] }],
      issuer: ca.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: SIGNING,
      extensions,
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

interface LoadedCa {
  cert: x509.X509Certificate;
  signingKey: CryptoKey;
  authorityKeyId: x509.AuthorityKeyIdentifierExtension;
}

async function loadCa(pair: PemPair): Promise<LoadedCa> {
  const cert = new x509.X509Certificate(pair.certPem);
  const nodeCert = new NodeX509Certificate(pair.certPem);
  if (!nodeCert.ca) throw new Error('CA certificate is not a CA (basicConstraints cA is not true)');
  // Accept any PEM Node can read (PKCS#8 or SEC1), then hand WebCrypto PKCS#8 DER.
  const keyObject = createPrivateKey(pair.keyPem);
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('CA key must be an ECDSA P-256 key');
  }
  if (!nodeCert.checkPrivateKey(keyObject)) throw new Error('CA key does not match the CA certificate');
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_KEY, false, ['sign']);

  // The AKI must equal the issuer's SKI; copy it rather than recompute (the CA may come from elsewhere).
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const authorityKeyId = ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)
    : await x509.AuthorityKeyIdentifierExtension.create(cert.publicKey, false, webcrypto);
  return { cert, signingKey, authorityKeyId };
}

function validity(notBefore: Date | undefined, notAfter: Date | undefined, lifetimeMs: number) {
  if (!(lifetimeMs > 0)) throw new Error('validity period must be positive');
  const now = Date.now();
  const start = notBefore ?? new Date(now - BACKDATE_MS);
  // The lifetime counts from now (or from an explicit notBefore), not from the backdated start.
  const end = notAfter ?? new Date((notBefore?.getTime() ?? now) + lifetimeMs);
  if (!(end.getTime() > start.getTime())) throw new Error('notAfter must be after notBefore');
  return { notBefore: start, notAfter: end };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** 16 random bytes, top bit cleared so the DER INTEGER stays positive without padding; never zero. */
function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

/** RFC 5280 caps a CN at 64 characters; the SAN is authoritative, the CN is for humans reading `openssl x509`. */
function leafCommonName(uris: string[]): string {
  const first = uris[0];
  if (first === undefined) return 'meshward workload';
  return first.length <= 64 ? first : first.slice(0, 61) + '...';
}
