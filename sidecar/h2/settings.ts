// SETTINGS (RFC 9113 §6.5): the values an endpoint announces, checked as the RFC says
// when a peer's frame arrives (§6.5.2) — data path, once per connection and change.

import { DEFAULT_HEADER_TABLE_SIZE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, ErrorCode, MAX_ALLOWED_FRAME_SIZE, MAX_WINDOW, SettingId } from './constants.js';

export interface Settings {
  headerTableSize: number;
  enablePush: boolean;
  /** Infinity until the peer says otherwise (§6.5.2). */
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  /** Advisory (§6.5.2); Infinity when not announced. */
  maxHeaderListSize: number;
}

export function defaultSettings(): Settings {
  return {
    headerTableSize: DEFAULT_HEADER_TABLE_SIZE,
    enablePush: true,
    maxConcurrentStreams: Infinity,
    initialWindowSize: DEFAULT_WINDOW,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: Infinity,
  };
}

export interface SettingsError {
  readonly code: ErrorCode;
  readonly detail: string;
}

/**
 * Applies a SETTINGS payload to `s` in order (§6.5.3); unknown identifiers are ignored.
 * Returns an error for a value the RFC forbids (nothing is applied then).
 */
export function applySettings(s: Settings, buf: Buffer, start: number, length: number, receivedByClient: boolean): SettingsError | undefined {
  const next = { ...s };
  for (let p = start; p < start + length; p += 6) {
    const id = buf.readUInt16BE(p);
    const value = buf.readUInt32BE(p + 2);
    switch (id) {
      case SettingId.HEADER_TABLE_SIZE:
        next.headerTableSize = value;
        break;
      case SettingId.ENABLE_PUSH:
        if (value > 1) return { code: ErrorCode.PROTOCOL_ERROR, detail: `SETTINGS_ENABLE_PUSH ${value}` };
        // A server never sends 1 (§6.5.2).
        if (receivedByClient && value === 1) return { code: ErrorCode.PROTOCOL_ERROR, detail: 'SETTINGS_ENABLE_PUSH 1 from a server' };
        next.enablePush = value === 1;
        break;
      case SettingId.MAX_CONCURRENT_STREAMS:
        next.maxConcurrentStreams = value;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) return { code: ErrorCode.FLOW_CONTROL_ERROR, detail: `SETTINGS_INITIAL_WINDOW_SIZE ${value}` };
        next.initialWindowSize = value;
        break;
      case SettingId.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) return { code: ErrorCode.PROTOCOL_ERROR, detail: `SETTINGS_MAX_FRAME_SIZE ${value}` };
        next.maxFrameSize = value;
        break;
      case SettingId.MAX_HEADER_LIST_SIZE:
        next.maxHeaderListSize = value;
        break;
      default:
        break; // §6.5.2: unknown settings are ignored
    }
  }
  Object.assign(s, next);
  return undefined;
}

/** The [id, value] pairs of `ours` that differ from the protocol's initial values. */
export function settingsToSend(ours: Settings): [number, number][] {
  const d = defaultSettings();
  const out: [number, number][] = [];
  if (ours.headerTableSize !== d.headerTableSize) out.push([SettingId.HEADER_TABLE_SIZE, ours.headerTableSize]);
  out.push([SettingId.ENABLE_PUSH, ours.enablePush ? 1 : 0]);
  if (Number.isFinite(ours.maxConcurrentStreams)) out.push([SettingId.MAX_CONCURRENT_STREAMS, ours.maxConcurrentStreams]);
  if (ours.initialWindowSize !== d.initialWindowSize) out.push([SettingId.INITIAL_WINDOW_SIZE, ours.initialWindowSize]);
  if (ours.maxFrameSize !== d.maxFrameSize) out.push([SettingId.MAX_FRAME_SIZE, ours.maxFrameSize]);
  if (Number.isFinite(ours.maxHeaderListSize)) out.push([SettingId.MAX_HEADER_LIST_SIZE, ours.maxHeaderListSize]);
  return out;
}
