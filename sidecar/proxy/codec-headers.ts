// The request headers of a stream of meshward's own HTTP/2 codec as the call sees them (data
// path): the decoded fields in order, duplicates kept, as `pairs`; `get` finds a name's first
// value with a scan (a request has a dozen fields: cheaper than building a map per call). The
// object form that Node's HTTP APIs take is built only when asked (the GraphQL forwarder).

import type { IncomingHttpHeaders } from 'node:http';
import type { CallHeaders } from '../core/exchange.js';

export class CodecHeaders implements CallHeaders {
  #object: IncomingHttpHeaders | undefined;

  constructor(readonly pairs: readonly string[]) {}

  /** The first value of `name`; `:authority` falls back to `host` (RFC 9113 §8.3.1: nginx's grpc_pass sends only host). */
  get(name: string): string | undefined {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === name) return p[i + 1];
    return name === ':authority' ? this.get('host') : undefined;
  }

  /** As Node builds it: duplicates joined with ", " ("; " for cookie), set-cookie as a list. */
  get object(): IncomingHttpHeaders {
    if (this.#object !== undefined) return this.#object;
    const out: Record<string, string | string[]> = {};
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) {
      const name = p[i]!;
      const value = p[i + 1]!;
      const had = out[name];
      if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
      else if (Array.isArray(had)) had.push(value);
      else out[name] = `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
    return (this.#object = out as IncomingHttpHeaders);
  }
}
