// Audit log cost (issue 19): what the hash chain adds per record, and how fast `meshward audit
// verify` checks a day of logs.
//  1. Request path: AuditLog.write (queues the record) — ns per record.
//  2. Off the request path, on the event loop: CPU per record for serialize + chain + write, in
//     flushes of BATCH records per turn, to a file: the pre-chain writer (JSON.stringify + write
//     per record, as before issue 19) vs the chained writer with SHA-256 and with HMAC-SHA-256.
//  3. verifyChain over VERIFY_RECORDS records (SHA-256 and HMAC): seconds, records/s, MB/s.
// Run: node --import tsx bench/audit-chain.bench.ts [records-for-writers] [records-for-verify]

import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../sidecar/audit/verify-chain.js';
import { ChainState } from '../sidecar/telemetry/audit-chain.js';
import { AuditLog, type AuditRecord } from '../sidecar/telemetry/audit-log.js';

const WRITE_RECORDS = Number(process.argv[2] ?? 200_000);
const VERIFY_RECORDS = Number(process.argv[3] ?? 1_000_000);
const BATCH = 64; // records decided per event-loop turn (a busy sidecar refusing a flood)
const ROUNDS = 3;
const KEY = Buffer.from('a benchmark key of thirty-two by');
const dir = mkdtempSync(join(tmpdir(), 'meshward-audit-bench-'));

/** A typical refusal record (~420 bytes as JSON). */
function record(i: number): AuditRecord {
  return {
    time: new Date(1_780_000_000_000 + i).toISOString(),
    decision: 'deny',
    reason: 'no_allow_match',
    rule: 'orders:grpc[0]',
    policy_version: '3f2a9c1d7e4b',
    protocol: 'grpc',
    method: `shop.v1.Orders/GetOrder${i % 16}`,
    principal: 'spiffe://cluster.local/ns/web/sa/frontend',
    subject: 'user-1234',
    status: 7,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    duration_ms: 0.183,
    detail: 'no allow entry matched: principals ["spiffe://cluster.local/ns/ops/*"] vs spiffe://cluster.local/ns/web/sa/frontend',
  };
}
const records = Array.from({ length: 1024 }, (_, i) => record(i));

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Total CPU µs per record for `n` records offered in batches, until the file is closed. */
async function cpuPerRecord(n: number, make: (file: string) => { write(r: AuditRecord): void; close(): Promise<void> }): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const file = join(dir, `w-${round}.log`);
    rmSync(file, { force: true });
    const log = make(file);
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      log.write(records[i & 1023]!);
      if (i % BATCH === BATCH - 1) await turn();
    }
    await log.close();
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / n);
  }
  return best;
}

/** The writer before issue 19: stringify and write, per record, on the request path. */
function unchained(file: string): { write(r: AuditRecord): void; close(): Promise<void> } {
  const out = createWriteStream(file, { flags: 'a' });
  return {
    write: (r) => void out.write(JSON.stringify(r) + '\n'),
    close: () => new Promise<void>((resolve) => out.end(() => resolve())),
  };
}

/** ns per AuditLog.write call alone (the request path's share), best of ROUNDS. */
async function writeCallNs(n: number): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const file = join(dir, `q-${round}.log`);
    rmSync(file, { force: true });
    const log = new AuditLog(file, { maxBacklogBytes: 2 ** 40 });
    let ns = 0;
    for (let i = 0; i < n; i += BATCH) {
      const t = process.hrtime.bigint();
      for (let j = 0; j < BATCH; j++) log.write(records[(i + j) & 1023]!);
      ns += Number(process.hrtime.bigint() - t);
      await turn();
    }
    await log.close();
    best = Math.min(best, ns / n);
  }
  return best;
}

function writeChainFile(file: string, n: number, key: Buffer | undefined): void {
  const chain = new ChainState(key);
  const json = records.map((r) => JSON.stringify(r));
  const parts: string[] = [];
  let size = 0;
  writeFileSync(file, '');
  for (let i = 0; i < n; i++) {
    const line = chain.append(json[i & 1023]!);
    parts.push(line);
    size += line.length;
    if (size > 16 * 1024 * 1024 || i === n - 1) {
      writeFileSync(file, parts.join(''), { flag: 'a' });
      parts.length = 0;
      size = 0;
    }
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; writers: ${WRITE_RECORDS.toLocaleString('en')} records in turns of ${BATCH}, best of ${ROUNDS}; verify: ${VERIFY_RECORDS.toLocaleString('en')} records`);
  const line = JSON.stringify(record(0)).length;
  console.log(`record: ${line} bytes as JSON, +${new ChainState(undefined).append(JSON.stringify(record(0))).length - line - 1} bytes of chain fields`);

  const queued = await writeCallNs(WRITE_RECORDS);
  console.log(`${'AuditLog.write (request path: queue only)'.padEnd(52)} ${(queued / 1000).toFixed(3).padStart(7)} µs/record`);
  const base = await cpuPerRecord(WRITE_RECORDS, unchained);
  const sha = await cpuPerRecord(WRITE_RECORDS, (f) => new AuditLog(f, { maxBacklogBytes: 2 ** 40 }));
  const hmac = await cpuPerRecord(WRITE_RECORDS, (f) => new AuditLog(f, { hmacKey: KEY, maxBacklogBytes: 2 ** 40 }));
  console.log(`${'before issue 19: stringify + write per record'.padEnd(52)} ${base.toFixed(3).padStart(7)} µs CPU/record`);
  console.log(`${'chained, SHA-256 (flush per turn)'.padEnd(52)} ${sha.toFixed(3).padStart(7)} µs CPU/record  (${(sha - base >= 0 ? '+' : '') + (sha - base).toFixed(3)})`);
  console.log(`${'chained, HMAC-SHA-256 (flush per turn)'.padEnd(52)} ${hmac.toFixed(3).padStart(7)} µs CPU/record  (${(hmac - base >= 0 ? '+' : '') + (hmac - base).toFixed(3)})`);

  for (const [name, key] of [['SHA-256', undefined], ['HMAC-SHA-256', KEY]] as const) {
    const file = join(dir, `verify-${name}.log`);
    writeChainFile(file, VERIFY_RECORDS, key);
    const mb = statSync(file).size / 1e6;
    const t = process.hrtime.bigint();
    const r = verifyChain([file], { key });
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    if (!r.ok || r.records !== VERIFY_RECORDS) throw new Error(`verify failed: ${JSON.stringify(r.broken)}`);
    console.log(`verify ${name.padEnd(13)} ${VERIFY_RECORDS.toLocaleString('en')} records, ${mb.toFixed(0)} MB: ${s.toFixed(2)} s (${Math.round(VERIFY_RECORDS / s).toLocaleString('en')} records/s, ${(mb / s).toFixed(0)} MB/s)`);
    rmSync(file);
  }
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
