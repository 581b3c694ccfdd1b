// Publishes what the request path reads once per call (CONTROL path): on every policy or
// GraphQL schema change, one new frozen DataSnapshot — the compiled policies, their limit
// tables (limiters kept across reloads where unchanged) and the schema's analyzer.

import type { Snapshot } from '../core/snapshot.js';
import type { GraphqlAnalyzer } from '../graphql/analysis/analyze.js';
import type { PolicySnapshot } from '../policy/model.js';
import type { DataSnapshot } from '../pipeline/data-snapshot.js';
import type { LimiterRegistry } from '../ratelimit/limiter-registry.js';

export interface SnapshotSources {
  readonly policies: Snapshot<PolicySnapshot> & { onReload(listener: (result: 'ok' | 'error' | 'unchanged') => void): void };
  readonly schema?: Snapshot<GraphqlAnalyzer> & { onReload(listener: (result: 'ok' | 'error') => void): void };
  readonly registry: LimiterRegistry;
}

export class DataSnapshots implements Snapshot<DataSnapshot> {
  #current: DataSnapshot;

  constructor(private readonly sources: SnapshotSources) {
    this.#current = this.#build();
    sources.policies.onReload((r) => r === 'ok' && this.#publish());
    sources.schema?.onReload((r) => r === 'ok' && this.#publish());
  }

  get current(): DataSnapshot {
    return this.#current;
  }

  #publish(): void {
    this.#current = this.#build();
  }

  #build(): DataSnapshot {
    const policy = this.sources.policies.current;
    return Object.freeze({ policy, limits: this.sources.registry.publish(policy), graphql: this.sources.schema?.current });
  }
}
