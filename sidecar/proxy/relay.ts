// Moves a call's streamed body from one node stream to another (data path), honouring the
// call's body hooks (core/body-hooks.ts): the request ChunkGuard sees each chunk before it
// is relayed; stages (pacing) sit between the two ends as Transforms. (The message guard's
// own path is guarded-request.ts, which writes into sinkThrough.)

import type { Readable, Transform, Writable } from 'node:stream';
import type { ChunkGuard } from '../core/body-hooks.js';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';

/**
 * Moves bytes from `src` to `dst` with flow control, as `src.pipe(dst)` does but with two
 * listeners instead of pipe's dozen added and removed per call (on an Http2Stream each
 * listener change also emits 'newListener'/'removeListener'). Once `dst` is ended or
 * destroyed (a deadline or a refusal finished the call) chunks are dropped. With a guard, each
 * chunk is checked first; a refused chunk is never written, and `onRefused` ends the call.
 */
export function relay(src: Readable, dst: Writable, guard?: ChunkGuard, onRefused?: (r: Rejection) => void): void {
  let waiting = false;
  let refused = false;
  const resume = (): void => {
    waiting = false;
    src.resume();
  };
  src.on('data', (chunk: Buffer) => {
    if (refused) return;
    if (guard !== undefined) {
      const r = guard.check(chunk);
      if (r !== undefined) {
        refused = true;
        onRefused?.(r);
        return;
      }
    }
    if (dst.writableEnded || dst.destroyed) return;
    if (!dst.write(chunk) && !waiting) {
      waiting = true;
      src.pause();
      dst.once('drain', resume);
    }
  });
  src.on('end', () => {
    if (!dst.writableEnded && !dst.destroyed) dst.end();
  });
}

/**
 * `src` → stages → `dst`. Without stages this is one relay (the guard inside it); with stages
 * the guard watches `src` itself, so it still sees every chunk before the first stage does.
 * A stage that fails ends the call with `failed`. Returns what feeds `dst`.
 */
export function relayThrough(
  src: Readable,
  stages: readonly Transform[] | undefined,
  dst: Writable,
  guard: ChunkGuard | undefined,
  onRefused: (r: Rejection) => void,
  failed: Rejection,
): Readable {
  if (stages === undefined || stages.length === 0) {
    relay(src, dst, guard, onRefused);
    return src;
  }
  if (guard !== undefined) {
    let refused = false;
    // Registered before the pipe's own 'data' listener: it sees each chunk first.
    src.on('data', (chunk: Buffer) => {
      if (refused) return;
      const r = guard.check(chunk);
      if (r !== undefined) {
        refused = true;
        onRefused(r);
      }
    });
  }
  let tail = src;
  for (const stage of stages) {
    stage.once('error', () => onRefused(failed));
    tail = tail.pipe(stage);
  }
  relay(tail, dst);
  return tail;
}

/**
 * Where bytes written by someone else (the guarded request) go on their way to `dst`: the
 * first stage, the rest piped on and relayed into `dst`; or `dst` itself without stages.
 */
export function sinkThrough(stages: readonly Transform[] | undefined, dst: Writable, onRefused: (r: Rejection) => void, failed: Rejection = STAGE_FAILED): Writable {
  if (stages === undefined || stages.length === 0) return dst;
  let tail: Readable = stages[0]!;
  stages[0]!.once('error', () => onRefused(failed));
  for (let i = 1; i < stages.length; i++) {
    const t = stages[i]!;
    t.once('error', () => onRefused(failed));
    tail = tail.pipe(t);
  }
  relay(tail, dst);
  return stages[0]!;
}

const STAGE_FAILED: Rejection = Object.freeze({ code: RejectCode.INTERNAL, reason: 'transform_error' });
