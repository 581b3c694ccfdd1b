// Message validation end to end (issue 17, DESIGN §9): the built sidecar with catalog.protos
// (proto/, the demo's Orders service carries protovalidate constraints) in front of the echo
// app, which records every order it decodes. Valid, invalid (each constraint kind), compressed,
// undecodable and client-streaming messages: codes, decoded BadRequest details, audit records,
// and that the app saw only valid messages. Then audit mode and a rejected reload.

import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths, ordersService, type PlaceOrderRequest } from '../demo/proto.js';
import { repoRoot } from '../demo/repo-root.js';
import { readAudit, type AuditEntry } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient, importOrders, metadataRecord, ordersClient, placeOrder, unary } from './support/grpc-clients.js';
import { grpcFrame, rawRequest } from './support/raw-h2.js';
import { decodeStatusDetails } from './support/rpc-status.js';
import { runMeshward, startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const OK = 0;
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;

const policy = (validate: 'enforce' | 'audit', extraMethod = '') => `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: orders }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Orders/*"${extraMethod}]
      allow: [ { principals: ["*"] } ]
      validate: ${validate}
      maxMessageBytes: 4Ki
    - methods: ["meshward.demo.v1.Echo/*"]
      allow: [ { principals: ["*"] } ]
`;

let dir: string;
let auditFile: string;
let pki: Pki;
let app: EchoApp;
let sidecar: SidecarProcess;

const orders = () => ordersClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
const caller = () => clientTls(pki, pki.client) as { caPem: string; certPem: string; keyPem: string };

const VALID: PlaceOrderRequest = {
  orderId: 'o-100',
  customer: 'alice',
  quantity: 2,
  shipping: { country: 'DE', city: 'Berlin' },
  tags: ['gift'],
  items: [{ sku: 'sku-1', count: 1 }],
  express: true,
  currency: 'EUR',
  total: 19.5,
};

/** The order ids the app decoded, over every Orders call it saw. */
const appOrders = (): string[] => app.calls.flatMap((c) => (c.messages ?? []).map((m) => m.orderId ?? ''));
const appCallsTo = (path: string): number => app.calls.filter((c) => c.method === path).length;
const encode = (order: PlaceOrderRequest): Buffer => ordersService.PlaceOrder!.requestSerialize(order);

/** An ImportOrders call written by the test; `done` is its status. */
function openImport(): { call: grpc.ClientWritableStream<PlaceOrderRequest>; done: Promise<grpc.StatusObject> } {
  let call!: grpc.ClientWritableStream<PlaceOrderRequest>;
  const done = new Promise<grpc.StatusObject>((resolve) => {
    call = orders().ImportOrders(new grpc.Metadata(), { deadline: Date.now() + 10_000 }, () => undefined);
    call.on('status', resolve);
  });
  return { call, done };
}

/** Polls (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function policiesStatus(): Promise<{ version: string; lastError?: { problems: string[] } }> {
  return (await (await fetch(`http://${sidecar.admin}/policies`)).json()) as { version: string; lastError?: { problems: string[] } };
}

async function waitStatus(pred: (s: Awaited<ReturnType<typeof policiesStatus>>) => boolean): Promise<Awaited<ReturnType<typeof policiesStatus>>> {
  for (let i = 0; i < 200; i++) {
    const s = await policiesStatus();
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the policy status did not change');
}

/**
 * The one record after the first `before` that `match` picks, waiting (bounded) for it. A call's
 * record may be written when its stream closes, a moment after the caller has its answer, so
 * a test looks for its own record rather than taking the next one.
 */
async function recordAfter(before: number, match: (r: AuditEntry) => boolean): Promise<AuditEntry> {
  for (let i = 0; i < 200; i++) {
    const found = (await readAudit(auditFile)).slice(before).filter(match);
    if (found.length > 0) {
      assert.equal(found.length, 1, `one record, got ${JSON.stringify(found)}`);
      return found[0]!;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('no such audit record');
}

/** A refused PlaceOrder: 3, generic message, BadRequest with `fields`, one audit record naming `constraints`; the app never saw the call. */
async function expectRefused(order: PlaceOrderRequest, fields: string[], constraints: string[]): Promise<AuditEntry> {
  const audits = (await readAudit(auditFile)).length;
  const calls = appCallsTo(methodPaths.placeOrder);
  const r = await placeOrder(orders(), order);
  assert.equal(r.status, INVALID_ARGUMENT, r.details);
  assert.equal(r.details, 'invalid request');
  const s = decodeStatusDetails(r.metadata['grpc-status-details-bin']);
  assert.equal(s.code, INVALID_ARGUMENT);
  assert.equal(s.message, 'invalid request');
  assert.deepEqual(s.types, ['type.googleapis.com/google.rpc.BadRequest']);
  assert.deepEqual(s.fieldViolations?.map((v) => v.field).sort(), [...fields].sort());
  for (const v of s.fieldViolations ?? []) assert.ok(v.description.length > 0, `no description for ${v.field}`);
  const key = [...constraints].sort().join();
  const record = await recordAfter(
    audits,
    (r) => r.method === 'meshward.demo.v1.Orders/PlaceOrder' && r.reason === 'invalid_message' && r.decision === 'deny' && [...(r.constraints ?? [])].sort().join() === key,
  );
  assert.equal(record.rule, 'orders:grpc[0]');
  assert.equal(record.status, INVALID_ARGUMENT);
  assert.equal(record.method, 'meshward.demo.v1.Orders/PlaceOrder');
  assert.deepEqual([...record.constraints].sort(), [...constraints].sort());
  assert.equal(appCallsTo(methodPaths.placeOrder), calls, 'the app never saw the refused call');
  return record;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-validation-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'orders.yaml'), policy('enforce'));
  auditFile = join(dir, 'audit.log');
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
  const extra = `policies: [policies/]\naudit: { file: audit.log }\ncatalog: { protos: [${JSON.stringify(join(repoRoot, 'proto'))}] }\n`;
  // The protos are parsed and their validators compiled before the sidecar is ready.
  sidecar = await startSidecar(await writeSidecarConfig(dir, { appPort: app.port, pki, extra }), { timeoutMs: 30_000 });
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('validate: enforce', () => {
  test('a valid order reaches the app unchanged', async () => {
    const r = await placeOrder(orders(), VALID);
    assert.equal(r.status, OK, r.details);
    assert.deepEqual(r.reply?.orderIds, ['o-100']);
    const seen = app.calls.at(-1)?.messages?.[0];
    assert.equal(seen?.customer, 'alice');
    assert.equal(seen?.total, 19.5);
  });

  test('string length', async () => void await expectRefused({ ...VALID, orderId: 'o1' }, ['order_id'], ['string.min_len']));
  test('string pattern', async () => void await expectRefused({ ...VALID, customer: 'Mallory!' }, ['customer'], ['string.pattern']));
  test('numeric range', async () => void await expectRefused({ ...VALID, quantity: 5000 }, ['quantity'], ['int32.gte_lte']));
  test('required', async () => void await expectRefused({ ...VALID, shipping: undefined }, ['shipping'], ['required']));
  test('repeated: item rules and nested messages', async () =>
    void await expectRefused({ ...VALID, tags: ['ok', ''], items: [{ sku: 'a', count: 1 }, { sku: 'b', count: 0 }] }, ['tags[1]', 'items[1].count'], ['string.min_len', 'int32.gt_lte']));
  test('a CEL rule over the message', async () => void await expectRefused({ ...VALID, currency: '' }, [''], ['order.express_currency']));

  test('the caller never gets the value back, the audit record never holds it', async () => {
    const record = await expectRefused({ ...VALID, customer: 'SECRET-VALUE', quantity: 999999 }, ['customer', 'quantity'], ['string.pattern', 'int32.gte_lte']);
    assert.ok(!JSON.stringify(record).includes('SECRET'));
    assert.ok(!JSON.stringify(record).includes('999999'));
  });

  test('gzip: a compressed valid order passes (the app inflates it), an invalid one is refused', async () => {
    const headers = { 'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'identity,gzip' };
    const ok = await rawRequest(sidecar.inbound, caller(), { path: methodPaths.placeOrder, headers, body: grpcFrame(gzipSync(encode({ ...VALID, orderId: 'o-gzip' })), true) });
    assert.equal(ok.trailers['grpc-status'] ?? ok.headers['grpc-status'], '0');
    assert.ok(appOrders().includes('o-gzip'));
    const bad = await rawRequest(sidecar.inbound, caller(), { path: methodPaths.placeOrder, headers, body: grpcFrame(gzipSync(encode({ ...VALID, orderId: 'x' })), true) });
    assert.equal(bad.headers['grpc-status'], String(INVALID_ARGUMENT));
    assert.equal(decodeStatusDetails(bad.headers['grpc-status-details-bin'] as string).fieldViolations?.[0]?.field, 'order_id');
    assert.ok(!appOrders().includes('x'));
  });

  test('gzip: a message that inflates past maxMessageBytes is 8 message too large', async () => {
    const calls = appCallsTo(methodPaths.placeOrder);
    const bomb = encode({ ...VALID, note: 'a'.repeat(64 * 1024) });
    const r = await rawRequest(sidecar.inbound, caller(), { path: methodPaths.placeOrder, headers: { 'grpc-encoding': 'gzip' }, body: grpcFrame(gzipSync(bomb), true) });
    assert.equal(r.headers['grpc-status'], String(RESOURCE_EXHAUSTED));
    assert.equal(r.headers['grpc-message'], 'message too large');
    assert.equal(appCallsTo(methodPaths.placeOrder), calls);
  });

  test('bytes that do not decode: 3, undecodable_message, never forwarded', async () => {
    const audits = (await readAudit(auditFile)).length;
    const calls = appCallsTo(methodPaths.placeOrder);
    const r = await rawRequest(sidecar.inbound, caller(), { path: methodPaths.placeOrder, body: grpcFrame(Buffer.from([0x0a, 0x7f, 0x61])) });
    assert.equal(r.headers['grpc-status'], String(INVALID_ARGUMENT));
    assert.equal(r.headers['grpc-message'], 'invalid request');
    const record = await recordAfter(audits, (r) => r.reason === 'undecodable_message');
    assert.equal(record.decision, 'deny');
    assert.equal(record.status, INVALID_ARGUMENT);
    assert.equal(appCallsTo(methodPaths.placeOrder), calls);
  });

  test('client streaming: valid orders pass; the first invalid one ends the call and never reaches the app', async () => {
    const all = await importOrders(orders(), [1, 2, 3].map((i) => ({ ...VALID, orderId: `stream-ok-${i}` })));
    assert.equal(all.status, OK, all.details);
    assert.equal(all.reply?.accepted, 3);

    // The valid messages first, until the app has them (a cancel may overtake messages the app
    // has not read yet); then an invalid one and one after it.
    const audits = (await readAudit(auditFile)).length;
    const { call, done } = openImport();
    for (const i of [1, 2, 3]) call.write({ ...VALID, orderId: `stream-${i}` });
    await until(() => ['stream-1', 'stream-2', 'stream-3'].every((id) => appOrders().includes(id)), 'the valid messages at the app');
    call.write({ ...VALID, orderId: 'stream-bad', quantity: 0 });
    call.write({ ...VALID, orderId: 'stream-after' });
    call.end();
    const r = await done;
    assert.equal(r.code, INVALID_ARGUMENT);
    assert.equal(r.details, 'invalid request');
    assert.equal(decodeStatusDetails(metadataRecord(r.metadata)['grpc-status-details-bin']).fieldViolations?.[0]?.field, 'quantity');
    const seen = appOrders();
    assert.ok(!seen.includes('stream-bad') && !seen.includes('stream-after'), 'nothing from the invalid message on');
    const record = await recordAfter(audits, (r) => r.method === 'meshward.demo.v1.Orders/ImportOrders' && r.reason === 'invalid_message');
    assert.deepEqual(record.constraints, ['int32.gte_lte']);

    const first = appCallsTo(methodPaths.importOrders);
    const r2 = await importOrders(orders(), [{ ...VALID, orderId: '' }, { ...VALID, orderId: 'never' }]);
    assert.equal(r2.status, INVALID_ARGUMENT);
    assert.equal(appCallsTo(methodPaths.importOrders), first, 'a stream whose first message is invalid never reaches the app');
  });

  test('every message the app decoded was a valid one', () => {
    const invalid = ['o1', 'x', 'stream-bad', 'stream-after', 'never', ''];
    for (const id of appOrders()) assert.ok(!invalid.includes(id), `the app saw ${id}`);
    for (const c of app.calls) for (const m of c.messages ?? []) assert.equal(m.customer, 'alice');
  });

  test('calls of rules without validate are relayed as before', async () => {
    const r = await unary(echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' }), { message: 'not validated' });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.reply?.message, 'not validated');
  });
});

describe('reload', () => {
  test('a validate rule naming an undeclared method is rejected whole; the enforcing snapshot stays', async () => {
    const v1 = (await policiesStatus()).version;
    await writeFile(join(dir, 'policies', 'orders.yaml'), policy('audit', ', "meshward.demo.v1.Orders/Refund"'));
    const s = await waitStatus((st) => st.lastError !== undefined);
    assert.equal(s.version, v1);
    assert.match(s.lastError!.problems.join('\n'), /orders\.yaml:6:\d+: \/spec\/grpc\/0\/methods\/1: validate: method "meshward\.demo\.v1\.Orders\/Refund" is not in the descriptors/);
    assert.equal((await placeOrder(orders(), { ...VALID, orderId: 'o2' })).status, INVALID_ARGUMENT);
  });

  test('validate: audit forwards an invalid order and records audit_deny with the constraints', async () => {
    const v1 = (await policiesStatus()).version;
    await writeFile(join(dir, 'policies', 'orders.yaml'), policy('audit'));
    await waitStatus((st) => st.version !== v1 && st.lastError === undefined);
    const audits = (await readAudit(auditFile)).length;
    const r = await placeOrder(orders(), { ...VALID, orderId: 'o3', quantity: 0 });
    assert.equal(r.status, OK, r.details);
    assert.ok(appOrders().includes('o3'), 'forwarded');
    const record = await recordAfter(audits, (r) => r.decision === 'audit_deny' && r.reason === 'invalid_message');
    assert.equal(record.rule, 'orders:grpc[0]');
    assert.equal(record.status, OK);
    assert.deepEqual([...(record.constraints ?? [])].sort(), ['int32.gte_lte', 'string.min_len']);
  });

  test("the audit log's hash chain holds over the validation records", async () => {
    const verified = await runMeshward(['audit', 'verify', auditFile]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });
});
