import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Teardown } from './teardown.js';

test('steps run once, in order; a failing step is logged and the rest still run; a hanging one is bounded', async () => {
  const ran: string[] = [];
  const teardown = new Teardown([
    { name: 'a', run: () => void ran.push('a') },
    { name: 'fails', run: () => Promise.reject(new Error('x')).finally(() => ran.push('fails')) },
    { name: 'hangs', run: () => (ran.push('hangs'), new Promise(() => undefined)), timeoutMs: 30 },
    { name: 'sync throw', run: () => { ran.push('throws'); throw new Error('y'); } },
    { name: 'last', run: async () => void ran.push('last') },
  ]);
  const started = performance.now();
  await Promise.all([teardown.run(), teardown.run()]);
  await teardown.run();
  assert.deepEqual(ran, ['a', 'fails', 'hangs', 'throws', 'last']);
  assert.ok(performance.now() - started < 2000);
});
