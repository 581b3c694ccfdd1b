// `meshward policy lint|explain` with message validation (DESIGN §9): validate rules checked
// against the config's catalog.protos, and `explain --message` showing a message's violations.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPolicyCommand } from './policy.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'meshward-policy-validate-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPolicyCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A folder with a sidecar config (catalog.protos: the repo's proto/ unless `protos` says otherwise) and one policy. */
function setup(name: string, policy: string, protos: string[] = [join(repo, 'proto')]): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'orders.yaml'), policy);
  const config = join(dir, 'sidecar.yaml');
  writeFileSync(
    config,
    `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity: { trustDomain: cluster.local, certFile: tls.crt, keyFile: tls.key, caFile: ca.crt }
inbound: { app: 127.0.0.1:8080 }
policies: [policies/]
catalog: { protos: ${JSON.stringify(protos)} }
`,
  );
  return config;
}

const policy = (methods: string, validate = 'enforce', mode = 'enforce') => `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: orders }
spec:
  mode: ${mode}
  grpc:
    - methods: ${methods}
      allow: [{ principals: ["*"] }]
      validate: ${validate}
`;

const CALLER = 'spiffe://cluster.local/ns/web/sa/frontend';
const GOOD = JSON.stringify({
  orderId: 'o-123', customer: 'alice', quantity: 2, shipping: { country: 'DE', city: 'Berlin' }, items: [{ sku: 'sku-1', count: 1 }],
});

test('lint --config: a validate rule naming a method the descriptors do not declare is a problem', async () => {
  const bad = setup('lint-bad', policy('["meshward.demo.v1.Orders/PlaceOrdr"]'));
  const r = await run('lint', '--config', bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /orders\.yaml:7:17: \/spec\/grpc\/0\/methods\/0: validate: method "meshward\.demo\.v1\.Orders\/PlaceOrdr" is not in the descriptors of catalog\.protos \(did you mean "meshward\.demo\.v1\.Orders\/PlaceOrder"\?\)/);
  const ok = await run('lint', '--config', setup('lint-ok', policy('["meshward.demo.v1.Orders/*"]')));
  assert.equal(ok.code, 0, ok.err);
});

test('lint --config: validate without catalog.protos is a problem; lint without --config notes it did not check', async () => {
  const none = await run('lint', '--config', setup('lint-none', policy('["meshward.demo.v1.Orders/*"]'), []));
  assert.equal(none.code, 1);
  assert.match(none.err, /\/spec\/grpc\/0\/validate: validate needs the request messages' descriptors: set catalog\.protos/);
  setup('lint-plain', policy('["meshward.demo.v1.Orders/*"]'));
  const plain = await run('lint', join(root, 'lint-plain', 'policies'));
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.err, /^note: validate rules were not checked against descriptors/);
});

test('explain --message: a valid message', async () => {
  const config = setup('explain', policy('["meshward.demo.v1.Orders/*"]'));
  const r = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Orders/PlaceOrder', '--principal', CALLER, '--message', GOOD);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /^limits {5}validate enforce$/m);
  assert.match(r.out, /^message {4}VALID meshward\.demo\.v1\.PlaceOrderRequest/m);
});

test('explain --message: each violation with its path and constraint; refused → exit 1, audit → exit 0', async () => {
  const bad = JSON.stringify({ orderId: 'o', customer: 'Bob', quantity: 0, items: [{ sku: '', count: 1 }], express: true });
  const config = setup('explain-bad', policy('["meshward.demo.v1.Orders/*"]'));
  const r = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Orders/PlaceOrder', '--principal', CALLER, '--message', bad);
  assert.equal(r.code, 1);
  assert.match(r.out, /^message {4}INVALID meshward\.demo\.v1\.PlaceOrderRequest: 6 violation\(s\) \(invalid_message; refused: 3 INVALID_ARGUMENT\)$/m);
  for (const line of [
    '  FAIL order_id: string.min_len: must be at least 3 characters',
    '  FAIL quantity: int32.gte_lte: must be greater than or equal to 1 and less than or equal to 1000',
    '  FAIL shipping: required: value is required',
    '  FAIL items[0].sku: string.min_len: must be at least 1 characters',
    '  FAIL (message): order.express_currency: an express order names its currency',
  ]) assert.ok(r.out.split('\n').includes(line), `missing ${line} in\n${r.out}`);
  assert.match(r.out, /^ {2}FAIL customer: string\.pattern: /m);
  assert.match(r.out, /^verdict {4}DENY/m);

  const audit = setup('explain-audit', policy('["meshward.demo.v1.Orders/*"]', 'audit'));
  const a = await run('explain', '--config', audit, '--method', 'meshward.demo.v1.Orders/PlaceOrder', '--principal', CALLER, '--message', bad);
  assert.equal(a.code, 0);
  assert.match(a.out, /invalid_message; audit: forwarded, recorded as audit_deny/);
});

test('explain --message: JSON that does not fit the request type, and a method without validation', async () => {
  const config = setup('explain-json', policy('["meshward.demo.v1.Orders/*"]'));
  const r = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Orders/PlaceOrder', '--principal', CALLER, '--message', '{"quantity":"many"}');
  assert.equal(r.code, 1);
  assert.match(r.out, /^message {4}does not fit meshward\.demo\.v1\.PlaceOrderRequest \(undecodable_message\)/m);
  const usage = await run('explain', '--config', config, '--graphql', '{ a }', '--message', '{}');
  assert.equal(usage.code, 2);
});
