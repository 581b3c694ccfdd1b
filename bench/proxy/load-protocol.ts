// What the harness and a load driver exchange: the load to apply and what it measured.
// Two drivers implement it: the Node generator (load-generator.ts, presents a client
// certificate) and h2load (h2load-driver.ts, plaintext hops only). Within one scenario
// every target is driven by the same driver, so their numbers are comparable.

export interface TlsClient {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The server's SPIFFE ID, checked as the mesh would (the certs carry no IP SAN). */
  readonly expectServerId: string;
}

export interface LoadTarget {
  /** `127.0.0.1:port` */
  readonly authority: string;
  /** undefined = plaintext h2c (prior knowledge). */
  readonly tls?: TlsClient;
}

export type LoadSpec =
  | {
      /** Closed loop: `connections × streams` calls in flight, each slot sends again when its call ends. */
      readonly mode: 'saturate';
      readonly connections: number;
      readonly streams: number;
      readonly maxCalls: number;
      readonly maxMs: number;
    }
  | {
      /** Open loop: calls started at a fixed rate, whatever the answers do (no coordinated omission). */
      readonly mode: 'rate';
      readonly connections: number;
      readonly rate: number;
      readonly maxCalls: number;
      readonly maxMs: number;
    };

export interface LoadResult {
  readonly calls: number;
  /** Calls that did not end with HTTP 200 and grpc-status 0 (or were reset). */
  readonly errors: number;
  /** First few error descriptions, for the report when something is wrong. */
  readonly errorSamples: readonly string[];
  readonly elapsedMs: number;
  /** Latency percentiles of completed calls, ms (send to stream close). */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The driver's own CPU during the run, ms (undefined when not known). */
  readonly driverCpuMs: number | undefined;
  /** Open loop: the most the sender fell behind its schedule, ms (a loaded generator shows here). */
  readonly maxLagMs: number;
}

export type ToGenerator =
  | { readonly type: 'prepare'; readonly target: LoadTarget; readonly spec: LoadSpec }
  | { readonly type: 'go' };

export type FromGenerator =
  | { readonly type: 'prepared' }
  | { readonly type: 'result'; readonly result: LoadResult }
  | { readonly type: 'failed'; readonly error: string };

/** Percentile (nearest rank) of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
