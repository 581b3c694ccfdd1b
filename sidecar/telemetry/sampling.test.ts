import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { createSampler, parentBasedRatio, samplingRuleFromEnv } from './sampling.js';
import { newTraceId } from './trace-context.js';

const parent = (sampled: boolean) => ({ traceId: newTraceId(), spanId: '00f067aa0ba902b7', sampled });

test('parent-based: a caller decision is followed whatever the ratio', () => {
  for (const ratio of [0, 0.01, 1]) {
    const s = createSampler(parentBasedRatio(ratio));
    assert.equal(s.sample(parent(true), newTraceId()), true);
    assert.equal(s.sample(parent(false), newTraceId()), false);
  }
});

test('roots are sampled at the ratio, deterministically by trace id', () => {
  const s = createSampler(parentBasedRatio(0.25));
  let yes = 0;
  const ids = Array.from({ length: 20_000 }, () => newTraceId());
  for (const id of ids) if (s.sample(undefined, id)) yes++;
  assert.ok(Math.abs(yes / ids.length - 0.25) < 0.02, `sampled ${yes} of ${ids.length}`);
  for (const id of ids.slice(0, 100)) assert.equal(s.sample(undefined, id), s.sample(undefined, id));
  assert.equal(createSampler(parentBasedRatio(1)).sample(undefined, ids[0]!), true);
  assert.equal(createSampler(parentBasedRatio(0)).sample(undefined, ids[0]!), false);
});

test('OTEL_TRACES_SAMPLER values', () => {
  const problems: string[] = [];
  const rule = (env: NodeJS.ProcessEnv) => samplingRuleFromEnv(env, problems);
  assert.equal(rule({}), undefined);
  assert.deepEqual(rule({ OTEL_TRACES_SAMPLER: 'always_on' }), { parentBased: false, ratio: 1, description: 'always_on' });
  assert.deepEqual(rule({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }), { parentBased: true, ratio: 0, description: 'parentbased_always_off' });
  assert.deepEqual(rule({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }), { parentBased: false, ratio: 0.5, description: 'traceidratio(0.5)' });
  assert.deepEqual(rule({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }), parentBasedRatio(0.01));
  assert.deepEqual(problems, []);
  assert.deepEqual(rule({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' }), parentBasedRatio(1));
  assert.equal(rule({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }), undefined);
  assert.equal(problems.length, 2);

  // Not parent-based: always_off ignores a sampled caller.
  assert.equal(createSampler(rule({ OTEL_TRACES_SAMPLER: 'always_off' })!).sample(parent(true), newTraceId()), false);
  assert.equal(createSampler(rule({ OTEL_TRACES_SAMPLER: 'always_on' })!).sample(parent(false), newTraceId()), true);
});

test('root decisions are the OpenTelemetry JS SDK ratio sampler decisions', () => {
  for (const ratio of [0.001, 0.01, 0.3, 0.999]) {
    const ours = createSampler({ parentBased: false, ratio, description: '' });
    const sdk = new TraceIdRatioBasedSampler(ratio);
    for (let i = 0; i < 5000; i++) {
      const id = newTraceId();
      assert.equal(ours.sample(undefined, id), sdk.shouldSample(ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED, `${ratio} ${id}`);
    }
  }
});
