// The API catalog assembled for one sidecar process (DESIGN §8): observations, the call
// observer, the /catalog view, the metric and the state file. CONTROL path; the observer it
// hands out is the data-path part (the undeclared-method filter is filters/undeclared-filter.ts).

import type { CallObserver } from '../pipeline/observers.js';
import { apiCallsCollector } from './catalog-metrics.js';
import { catalogObserver } from './catalog-observer.js';
import { CatalogStateFile } from './catalog-state.js';
import { buildCatalogView, type CatalogView } from './catalog-view.js';
import type { DeclarationsSource, UndeclaredMode } from './declarations-model.js';
import { Observations, SecondClock } from './observations.js';

export interface CatalogOptions {
  /** The store (declarations.ts), or a fixed snapshot; `status` shows a rejected reload in /catalog. */
  readonly declarations: DeclarationsSource & { status?(): { readonly lastError?: { readonly at: string; readonly problems: readonly string[] } | undefined } };
  /** `catalog.undeclared`, shown in the view. */
  readonly undeclared: UndeclaredMode;
  readonly stateFile: string | undefined;
  readonly zombieAfterMs: number;
  /** This sidecar's SPIFFE ID and service name, shown in the view. */
  readonly identity: string | null;
  readonly service: string | null;
}

export interface Catalog {
  readonly observations: Observations;
  readonly observer: CallObserver;
  /** /metrics collector: meshward_api_calls_total. */
  readonly metrics: () => string;
  view(): CatalogView;
  /** Restores the state file and starts writing it. */
  start(): void;
  /** Writes the state file one last time. */
  close(): Promise<void>;
}

export function createCatalog(opts: CatalogOptions): Catalog {
  const observations = new Observations();
  const clock = new SecondClock();
  const { declarations } = opts;
  const state = opts.stateFile === undefined ? undefined : new CatalogStateFile(opts.stateFile, observations, declarations);
  return {
    observations,
    observer: catalogObserver(observations, declarations, clock),
    metrics: apiCallsCollector(observations, declarations),
    view: () =>
      buildCatalogView(declarations.current, observations, {
        identity: opts.identity,
        service: opts.service,
        undeclared: opts.undeclared,
        stateFile: state !== undefined,
        zombieAfterMs: opts.zombieAfterMs,
        declarationsError: declarations.status?.().lastError,
      }),
    start() {
      clock.start();
      state?.restore();
      state?.start();
    },
    close: async () => {
      clock.stop();
      await state?.close();
    },
  };
}
