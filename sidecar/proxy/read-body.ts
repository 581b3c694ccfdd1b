// Reads a request body whole, bounded (data path): a declared content-length over the bound
// is refused before any byte is read; otherwise chunks are kept until the end or the bound.

import type { Readable } from 'node:stream';
import type { BodyRead } from '../core/exchange.js';

/** `onTooLarge` stops the source (pause it, mark the connection for closing). */
export function readBody(source: Readable, declared: string | undefined, maxBytes: number, onTooLarge: () => void): Promise<BodyRead> {
  if (declared !== undefined && Number(declared) > maxBytes) {
    onTooLarge();
    return Promise.resolve('too_large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyRead): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('close', onGone);
      source.off('aborted', onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        onTooLarge();
        done('too_large');
      } else chunks.push(chunk);
    };
    const onEnd = (): void => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onGone = (): void => done('aborted');
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('close', onGone);
    source.once('aborted', onGone);
  });
}
