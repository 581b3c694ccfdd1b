// `meshward_api_calls_total{method,status}` (DESIGN §8), read from the observation tables at
// scrape time: CONTROL path, nothing more is counted per call. `status` is declared,
// deprecated or undeclared by the current declarations; undeclared names are summed as
// `_OTHER` so a caller cannot create series.

import { header, labelText } from '../telemetry/metric-family.js';
import type { DeclarationsSource } from './declarations-model.js';
import { OTHER, type ObservationTable, type Observations } from './observations.js';

const NAME = 'meshward_api_calls_total';
const LABELS = ['method', 'status'] as const;

export function apiCallsCollector(observations: Observations, declarations: DeclarationsSource): () => string {
  return () => {
    const d = declarations.current;
    const rows = new Map<string, { method: string; status: string; value: number }>();
    const add = (table: ObservationTable, declared: ReadonlyMap<string, { readonly deprecated: boolean }>): void => {
      for (const [name, s] of table.names) {
        const decl = declared.get(name);
        const method = decl === undefined ? OTHER : name;
        const status = decl === undefined ? 'undeclared' : decl.deprecated ? 'deprecated' : 'declared';
        const k = `${method}\0${status}`;
        const row = rows.get(k);
        if (row === undefined) rows.set(k, { method, status, value: s.calls });
        else row.value += s.calls;
      }
    };
    add(observations.grpc, d.methods);
    add(observations.graphql, d.graphqlFields);
    let out = header(NAME, 'Calls per declared API (gRPC method or GraphQL field) by authenticated callers; status declared, deprecated or undeclared (as _OTHER).', 'counter');
    for (const r of rows.values()) out += `${NAME}${labelText(LABELS, [r.method, r.status])} ${r.value}\n`;
    return out;
  };
}
