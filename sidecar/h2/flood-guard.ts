// Per-connection budgets against frames that cost us work but carry no request (data path):
// rapid reset (CVE-2023-44487), streams over the concurrent-stream limit, SETTINGS and PING floods, PRIORITY floods, runs of empty
// frames, WINDOW_UPDATE floods (CVE-2019-9511..9518). Modelled on Envoy's edge defaults:
// ratios to useful work where the peer controls both, plain rates in 10 s windows
// elsewhere. Over budget, the connection ends with GOAWAY ENHANCE_YOUR_CALM.

export interface FloodLimits {
  /** Streams reset by the peer, or by us for its errors, per 10 s. */
  readonly resetsPer10s: number;
  /**
   * Streams refused for being over SETTINGS_MAX_CONCURRENT_STREAMS that do not count as
   * resets, per 10 s (a peer that opened them before it saw our SETTINGS); beyond these each
   * one counts against `resetsPer10s`.
   */
  readonly freeRefusalsPer10s: number;
  readonly settingsPer10s: number;
  readonly pingsPer10s: number;
  /** PRIORITY frames per stream opened (plus one stream's worth). */
  readonly prioritiesPerStream: number;
  /** Consecutive frames with an empty payload and no END_STREAM. */
  readonly consecutiveEmptyFrames: number;
  /** WINDOW_UPDATE frames received per DATA frame sent (plus a fixed allowance). */
  readonly windowUpdatesPerDataFrame: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = Object.freeze({
  resetsPer10s: 200,
  freeRefusalsPer10s: 100,
  settingsPer10s: 1000,
  pingsPer10s: 10_000,
  prioritiesPerStream: 100,
  consecutiveEmptyFrames: 10,
  windowUpdatesPerDataFrame: 10,
});

const WINDOW_MS = 10_000;
const WINDOW_UPDATE_ALLOWANCE = 1000;

/** Counts events in fixed 10 s windows. */
class WindowCount {
  private start = 0;
  private count = 0;
  constructor(private readonly limit: number) {}
  /** Counts one; true when over the limit. */
  hit(now: number): boolean {
    if (now - this.start > WINDOW_MS) {
      this.start = now;
      this.count = 0;
    }
    return ++this.count > this.limit;
  }
}

export class FloodGuard {
  private readonly resets: WindowCount;
  private readonly refusals: WindowCount;
  private readonly settings: WindowCount;
  private readonly pings: WindowCount;
  private priorities = 0;
  private streams = 0;
  private empty = 0;
  private windowUpdates = 0;
  dataFramesSent = 0;

  constructor(private readonly limits: FloodLimits) {
    this.resets = new WindowCount(limits.resetsPer10s);
    this.refusals = new WindowCount(limits.freeRefusalsPer10s);
    this.settings = new WindowCount(limits.settingsPer10s);
    this.pings = new WindowCount(limits.pingsPer10s);
  }

  /** Each returns the name of the exceeded budget, or undefined. */
  reset(): string | undefined {
    return this.resets.hit(performance.now()) ? 'rapid reset' : undefined;
  }
  /** A stream refused over the concurrent-stream limit: true when it counts as a reset (the allowance is spent). */
  refusedOverLimit(): boolean {
    return this.refusals.hit(performance.now());
  }
  settingsFrame(): string | undefined {
    return this.settings.hit(performance.now()) ? 'SETTINGS flood' : undefined;
  }
  ping(): string | undefined {
    return this.pings.hit(performance.now()) ? 'PING flood' : undefined;
  }
  streamOpened(): void {
    this.streams++;
  }
  priority(): string | undefined {
    return ++this.priorities > this.limits.prioritiesPerStream * (this.streams + 1) ? 'PRIORITY flood' : undefined;
  }
  windowUpdate(): string | undefined {
    const allowed = WINDOW_UPDATE_ALLOWANCE + this.limits.windowUpdatesPerDataFrame * this.dataFramesSent;
    return ++this.windowUpdates > allowed ? 'WINDOW_UPDATE flood' : undefined;
  }
  /** A frame that may be empty (DATA, HEADERS, CONTINUATION): counts runs of empty ones. */
  payload(empty: boolean): string | undefined {
    if (!empty) {
      this.empty = 0;
      return undefined;
    }
    return ++this.empty > this.limits.consecutiveEmptyFrames ? 'empty frame flood' : undefined;
  }
}
