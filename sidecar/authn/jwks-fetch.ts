// The fetch jose uses for remote JWKS (CONTROL path I/O, reached from a verification):
// bounds the response body, and aborts every fetch in flight when the authenticator closes.
// jose itself reads the whole body with response.json(), whatever its size.

import type { FetchImplementation } from 'jose';

export class JwksTooLargeError extends Error {
  override readonly name = 'JwksTooLargeError';
}

/** A FetchImplementation for jose's `customFetch` option; `closed` aborts fetches in flight. */
export function boundedJwksFetch(maxBytes: number, closed: AbortSignal): FetchImplementation {
  return async (url, init) => {
    // init.signal carries jose's timeout (AbortSignal.timeout), which also covers the body.
    const res = await fetch(url, { ...init, signal: AbortSignal.any([init.signal, closed]) });
    if (res.status !== 200 || res.body === null) {
      await res.body?.cancel();
      return res; // jose refuses anything but 200 without reading the body
    }
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > maxBytes) {
      await res.body.cancel();
      throw new JwksTooLargeError(`response of ${declared} bytes exceeds ${maxBytes}`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new JwksTooLargeError(`response exceeds ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
    return new Response(Buffer.concat(chunks), { status: 200, headers: res.headers });
  };
}
