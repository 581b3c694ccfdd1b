// The forwarder's side of message validation (data path): the caller's request bytes go
// through the call's message guard (validation/request-message-guard.ts) and only the
// messages it releases — complete, checked, their original bytes — are written to the app.
// Until the app's stream exists (the forward waits for a first valid message), released
// messages wait here; `onFirst` tells the forwarder to open it.

import type { Readable, Writable } from 'node:stream';
import type { MessageGuard, Rejection } from '../core/filter.js';

export class GuardedRequest {
  /** The forward may open the app's stream: a first message passed, or the caller sent none. */
  onFirst: (() => void) | undefined;
  /** The guard refused a message: end the call (nothing of the message was written). */
  onRefuse: (refusal: Rejection) => void = () => undefined;

  #dst: Writable | undefined;
  #pending: Buffer[] = [];
  #first = false;
  #ended = false;
  #stopped = false;
  #waiting = false;

  constructor(
    private readonly src: Readable,
    private readonly guard: MessageGuard,
  ) {
    src.on('data', this.#onData);
    src.on('end', this.#onEnd);
  }

  /** Starts writing to the app's side: the first request transform, or the upstream stream. */
  attach(dst: Writable): void {
    this.#dst = dst;
    const pending = this.#pending;
    this.#pending = [];
    for (const m of pending) this.#write(m);
    if (this.#ended && !dst.writableEnded && !dst.destroyed) dst.end();
  }

  /** The call ended otherwise (deadline, a limit, the caller left): check nothing more. */
  stop(): void {
    this.#stopped = true;
    this.#pending = [];
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#stopped) return;
    const refused = this.guard.push(chunk, this.#release);
    if (refused !== undefined) return this.#refuse(refused);
    if (this.#dst === undefined && this.guard.passed > 0) this.#openFirst();
  };

  readonly #onEnd = (): void => {
    if (this.#stopped) return;
    const refused = this.guard.end(this.#release);
    if (refused !== undefined) return this.#refuse(refused);
    this.#ended = true;
    const dst = this.#dst;
    if (dst === undefined) this.#openFirst();
    else if (!dst.writableEnded && !dst.destroyed) dst.end();
  };

  readonly #release = (message: Buffer): void => {
    if (this.#dst === undefined) this.#pending.push(message);
    else this.#write(message);
  };

  #write(message: Buffer): void {
    const dst = this.#dst!;
    if (dst.writableEnded || dst.destroyed) return;
    // Flow control end to end, as the plain relay does: pause the caller while the app is behind.
    if (!dst.write(message) && !this.#waiting) {
      this.#waiting = true;
      this.src.pause();
      dst.once('drain', this.#resume);
    }
  }

  readonly #resume = (): void => {
    this.#waiting = false;
    if (!this.#stopped) this.src.resume();
  };

  #openFirst(): void {
    if (this.#first) return;
    this.#first = true;
    this.onFirst?.();
  }

  #refuse(refusal: Rejection): void {
    this.stop();
    this.onRefuse(refusal);
  }
}
