import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary, type DescMessage } from '@bufbuild/protobuf';
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { repoRoot } from '../../demo/repo-root.js';
import { parseMethodPattern } from '../policy/patterns.js';
import { CompiledDescriptors } from './compiled-descriptors.js';
import { checkMessage, type MessageCheck } from './message-check.js';
import { testDescriptors } from '../../integration/support/demo-declarations.js';

const compiled = new CompiledDescriptors(testDescriptors());

function checkOf(method: string, mode: 'enforce' | 'audit' = 'enforce'): MessageCheck {
  const pattern = parseMethodPattern(method);
  assert.ok(pattern.ok);
  const check = compiled.checksFor(pattern.value, { rule: 'test:grpc[0]', mode }).get(method);
  assert.ok(check, `no check for ${method}`);
  return check;
}

function encode(desc: DescMessage, init: Record<string, unknown>): Uint8Array {
  return toBinary(desc, create(desc, init as never));
}

const place = checkOf('meshward.demo.v1.Orders/PlaceOrder');
const Address = compiled.declarations.registry.getMessage('meshward.demo.v1.Address')!;
const LineItem = compiled.declarations.registry.getMessage('meshward.demo.v1.LineItem')!;
const valid = {
  orderId: 'o-123',
  customer: 'alice',
  quantity: 2,
  shipping: create(Address, { country: 'DE', city: 'Berlin' }),
  tags: ['gift'],
  items: [create(LineItem, { sku: 'sku-1', count: 1 })],
  express: true,
  currency: 'EUR',
  total: 12.5,
};

/** google.rpc.Status with BadRequest, decoded with protobufjs from the .proto files meshward ships. */
function decodeDetails(header: unknown): { code: number; message: string; violations: { field: string; description: string }[] } {
  const root = protobuf.loadSync([join(repoRoot, 'proto/google/rpc/status.proto'), join(repoRoot, 'proto/google/rpc/error_details.proto')]);
  const Status = root.lookupType('google.rpc.Status');
  const BadRequest = root.lookupType('google.rpc.BadRequest');
  const status = Status.toObject(Status.decode(Buffer.from(String(header), 'base64')), { defaults: true }) as {
    code: number;
    message: string;
    details: { type_url: string; value: Uint8Array }[];
  };
  assert.equal(status.details.length, 1);
  assert.equal(status.details[0]!.type_url, 'type.googleapis.com/google.rpc.BadRequest');
  const br = BadRequest.toObject(BadRequest.decode(status.details[0]!.value), { defaults: true }) as { fieldViolations: { field: string; description: string }[] };
  return { code: status.code, message: status.message, violations: br.fieldViolations };
}

describe('checkMessage', () => {
  it('passes a message that meets every constraint', () => {
    assert.equal(checkMessage(place, encode(place.input, valid)), undefined);
  });

  it('names each broken constraint kind, with protovalidate paths and no values', () => {
    const bad = encode(place.input, {
      ...valid,
      orderId: 'o1', // string length
      customer: 'Mallory!', // pattern
      quantity: 5000, // numeric range
      shipping: undefined, // required
      tags: ['', 'ok'], // repeated item rule
      items: [create(LineItem, { sku: '', count: 1 })], // nested message rules
      currency: '', // CEL message rule (express without currency)
    });
    const r = checkMessage(place, bad);
    assert.ok(r);
    assert.equal(r.code, 'INVALID_MESSAGE');
    assert.equal(r.reason, 'invalid_message');
    assert.equal(r.rule, 'test:grpc[0]');
    assert.deepEqual([...(r.constraints ?? [])].sort(), ['int32.gte_lte', 'order.express_currency', 'required', 'string.min_len', 'string.pattern'].sort());
    const d = decodeDetails(r.replyHeaders?.['grpc-status-details-bin']);
    assert.equal(d.code, 3);
    assert.equal(d.message, 'invalid request');
    const fields = d.violations.map((v) => v.field).sort();
    assert.deepEqual(fields, ['', 'customer', 'items[0].sku', 'order_id', 'quantity', 'shipping', 'tags[0]'].sort());
    const text = JSON.stringify(d.violations) + String(r.detail);
    for (const value of ['Mallory', '5000', 'o1"']) assert.ok(!text.includes(value), `${value} leaked: ${text}`);
    assert.ok(d.violations.find((v) => v.field === '')?.description.includes('an express order names its currency'));
  });

  it('refuses bytes that do not decode, with a prepared refusal', () => {
    const r = checkMessage(place, Buffer.from([0x0a, 0x05, 0x61]));
    assert.equal(r, place.undecodable);
    assert.equal(r?.reason, 'undecodable_message');
    assert.equal(r?.code, 'INVALID_MESSAGE');
  });

  it('keeps map keys out of the audit detail and a CEL rule without a message describes itself by id', () => {
    const labels = checkOf('meshward.test.v1.Fixtures/Labels');
    const r = checkMessage(labels, encode(labels.input, { labels: { 'secret-key': 'toolong' }, name: 'admin' }));
    assert.ok(r);
    assert.ok(!String(r.detail).includes('secret-key'), String(r.detail));
    assert.match(String(r.detail), /labels\[\*\] string\.max_len/);
    const d = decodeDetails(r.replyHeaders?.['grpc-status-details-bin']);
    const name = d.violations.find((v) => v.field === 'name');
    assert.equal(name?.description, 'violates name.not_admin');
    assert.ok(!JSON.stringify(d).includes('admin is reserved'));
  });

  it('does not hold bidi streams before the app sees them', () => {
    assert.equal(checkOf('meshward.test.v1.Fixtures/Chat').holdFirst, false);
    assert.equal(place.holdFirst, true);
    assert.equal(checkOf('meshward.demo.v1.Orders/ImportOrders').holdFirst, true);
  });
});

describe('CompiledDescriptors', () => {
  it('finds constraints that do not compile, and builds no check for them', () => {
    const broken = compiled.methods.get('meshward.test.v1.Fixtures/Broken');
    assert.ok(broken);
    assert.match(String(compiled.compileProblem(broken)), /broken|compil|parse/i);
    const pattern = parseMethodPattern('meshward.test.v1.Fixtures/*');
    assert.ok(pattern.ok);
    const checks = compiled.checksFor(pattern.value, { rule: 'r', mode: 'enforce' });
    assert.deepEqual([...checks.keys()].sort(), ['meshward.test.v1.Fixtures/Chat', 'meshward.test.v1.Fixtures/Labels']);
  });
});
