// `catalog.stateFile` (DESIGN §8): the observations survive a restart. CONTROL path: read
// once at startup; written every few seconds when something changed, and at shutdown, on a
// timer, never by a call. Written atomically (a temporary file renamed over the old one),
// so a crash leaves the previous or the new file, never half of one. A file that cannot be
// read is logged and set aside; observation starts afresh rather than failing startup.

import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { log } from '../core/log.js';
import type { DeclarationsSource } from './declarations-model.js';
import type { ObservationTable, Observations, TableSnapshot } from './observations.js';

const FORMAT = 'meshward.catalog-state/v1';
const DEFAULT_INTERVAL_MS = 10_000;

interface StateFileContent {
  readonly format: typeof FORMAT;
  readonly savedAt: string;
  /** ms since the epoch: when observation began. */
  readonly since: number;
  readonly grpc: TableSnapshot;
  readonly graphql: TableSnapshot;
}

export class CatalogStateFile {
  private timer: NodeJS.Timeout | undefined;
  private writtenCalls = -1;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly observations: Observations,
    private readonly declarations: DeclarationsSource,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  /** Adds what the file holds to the (empty) tables. */
  restore(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot read the catalog state file; starting afresh', { file: this.path, error: (err as Error).message });
      return;
    }
    let content: Partial<StateFileContent>;
    try {
      content = JSON.parse(text) as Partial<StateFileContent>;
      if (content.format !== FORMAT) throw new Error(`expected format ${FORMAT}`);
    } catch (err) {
      const aside = `${this.path}.invalid`;
      log.warn('invalid catalog state file; set aside, starting afresh', { file: this.path, movedTo: aside, error: (err as Error).message });
      try {
        renameSync(this.path, aside);
      } catch {
        // the next write replaces it
      }
      return;
    }
    const d = this.declarations.current;
    if (typeof content.since === 'number' && content.since > 0) this.observations.since = Math.min(this.observations.since, content.since);
    if (content.grpc !== undefined) this.observations.grpc.restore(content.grpc, d.methods);
    if (content.graphql !== undefined) this.observations.graphql.restore(content.graphql, d.graphqlFields);
    this.writtenCalls = this.totalCalls();
    log.info('catalog observations restored', { file: this.path, since: new Date(this.observations.since).toISOString(), names: this.observations.grpc.names.size + this.observations.graphql.names.size });
  }

  /** Writes every interval when calls were counted since the last write. */
  start(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.timer = setInterval(() => void this.save(), this.intervalMs);
    this.timer.unref();
  }

  /** Writes now if anything changed (also at shutdown); never throws. */
  save(): Promise<void> {
    if (this.writing !== undefined) return this.writing;
    const calls = this.totalCalls();
    if (calls === this.writtenCalls) return Promise.resolve();
    const content: StateFileContent = {
      format: FORMAT,
      savedAt: new Date().toISOString(),
      since: this.observations.since,
      grpc: this.observations.grpc.toJSON(),
      graphql: this.observations.graphql.toJSON(),
    };
    this.writing = writeAtomically(this.path, JSON.stringify(content))
      .then(
        () => void (this.writtenCalls = calls),
        (err: unknown) => log.warn('cannot write the catalog state file', { file: this.path, error: (err as Error).message }),
      )
      .finally(() => (this.writing = undefined));
    return this.writing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.save();
  }

  private totalCalls(): number {
    return sum(this.observations.grpc) + sum(this.observations.graphql);
  }
}

function sum(table: ObservationTable): number {
  let n = 0;
  for (const s of table.names.values()) n += s.calls;
  return n;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
