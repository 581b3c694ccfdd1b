// What an alert is (DESIGN §10): what a detector finds (AlertDraft), what the book keeps
// while it is active (Alert), and its identity — Alertmanager's fingerprint of the label
// set, so `/alerts`, the webhook and Alertmanager's API name an alert the same way. CONTROL path.

import type { AlertName } from '../config/alerts-schema.js';

export type { AlertName } from '../config/alerts-schema.js';
export type Severity = 'critical' | 'warning' | 'info';

/** A detector's finding; the book turns it into labels and annotations. */
export interface AlertDraft {
  readonly alertname: AlertName;
  readonly severity: Severity;
  readonly method?: string | undefined;
  readonly principal?: string | undefined;
  readonly summary: string;
  readonly description: string;
  /** A call that shows it (meshward's span), when tracing is on. */
  readonly traceId?: string | undefined;
  /** The rule that fired, in words with its thresholds. */
  readonly rule: string;
  /** The numbers that fired it, as annotations (values are strings in Alertmanager's model). */
  readonly numbers: Readonly<Record<string, string>>;
}

export interface Alert {
  readonly fingerprint: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Replaced at each evaluation while active (the numbers move). */
  annotations: Readonly<Record<string, string>>;
  /** ms since the epoch. */
  readonly startsAt: number;
  /** Event alerts: when they resolve by themselves. */
  readonly expiresAt: number | undefined;
  /** Set when resolved. */
  endsAt: number | undefined;
}

export const isResolved = (a: Alert): boolean => a.endsAt !== undefined;

// FNV-1a, 64 bit, over the sorted label names and values each followed by 0xff: Prometheus'
// `model.LabelSet.Fingerprint()`, which Alertmanager reports as 16 hex digits.
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET;
  const mix = (bytes: Uint8Array): void => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
  };
  const sep = new Uint8Array([0xff]);
  const enc = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    mix(enc.encode(name));
    mix(sep);
    mix(enc.encode(labels[name]!));
    mix(sep);
  }
  return h.toString(16).padStart(16, '0');
}

/** Labels in Alertmanager's sense: an empty value is no label. */
export function alertLabels(draft: AlertDraft, service: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = { ...extra, alertname: draft.alertname, severity: draft.severity, service };
  if (draft.method !== undefined && draft.method !== '') labels.method = draft.method;
  if (draft.principal !== undefined && draft.principal !== '') labels.principal = draft.principal;
  return labels;
}

export function alertAnnotations(draft: AlertDraft): Record<string, string> {
  const a: Record<string, string> = { summary: draft.summary, description: draft.description, rule: draft.rule };
  if (draft.traceId !== undefined) a.trace_id = draft.traceId;
  for (const [k, v] of Object.entries(draft.numbers)) if (!Object.hasOwn(a, k)) a[k] = v;
  return a;
}

/** Shortens text a caller controls (a method name) before it goes into an annotation. */
export function clip(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A number for an annotation: integers as is, others with up to 3 decimals. */
export function num(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

/** `1m`, `10s`, `250ms` for annotations. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
