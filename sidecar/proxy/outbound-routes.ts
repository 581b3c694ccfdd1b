// Outbound routes (built once per config, data-path lookups): `:authority` → the remote
// sidecar's address, the SPIFFE ID it must present, and a pooled mTLS upstream that
// presents this workload's current SVID.

import type { PeerCertificate } from 'node:tls';
import type { HostPort } from '../core/host-port.js';
import type { Snapshot } from '../core/snapshot.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';
import { uriSansOf } from '../identity/peer-identity.js';
import { H2UpstreamPool } from '../h2/upstream-pool.js';
import { logReachability, upstreamH2Options } from './upstream-options.js';
import { CodecGrpcForwarder } from './codec-grpc-forwarder.js';

export interface RouteConfig {
  readonly authority: string;
  readonly address: HostPort;
  readonly identity: string;
}

export interface OutboundRoute extends RouteConfig {
  readonly pool: H2UpstreamPool;
  readonly forwarder: CodecGrpcForwarder;
}

/** The check of the remote sidecar's certificate: exactly one URI SAN, equal to the route's identity. */
export function expectSpiffeId(expected: string) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const uris = uriSansOf(cert.subjectaltname);
    if (uris.length === 1 && uris[0] === expected) return undefined;
    return new Error(`remote sidecar presented [${uris.join(', ')}], route expects ${expected}`);
  };
}

export class OutboundRoutes {
  private readonly byAuthority = new Map<string, OutboundRoute>();

  constructor(routes: readonly RouteConfig[], identity: Snapshot<WorkloadIdentity>) {
    for (const r of routes) {
      const host = r.authority.replace(/:\d+$/, '');
      // mTLS to the remote sidecar on meshward's own HTTP/2: the route's SPIFFE ID is checked
      // in the handshake (checkServerIdentity), so no stream goes to anyone else.
      const pool = new H2UpstreamPool(
        {
          host: r.address.host,
          port: r.address.port,
          tls: () => {
            const id = identity.current;
            return {
              key: id.keyPem,
              cert: id.certPem,
              ca: id.caPem,
              minVersion: 'TLSv1.2',
              servername: host,
              checkServerIdentity: expectSpiffeId(r.identity),
            };
          },
          onReachability: logReachability(`${r.address.host}:${r.address.port}`),
        },
        upstreamH2Options,
      );
      const route: OutboundRoute = { ...r, pool, forwarder: new CodecGrpcForwarder(pool, identity.current.spiffeId, 'https') };
      this.byAuthority.set(r.authority.toLowerCase(), route);
    }
  }

  /** The route for a call's `:authority` (host names are case-insensitive). */
  lookup(authority: string | undefined): OutboundRoute | undefined {
    if (authority === undefined) return undefined;
    return this.byAuthority.get(authority) ?? this.byAuthority.get(authority.toLowerCase());
  }

  /** Whether some route serves `authority` (the route filter asks). */
  has(authority: string | undefined): boolean {
    return this.lookup(authority) !== undefined;
  }

  /** After certificate rotation: new calls use new connections with the new SVID. */
  refresh(): void {
    for (const r of this.byAuthority.values()) r.pool.refresh();
  }

  async close(): Promise<void> {
    await Promise.all([...this.byAuthority.values()].map((r) => r.pool.close()));
  }

  destroy(): void {
    for (const r of this.byAuthority.values()) r.pool.destroy();
  }
}
