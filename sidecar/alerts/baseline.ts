// The per-caller baselines of the spike detectors (CONTROL path, on the evaluation timer): an
// exponentially weighted moving average of calls and denials per window. A window above the
// spike threshold moves the baseline only up to that threshold, so an attack does not become
// "normal" within a few windows, while a lasting change of traffic is learned in time.

import type { PairStats } from './pair-table.js';

/** EWMA weight of one window for a time constant `baselineMs`. */
export function ewmaWeight(windowMs: number, baselineMs: number): number {
  return 1 - Math.exp(-windowMs / baselineMs);
}

/**
 * Whether the pair has a baseline the spike detectors may compare against: one full window
 * learned (its first window was partial) and the pair known for at least `learnForMs`.
 */
export function hasBaseline(pair: PairStats, now: number, learnForMs: number): boolean {
  return pair.windows >= 2 && now - pair.firstSeen >= learnForMs;
}

/** Folds this window's counts into the baseline; `cap(x, baseline)` bounds what one window adds. */
export function updateBaseline(pair: PairStats, weight: number, spikeFactor: number): void {
  const w = pair.windows;
  if (w === 0) return; // the first window was partial: the pair appeared during it
  if (w === 1) {
    pair.ewmaCalls = pair.calls;
    pair.ewmaDenies = pair.denies;
    return;
  }
  const calls = Math.min(pair.calls, spikeFactor * Math.max(pair.ewmaCalls, 1));
  const denies = Math.min(pair.denies, spikeFactor * Math.max(pair.ewmaDenies, 1));
  pair.ewmaCalls += weight * (calls - pair.ewmaCalls);
  pair.ewmaDenies += weight * (denies - pair.ewmaDenies);
}
