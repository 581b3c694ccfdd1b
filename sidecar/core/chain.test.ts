import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChain } from './chain.js';
import { RejectCode } from './codes.js';
import { reject, type Filter as GenericFilter } from './filter.js';
import { encodeGrpcMessage } from './reply.js';

type Filter = GenericFilter<object>;
const ctx = {};
const pass = (seen: string[], name: string): Filter => ({ name, apply: () => void seen.push(name) });

test('all filters continue: the chain continues, synchronously', () => {
  const seen: string[] = [];
  const result = runChain([pass(seen, 'a'), pass(seen, 'b')], ctx);
  assert.equal(result, undefined);
  assert.deepEqual(seen, ['a', 'b']);
});

test('the first rejection stops the chain', () => {
  const seen: string[] = [];
  const denied = reject(RejectCode.PERMISSION_DENIED, 'default_deny');
  const result = runChain([pass(seen, 'a'), { name: 'deny', apply: () => denied }, pass(seen, 'c')], ctx);
  assert.equal(result, denied);
  assert.deepEqual(seen, ['a']);
});

test('an async filter makes the rest of the chain async, in order', async () => {
  const seen: string[] = [];
  const slow: Filter = { name: 'slow', apply: async () => void seen.push('slow') };
  const denied = reject(RejectCode.UNAUTHENTICATED, 'x');
  const result = runChain([pass(seen, 'a'), slow, pass(seen, 'c'), { name: 'deny', apply: () => denied }], ctx);
  assert.ok(result instanceof Promise);
  assert.equal(await result, denied);
  assert.deepEqual(seen, ['a', 'slow', 'c']);
});

test('a throwing filter fails closed with INTERNAL', async () => {
  const boom: Filter = { name: 'boom', apply: () => { throw new Error('bug'); } };
  assert.equal((runChain([boom], ctx) as { code: string }).code, RejectCode.INTERNAL);
  const asyncBoom: Filter = { name: 'aboom', apply: async () => { throw new Error('bug'); } };
  assert.equal((await runChain([asyncBoom], ctx))?.code, RejectCode.INTERNAL);
});

test('grpc-message is percent-encoded per the gRPC protocol', () => {
  assert.equal(encodeGrpcMessage('permission denied'), 'permission denied');
  assert.equal(encodeGrpcMessage('100%'), '100%25');
  assert.equal(encodeGrpcMessage('a\nb'), 'a%0Ab');
  assert.equal(encodeGrpcMessage('é'), '%C3%A9');
});
