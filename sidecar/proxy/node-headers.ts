// The request headers of an HTTP/1.1 request (node:http) as the call sees them
// (data path): lookups go to Node's own headers object (built by Node anyway, so a call costs
// no extra parsing), the ordered pairs to its raw list.

import type { IncomingHttpHeaders } from 'node:http';
import type { CallHeaders } from '../core/exchange.js';

export class NodeHeaders implements CallHeaders {
  constructor(
    /** Node's headers object: lowercase names; duplicates kept first or joined, as Node does. */
    readonly object: IncomingHttpHeaders,
    readonly pairs: readonly string[],
  ) {}

  get(name: string): string | undefined {
    const v = this.object[name];
    return typeof v === 'string' || v === undefined ? v : v[0];
  }
}
