// MeshwardShadowApi and MeshwardDeprecatedApi (DESIGN §10): a gRPC method that catalog.protos
// does not declare, or declares deprecated, was called, or a GraphQL field the schema marks
// @deprecated was selected — once per method and caller, as an
// event alert (active for eventFor). CONTROL path (evaluation timer, from ApiUseTable.takeFresh).

import { clip, type AlertDraft } from './alert.js';
import type { ApiUse } from './api-use-table.js';

export function apiUseAlert(use: ApiUse, declarationsVersion: string): AlertDraft {
  const method = clip(use.method);
  const numbers = {
    first_seen: new Date(use.firstSeen).toISOString(),
    first_outcome: use.firstOutcome,
    declarations_version: declarationsVersion,
  };
  if (use.kind === 'shadow') {
    return {
      alertname: 'MeshwardShadowApi',
      severity: 'warning',
      method,
      principal: use.principal,
      summary: `Shadow API: ${use.principal} called ${method}, which catalog.protos does not declare (${use.firstOutcome})`,
      description:
        `${method} is not a method of any service in catalog.protos. Either the app serves an API nobody declared ` +
        `(add it to the .proto files, or remove it), or a caller is probing for one. GET /catalog lists every shadow method.`,
      traceId: use.traceId,
      rule: 'a gRPC method not declared in catalog.protos was called',
      numbers,
    };
  }
  if (use.kind === 'deprecated_field') {
    return {
      alertname: 'MeshwardDeprecatedApi',
      severity: 'info',
      method,
      principal: use.principal,
      summary: `Deprecated API in use: ${use.principal} selected the GraphQL field ${method}`,
      description:
        `${method} is marked @deprecated in the GraphQL schema` +
        `${use.reason === undefined ? '' : ` (${clip(use.reason)})`} and ${use.principal} still selects it. Tell its owners before the field is removed.`,
      traceId: use.traceId,
      rule: 'a GraphQL field marked @deprecated in inbound.graphql.schemaFile was selected',
      numbers: use.reason === undefined ? numbers : { ...numbers, deprecation_reason: clip(use.reason) },
    };
  }
  return {
    alertname: 'MeshwardDeprecatedApi',
    severity: 'info',
    method,
    principal: use.principal,
    summary: `Deprecated API in use: ${use.principal} called ${method}`,
    description:
      `${method} is marked deprecated (option deprecated = true on the method or its service` +
      `${use.file === undefined ? '' : ` in ${use.file}`}) and ${use.principal} still calls it. Tell its owners before the method is removed.`,
    traceId: use.traceId,
    rule: 'a gRPC method declared deprecated in catalog.protos was called',
    numbers: use.file === undefined ? numbers : { ...numbers, file: use.file },
  };
}
