// `meshward audit verify [--hmac-key-file F] FILE...` (DESIGN §2, §11): checks the audit log's
// hash chain. CONTROL path (CLI). Exit codes: 0 intact, 1 broken (the first bad record as
// FILE:LINE: kind: what broke), 2 usage (or a file or key that cannot be read).

import { parseArgs } from 'node:util';
import { verifyChain, type VerifyResult } from '../audit/verify-chain.js';
import { readHmacKey } from '../telemetry/audit-chain.js';

export interface AuditIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processIo: AuditIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

const USAGE = `Usage:
  meshward audit verify [--hmac-key-file FILE] [--json] AUDIT_FILE...

verify  checks each record's hash, the seq order and the prev links between the files, in
        the order given (oldest first: audit.log.2 audit.log.1 audit.log). Exit 0 when all
        hold; 1 naming the first broken record as FILE:LINE and what broke (edited, deleted,
        reordered, inserted, truncated-head, broken-link, malformed); 2 on usage.
        --hmac-key-file: the key the sidecar wrote with (audit.hmacKeyFile).
        --json: the result as one JSON object on stdout.
        Records cut from the end of the last file cannot be detected: keep the printed
        last seq and hash somewhere else to check later runs against.`;

class UsageError extends Error {}

/** `argv` is everything after `audit`. Never calls process.exit. */
export async function runAuditCommand(argv: string[], io: AuditIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      io.out(USAGE);
      return 0;
    }
    if (sub === 'verify') return verify(rest, io);
    throw new UsageError(sub === undefined ? 'missing subcommand (verify)' : `unknown subcommand "${sub}"`);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`meshward audit: ${(error as Error).message}`);
      io.err(USAGE);
      return 2;
    }
    throw error;
  }
}

function verify(args: string[], io: AuditIo): number {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { 'hmac-key-file': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('verify needs at least one AUDIT_FILE');
  let key: Buffer | undefined;
  if (values['hmac-key-file'] !== undefined) {
    try {
      key = readHmacKey(values['hmac-key-file']);
    } catch (err) {
      io.err(`meshward audit verify: ${(err as Error).message}`);
      return 2;
    }
  }
  const result = verifyChain(positionals, { key });
  if (result.broken?.kind === 'unreadable') {
    io.err(`meshward audit verify: cannot read ${result.broken.file}: ${result.broken.message}`);
    return 2;
  }
  if (values.json) io.out(JSON.stringify(result));
  else printResult(result, io);
  return result.ok ? 0 : 1;
}

function printResult(r: VerifyResult, io: AuditIo): void {
  for (const f of r.files) {
    io.out(`${f.file}: ${f.records} record${f.records === 1 ? '' : 's'}${f.firstSeq === undefined ? '' : `, seq ${f.firstSeq}..${f.lastSeq}`}`);
  }
  if (r.broken !== undefined) {
    io.err(`${r.broken.file}:${r.broken.line}: ${r.broken.kind}: ${r.broken.message}`);
    io.out(`BROKEN after ${r.records} intact record${r.records === 1 ? '' : 's'}`);
    return;
  }
  const from = r.startsFrom === '' || r.startsFrom === undefined ? 'the chain starts in the first file' : `continues from prev ${r.startsFrom} (a file not given)`;
  io.out(`OK: ${r.records} records intact (${r.keyed ? 'HMAC-SHA-256' : 'SHA-256'}); ${from}`);
  if (r.lastSeq !== undefined) io.out(`last seq ${r.lastSeq} hash ${r.lastHash}`);
}
