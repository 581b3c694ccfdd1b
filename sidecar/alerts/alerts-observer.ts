// The detectors' only touch on the request path (DATA path): when a call ends, count it on its
// caller × method pair — a call, a denial, a JWT failure that looks like an attack — and keep a
// recent trace id; and note calls of undeclared or deprecated methods (catalog.protos: one Map
// lookup) and of GraphQL fields the schema marks @deprecated (a lookup per selected field). No allocation for a known pair; the evaluation runs on a timer (evaluator.ts).

import type { DeclarationsSource } from '../catalog/declarations-model.js';
import type { Rejection } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallObserver } from '../pipeline/observers.js';
import { OTHER_METHOD, type MethodLabels } from '../telemetry/method-label.js';
import type { ApiUseTable } from './api-use-table.js';
import type { PairTable } from './pair-table.js';

/** The `principal` of callers without a verified SPIFFE ID (plaintext in `mtls: permissive`). */
export const UNAUTHENTICATED = 'unauthenticated';

export interface ApiCatalogWatch {
  readonly declarations: DeclarationsSource;
  readonly uses: ApiUseTable;
}

/** How a call ended, for annotations: `allowed`, `audit_deny` or the refusal's reason. */
function outcomeOf(ctx: Call, rejection: Rejection | undefined): string {
  return rejection === undefined ? (ctx.decision?.decision === 'audit_deny' ? 'audit_deny' : 'allowed') : rejection.reason;
}

export function alertsObserver(table: PairTable, labels: Pick<MethodLabels, 'label'>, catalog?: ApiCatalogWatch): CallObserver {
  return {
    ended(ctx, outcome) {
      // Methods no policy names share `_OTHER` (bounded, as the metrics): a scan of random
      // names is one pair per caller, and the name it used is kept as an example.
      const method = labels.label(ctx, outcome.grpcStatus);
      const pair = table.pair(ctx.peer.spiffeId ?? UNAUTHENTICATED, method);
      const traceId = ctx.trace?.traceId;
      pair.calls++;
      if (traceId !== undefined) pair.lastTraceId = traceId;
      if (method === OTHER_METHOD) pair.example = ctx.method?.fullName ?? ctx.path;
      const rejection = ctx.rejection ?? ctx.lateRejection;
      if (pair.calls === 1 && pair.windows === 0 && pair.firstReason === undefined) {
        pair.firstReason = outcomeOf(ctx, rejection);
        pair.firstTraceId = traceId;
      }
      if (catalog !== undefined) {
        const d = catalog.declarations.current;
        if (ctx.method !== undefined) {
          const declared = d.methods.get(ctx.method.fullName);
          if (declared === undefined ? d.grpcDeclared : declared.deprecated) {
            catalog.uses.record(declared === undefined ? 'shadow' : 'deprecated', ctx.method.fullName, pair.principal, outcomeOf(ctx, rejection), traceId, declared?.file);
          }
        } else if (d.graphqlFields.size > 0 && ctx.graphql?.fieldSets !== undefined) {
          // GraphQL: each selected field the schema marks @deprecated (the catalog's SDL).
          for (const fields of ctx.graphql.fieldSets) {
            for (const coordinate of fields.keys()) {
              const field = d.graphqlFields.get(coordinate);
              if (field?.deprecated === true) catalog.uses.record('deprecated_field', coordinate, pair.principal, outcomeOf(ctx, rejection), traceId, undefined, field.deprecationReason);
            }
          }
        }
      }
      if (rejection === undefined) return;
      pair.denies++;
      pair.lastDenyReason = rejection.reason;
      if (traceId !== undefined) pair.lastDenyTraceId = traceId;
      switch (rejection.reason) {
        case 'jwt_bad_signature':
          pair.jwtBadSignature++;
          break;
        case 'jwt_unknown_kid':
          pair.jwtUnknownKey++;
          break;
        case 'jwt_bad_algorithm':
          pair.jwtBadAlgorithm++;
          break;
        default:
          return;
      }
      if (traceId !== undefined) pair.lastJwtTraceId = traceId;
    },
  };
}
