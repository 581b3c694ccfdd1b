// The catalog's call observer (DATA path, DESIGN §8): when meshward has decided a call, it
// counts the gRPC method, or each GraphQL field the operations select, for the caller.
// Only calls that passed authentication count (a verified SPIFFE ID, no JWT refusal), so a
// scan by an unknown peer cannot fill the tables.

import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallObserver } from '../pipeline/observers.js';
import { UNDECLARED_REASON, type DeclarationsSource } from './declarations-model.js';
import { Outcome, type CatalogClock, type Observations } from './observations.js';

/** Introspection (`Query.__schema`, `__Type.name`) and `__typename`: GraphQL's own, not the app's API. */
function isMetaField(coordinate: string): boolean {
  return coordinate.charCodeAt(0) === 95 /* _ */ || coordinate.includes('.__');
}

export function catalogObserver(observations: Observations, declarations: DeclarationsSource, clock: CatalogClock): CallObserver {
  const { grpc, graphql } = observations;
  return {
    decided(ctx: Call, rejection: Rejection | undefined): void {
      const principal = ctx.peer.spiffeId;
      if (!ctx.peer.authenticated || principal === undefined) return;
      if (rejection !== undefined && rejection.code === RejectCode.UNAUTHENTICATED) return;
      const outcome = rejection === undefined ? Outcome.FORWARDED : rejection.reason === UNDECLARED_REASON ? Outcome.REFUSED_UNDECLARED : Outcome.REFUSED;
      if (ctx.protocol === 'grpc') {
        const method = ctx.method;
        if (method !== undefined) grpc.record(method.fullName, principal, outcome, clock.second, declarations.current.methods);
        return;
      }
      const sets = ctx.graphql?.fieldSets;
      if (sets === undefined || sets.length === 0) return;
      const at = clock.second;
      const declared = declarations.current.graphqlFields;
      for (const fields of sets) {
        for (const coordinate of fields.keys()) if (!isMetaField(coordinate)) graphql.record(coordinate, principal, outcome, at, declared);
      }
    },
  };
}
