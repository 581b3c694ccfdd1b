// The audit chain end to end in one process: AuditLog writes, files are tampered with in each
// way an editor could, and verifyChain names the line and what broke.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chainHash, HASH_MEMBER } from '../telemetry/audit-chain.js';
import { AuditLog, type AuditRecord } from '../telemetry/audit-log.js';
import { verifyChain } from './verify-chain.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

function record(i: number): AuditRecord {
  return {
    time: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(),
    decision: 'deny',
    reason: 'default_deny',
    rule: null,
    policy_version: 'abc123',
    protocol: 'grpc',
    method: `shop.v1.Orders/M${i}`,
    principal: 'spiffe://cluster.local/ns/web/sa/frontend',
    subject: null,
    status: 7,
    trace_id: null,
    span_id: null,
    duration_ms: 0.1,
    detail: `call ${i} — "quoted" \\ and ünïcödé`,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'meshward-audit-'));
let n = 0;
const freshFile = (): string => join(dir, `audit-${++n}.log`);

async function writeLog(file: string, count: number, opts: { key?: Buffer; from?: number } = {}): Promise<void> {
  const log = new AuditLog(file, { hmacKey: opts.key });
  for (let i = 0; i < count; i++) log.write(record((opts.from ?? 0) + i));
  await log.close();
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const writeLines = (file: string, ls: string[]): void => writeFileSync(file, ls.map((l) => l + '\n').join(''));

async function tampered(edit: (ls: string[]) => string[], opts: { key?: Buffer } = {}): Promise<string> {
  const file = freshFile();
  await writeLog(file, 10, opts);
  writeLines(file, edit(lines(file)));
  return file;
}

test('a written log verifies; every line ends with the hash member and carries seq 1..N, prev on the first', async () => {
  const file = freshFile();
  await writeLog(file, 10);
  const ls = lines(file);
  assert.equal(ls.length, 10);
  const parsed = ls.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(parsed.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(parsed[0]!.prev, '');
  assert.equal(parsed.filter((r) => 'prev' in r).length, 1);
  for (const r of parsed) assert.equal(Object.keys(r).at(-1), 'hash');
  // The canonical form, recomputed independently: the previous hash, "\n", the line without its hash member.
  let prev = '';
  for (const l of ls) {
    const at = l.lastIndexOf(HASH_MEMBER);
    const hash = chainHash(undefined, prev, l.slice(0, at) + '}');
    assert.equal(l.slice(at), `${HASH_MEMBER}${hash}"}`);
    prev = hash;
  }
  const r = verifyChain([file]);
  assert.equal(r.ok, true, JSON.stringify(r.broken));
  assert.equal(r.records, 10);
  assert.equal(r.lastSeq, 10);
  assert.equal(r.startsFrom, '');
});

test('edited: a changed field is named at its line', async () => {
  const file = await tampered((ls) => ls.map((l, i) => (i === 4 ? l.replace('"status":7', '"status":0') : l)));
  assert.deepEqual(pick(verifyChain([file])), { line: 5, kind: 'edited' });
});

test('edited and re-hashed without a key: the break shows at the next record', async () => {
  const file = await tampered((ls) => {
    const l = ls[4]!.replace('"decision":"deny"', '"decision":"allow"');
    const prevHash = (JSON.parse(ls[3]!) as { hash: string }).hash;
    const body = l.slice(0, l.lastIndexOf(HASH_MEMBER)) + '}';
    ls[4] = `${body.slice(0, -1)}${HASH_MEMBER}${chainHash(undefined, prevHash, body)}"}`;
    return ls;
  });
  const r = verifyChain([file]);
  assert.deepEqual(pick(r), { line: 6, kind: 'edited' });
  assert.match(r.broken!.message, /record before it/);
});

test('with an HMAC key, re-hashing an edit without the key is caught at the edited line', async () => {
  const file = await tampered((ls) => {
    const l = ls[4]!.replace('"decision":"deny"', '"decision":"allow"');
    const prevHash = (JSON.parse(ls[3]!) as { hash: string }).hash;
    const body = l.slice(0, l.lastIndexOf(HASH_MEMBER)) + '}';
    ls[4] = `${body.slice(0, -1)}${HASH_MEMBER}${chainHash(undefined, prevHash, body)}"}`;
    return ls;
  }, { key: KEY });
  assert.deepEqual(pick(verifyChain([file], { key: KEY })), { line: 5, kind: 'edited' });
});

test('a keyed log verifies with its key only', async () => {
  const file = freshFile();
  await writeLog(file, 5, { key: KEY });
  assert.equal(verifyChain([file], { key: KEY }).ok, true);
  const plain = verifyChain([file]);
  assert.deepEqual(pick(plain), { line: 1, kind: 'edited' });
  assert.match(plain.broken!.message, /--hmac-key-file/);
  assert.deepEqual(pick(verifyChain([file], { key: Buffer.from('another key of 32 bytes........!') })), { line: 1, kind: 'edited' });
});

test('deleted: a removed record is named where the gap starts', async () => {
  const file = await tampered((ls) => ls.filter((_, i) => i !== 4));
  const r = verifyChain([file]);
  assert.deepEqual(pick(r), { line: 5, kind: 'deleted' });
  assert.match(r.broken!.message, /record 5 is missing/);
  const three = await tampered((ls) => ls.filter((_, i) => i < 3 || i > 5));
  assert.match(verifyChain([three]).broken!.message, /records 4\.\.6 \(3\) are missing/);
});

test('reordered: two swapped records', async () => {
  const file = await tampered((ls) => [...ls.slice(0, 4), ls[5]!, ls[4]!, ...ls.slice(6)]);
  const r = verifyChain([file]);
  assert.deepEqual(pick(r), { line: 5, kind: 'reordered' });
  assert.match(r.broken!.message, /seq 5 is at line 6/);
});

test('inserted: a copied record, a forged record and a stray line', async () => {
  const copy = await tampered((ls) => [...ls.slice(0, 6), ls[2]!, ...ls.slice(6)]);
  assert.deepEqual(pick(verifyChain([copy])), { line: 7, kind: 'inserted' });
  const forged = await tampered((ls) => {
    const fake = ls[6]!.replace('"method":"shop.v1.Orders/M6"', '"method":"shop.v1.Orders/Forged"');
    return [...ls.slice(0, 6), fake, ...ls.slice(6)];
  });
  assert.deepEqual(pick(verifyChain([forged])), { line: 7, kind: 'inserted' });
  const stray = await tampered((ls) => [...ls.slice(0, 3), '{"note":"nothing to see"}', ...ls.slice(3)]);
  assert.deepEqual(pick(verifyChain([stray])), { line: 4, kind: 'inserted' });
});

test('truncated head: the first records cut off', async () => {
  const file = await tampered((ls) => ls.slice(3));
  assert.deepEqual(pick(verifyChain([file])), { line: 1, kind: 'truncated-head' });
});

test('a torn last line (crash mid-write, or the file cut) is named', async () => {
  const file = freshFile();
  await writeLog(file, 4);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.slice(0, -40));
  assert.deepEqual(pick(verifyChain([file])), { line: 4, kind: 'malformed' });
});

test('rotation: prev links the files in the order given; a missing or misordered file breaks the link', async () => {
  const live = freshFile();
  const log = new AuditLog(live);
  const rotated: string[] = [];
  for (let f = 0; f < 3; f++) {
    for (let i = 0; i < 4; i++) log.write(record(f * 10 + i));
    await until(() => existsSync(live) && lines(live).length === 4);
    const to = `${live}.${3 - f}`;
    renameSync(live, to);
    rotated.push(to);
    log.reopen();
  }
  for (let i = 0; i < 2; i++) log.write(record(100 + i));
  await log.close();
  const ordered = [...rotated, live]; // .3 .2 .1 live
  const all = verifyChain(ordered);
  assert.equal(all.ok, true, JSON.stringify(all.broken));
  assert.equal(all.records, 14);
  assert.deepEqual(all.files.map((f) => [f.firstSeq, f.lastSeq]), [[1, 4], [5, 8], [9, 12], [13, 14]]);
  // Each rotated-in file starts with prev = the previous file's last hash.
  assert.equal((JSON.parse(lines(live)[0]!) as { prev: string }).prev, (JSON.parse(lines(rotated[2]!).at(-1)!) as { hash: string }).hash);
  // A file alone still verifies (continuing from a prev not given).
  const alone = verifyChain([rotated[1]!]);
  assert.equal(alone.ok, true);
  assert.notEqual(alone.startsFrom, '');

  const gap = verifyChain([rotated[0]!, rotated[2]!, live]);
  assert.deepEqual(pick(gap), { line: 1, kind: 'broken-link' });
  assert.equal(gap.broken!.file, rotated[2]);
  const swapped = verifyChain([rotated[1]!, rotated[0]!]);
  assert.deepEqual(pick(swapped), { line: 1, kind: 'broken-link' });
  // The last record of a rotated file cut off: the next file's link breaks.
  writeLines(rotated[1]!, lines(rotated[1]!).slice(0, -1));
  assert.deepEqual(pick(verifyChain(ordered)), { line: 1, kind: 'broken-link' });
  assert.equal(verifyChain(ordered).broken!.file, rotated[2]);
});

test('restart: a new writer continues the chain of the file (seq and prev), also after a torn write', async () => {
  const file = freshFile();
  await writeLog(file, 3);
  await writeLog(file, 3, { from: 3 });
  const parsed = lines(file).map((l) => JSON.parse(l) as { seq: number; prev?: string; hash: string });
  assert.deepEqual(parsed.map((r) => r.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(parsed[3]!.prev, parsed[2]!.hash);
  assert.equal(verifyChain([file]).ok, true);

  // A crash tore the last write: the next writer ends that line and continues from the last whole record.
  writeFileSync(file, readFileSync(file, 'utf8').slice(0, -30));
  await writeLog(file, 2, { from: 6 });
  const after = lines(file);
  assert.equal(after.length, 8);
  const r = verifyChain([file]);
  assert.deepEqual(pick(r), { line: 6, kind: 'inserted' }); // the torn line; the chain continues after it
  assert.equal((JSON.parse(after[6]!) as { seq: number }).seq, 6);
});

test('a record that would exceed the queue is dropped, counted, and the next record says so', async () => {
  const file = freshFile();
  const log = new AuditLog(file, { maxPending: 2 });
  for (let i = 0; i < 5; i++) log.write(record(i));
  await new Promise((r) => setImmediate(r));
  log.write(record(9));
  await log.close();
  const parsed = lines(file).map((l) => JSON.parse(l) as { seq: number; dropped?: number });
  assert.deepEqual(parsed.map((r) => [r.seq, r.dropped]), [[1, undefined], [2, undefined], [3, 3]]);
  assert.deepEqual(log.stats, { written: 3, dropped: 3 });
  assert.equal(verifyChain([file]).ok, true);
});

test('an empty file is no break; an unreadable one is reported as such', async () => {
  const empty = freshFile();
  writeFileSync(empty, '');
  assert.equal(verifyChain([empty]).ok, true);
  assert.equal(verifyChain([join(dir, 'missing.log')]).broken?.kind, 'unreadable');
});

test('lines longer than one read chunk and files of many chunks verify', async () => {
  const file = freshFile();
  const log = new AuditLog(file, { maxBacklogBytes: 2 ** 31 });
  for (let i = 0; i < 3; i++) log.write({ ...record(i), detail: 'x'.repeat(9 * 1024 * 1024) });
  for (let i = 0; i < 20_000; i++) {
    log.write(record(i));
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  await log.close();
  assert.equal(log.stats.dropped, 0);
  const r = verifyChain([file]);
  assert.equal(r.ok, true, JSON.stringify(r.broken));
  assert.equal(r.records, 20_003);
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not met within 2.5 s');
}

function pick(r: ReturnType<typeof verifyChain>): { line: number; kind: string } | undefined {
  return r.broken === undefined ? undefined : { line: r.broken.line, kind: r.broken.kind };
}
