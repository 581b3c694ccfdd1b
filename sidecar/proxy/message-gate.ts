// The request MessageGuards (core/body-hooks.ts) in a node stream pipe (data path): request
// bytes are gathered into complete gRPC messages; each is held until every guard passed it,
// then its original bytes go on. A refusal ends the call through `onRefused` (the forwarder
// resets the app's stream and answers the caller); nothing of that message is relayed.

import { Transform, type TransformCallback } from 'node:stream';
import type { MessageGuard } from '../core/body-hooks.js';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import { GrpcMessageFramer } from '../grpc/message-framer.js';

const GUARD_FAILED: Rejection = Object.freeze({ code: RejectCode.INTERNAL, reason: 'message_guard_error' });

export class MessageGate extends Transform {
  readonly #guards: readonly MessageGuard[];
  readonly #onRefused: (r: Rejection) => void;
  readonly #framer = new GrpcMessageFramer();
  #refused = false;

  constructor(guards: readonly MessageGuard[], onRefused: (r: Rejection) => void) {
    super();
    this.#guards = guards;
    this.#onRefused = onRefused;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#refused) return callback();
    this.#framer.push(chunk);
    this.#drain(callback);
  }

  /** An incomplete last message never passed the guards: it is not relayed. */
  override _flush(callback: TransformCallback): void {
    callback();
  }

  /** Relays every complete message the guards pass; waits (holding `callback`) while one is checked. */
  #drain(callback: TransformCallback): void {
    for (;;) {
      const message = this.#framer.next();
      if (message === undefined) return callback();
      const verdict = this.#check(message, 0);
      if (verdict instanceof Promise) {
        verdict.then(
          (r) => (r === undefined ? (this.push(message), this.#drain(callback)) : this.#refuse(r, callback)),
          () => this.#refuse(GUARD_FAILED, callback),
        );
        return;
      }
      if (verdict !== undefined) return this.#refuse(verdict, callback);
      this.push(message);
    }
  }

  /** Every guard in order, synchronously until one answers with a promise. */
  #check(message: Buffer, from: number): Rejection | undefined | Promise<Rejection | undefined> {
    for (let i = from; i < this.#guards.length; i++) {
      let r: Rejection | undefined | Promise<Rejection | undefined>;
      try {
        r = this.#guards[i]!.check(message);
      } catch {
        return GUARD_FAILED;
      }
      if (r instanceof Promise) return r.then((v) => (v === undefined ? this.#check(message, i + 1) : v));
      if (r !== undefined) return r;
    }
    return undefined;
  }

  #refuse(rejection: Rejection, callback: TransformCallback): void {
    if (this.destroyed) return;
    this.#refused = true;
    this.#onRefused(rejection);
    callback();
  }
}
