// `meshward certs init|issue`: a development CA and SPIFFE workload certificates on disk.
// Control path (CLI). Exit codes: 0 ok, 1 failure, 2 usage.

import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDevCa, issueWorkloadCert } from '../identity/dev-ca.js';
import { uriSansOf } from '../identity/peer-identity.js';
import { parseSpiffeId } from '../identity/spiffe.js';

export interface CertsIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processIo: CertsIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

const USAGE = `Usage:
  meshward certs init  --dir DIR --trust-domain TD [--days N] [--force]
  meshward certs issue --ca-dir DIR --spiffe-id ID --out DIR [--name tls] [--hours N] [--dns NAME]...

init   writes DIR/ca.crt and DIR/ca.key (0600): a development CA for trust domain TD
       (default 365 days). Refuses to overwrite an existing CA unless --force.
issue  writes OUT/<name>.crt, OUT/<name>.key (0600) and OUT/ca.crt: an X.509-SVID for ID,
       signed by the CA in DIR (default 24 hours). ID must be in the CA's trust domain.
       --dns adds a DNS name (repeatable) for tools that check a host name (curl, grpcurl);
       meshward itself checks only the SPIFFE ID.`;

class UsageError extends Error {}

/** `argv` is everything after `certs` (e.g. `['init', '--dir', 'certs', ...]`). Never calls process.exit. */
export async function runCertsCommand(argv: string[], io: CertsIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      if (sub === undefined) throw new UsageError('missing subcommand (init or issue)');
      io.out(USAGE);
      return 0;
    }
    if (sub === 'init') return await init(rest, io);
    if (sub === 'issue') return await issue(rest, io);
    throw new UsageError(`unknown subcommand "${sub}" (expected init or issue)`);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`meshward certs: ${(error as Error).message}`);
      io.err(USAGE);
      return 2;
    }
    io.err(`meshward certs ${sub}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function init(args: string[], io: CertsIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: 'string' },
      'trust-domain': { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const dir = required(values.dir, '--dir');
  const trustDomain = required(values['trust-domain'], '--trust-domain');
  const days = positiveInt(values.days, '--days', 365, 36_500);
  const parsed = parseSpiffeId(`spiffe://${trustDomain}`);
  if (!parsed.ok || parsed.id.path !== '') {
    throw new UsageError(`--trust-domain "${trustDomain}" is not a trust domain: ${parsed.ok ? 'contains "/"' : parsed.error}`);
  }

  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  if (!values.force) {
    const existing = [];
    for (const p of [certPath, keyPath]) if (await exists(p)) existing.push(p);
    if (existing.length > 0) {
      throw new Error(`refusing to overwrite ${existing.join(' and ')} (use --force to replace the CA)`);
    }
  }

  const ca = await createDevCa({ trustDomain, validDays: days });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(keyPath, ca.keyPem, 0o600);
  await writeAtomic(certPath, ca.certPem, 0o644);
  io.out(`wrote ${certPath} (CA for spiffe://${trustDomain}, valid ${days} days)`);
  io.out(`wrote ${keyPath} (mode 0600)`);
  return 0;
}

async function issue(args: string[], io: CertsIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'ca-dir': { type: 'string' },
      'spiffe-id': { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string', default: 'tls' },
      hours: { type: 'string' },
      dns: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const dnsNames = values.dns;
  for (const d of dnsNames) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(d)) throw new UsageError(`--dns "${d}" is not a DNS name`);
  }
  const caDir = required(values['ca-dir'], '--ca-dir');
  const spiffeId = required(values['spiffe-id'], '--spiffe-id');
  const outDir = required(values.out, '--out');
  const name = values.name;
  const hours = positiveInt(values.hours, '--hours', 24, 24 * 3650);
  // A plain file name; "ca" would overwrite the bundle copied beside it.
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || name === 'ca') {
    throw new UsageError(`--name "${name}" must be a plain file name (letters, digits, ".", "-", "_") other than "ca"`);
  }
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed.ok) throw new UsageError(`--spiffe-id "${spiffeId}" is not a SPIFFE ID: ${parsed.error}`);
  if (parsed.id.path === '') throw new UsageError(`--spiffe-id "${spiffeId}" needs a path (it names a trust domain, not a workload)`);

  const caCertPath = join(caDir, 'ca.crt');
  const caKeyPath = join(caDir, 'ca.key');
  const caCertPem = await readFile(caCertPath, 'utf8').catch((e: unknown) => {
    throw new Error(`cannot read ${caCertPath}: ${errorMessage(e)}`);
  });
  const caKeyPem = await readFile(caKeyPath, 'utf8').catch((e: unknown) => {
    throw new Error(`cannot read ${caKeyPath}: ${errorMessage(e)}`);
  });
  const caTrustDomain = trustDomainOfCa(caCertPem, caCertPath);
  if (parsed.id.trustDomain !== caTrustDomain) {
    throw new Error(`--spiffe-id "${spiffeId}" is in trust domain "${parsed.id.trustDomain}", but the CA in ${caDir} is for "${caTrustDomain}"`);
  }

  const notAfter = new Date(Date.now() + hours * 3_600_000);
  const caNotAfter = new Date(new X509Certificate(caCertPem).validTo);
  if (caNotAfter.getTime() <= Date.now()) throw new Error(`the CA in ${caCertPath} expired on ${caNotAfter.toISOString()}`);
  if (notAfter > caNotAfter) {
    throw new Error(`--hours ${hours} would outlive the CA (expires ${caNotAfter.toISOString()}); use fewer hours or a new CA`);
  }

  const leaf = await issueWorkloadCert({ ca: { certPem: caCertPem, keyPem: caKeyPem }, spiffeId, validHours: hours, dnsNames });
  const certPath = join(outDir, `${name}.crt`);
  const keyPath = join(outDir, `${name}.key`);
  const bundlePath = join(outDir, 'ca.crt');
  await mkdir(outDir, { recursive: true });
  await writeAtomic(keyPath, leaf.keyPem, 0o600);
  await writeAtomic(certPath, leaf.certPem, 0o644);
  if (resolve(bundlePath) !== resolve(caCertPath)) await writeAtomic(bundlePath, caCertPem, 0o644);
  io.out(`wrote ${certPath} (${[spiffeId, ...dnsNames].join(', ')}, valid ${hours} hours)`);
  io.out(`wrote ${keyPath} (mode 0600)`);
  io.out(`wrote ${bundlePath} (trust bundle)`);
  return 0;
}

/** The CA's trust domain, from its single `spiffe://td` URI SAN (X509-SVID §3.2). */
function trustDomainOfCa(pem: string, path: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new Error(`${path} is not a PEM certificate: ${errorMessage(e)}`);
  }
  if (!cert.ca) throw new Error(`${path} is not a CA certificate`);
  const uris = uriSansOf(cert.subjectAltName);
  const parsed = uris.length === 1 ? parseSpiffeId(uris[0]!) : undefined;
  if (!parsed?.ok || parsed.id.path !== '') {
    throw new Error(`${path} has no single spiffe://<trust-domain> URI SAN (found ${JSON.stringify(uris)})`);
  }
  return parsed.id.trustDomain;
}

/** Writes via a temp file + rename so the final file has `mode` even when it existed before. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${errorMessage(e)}`);
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

function positiveInt(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  const n = Number(value);
  if (n < 1 || n > max) throw new UsageError(`${flag} must be between 1 and ${max}, got ${value}`);
  return n;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
