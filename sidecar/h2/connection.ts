// One HTTP/2 connection of the own codec, server or client side (RFC 9113) — data path.
// Reads frames, keeps the connection and stream state machines (§5.1), flow control both
// ways (§5.2, §6.9), SETTINGS, PING and GOAWAY, and answers every protocol violation with
// the error the RFC names: a stream error (RST_STREAM) where the RFC allows one, else a
// connection error (GOAWAY, then the socket is closed). Streams go to the handlers;
// frames out go through one batch per event-loop turn.

import type { Socket } from 'node:net';
import { DEFAULT_WINDOW, ErrorCode, Flag, FRAME_HEADER_BYTES, FrameType, MAX_STREAM_ID, MAX_WINDOW, PREFACE, errorName } from './constants.js';
import { FloodGuard } from './flood-guard.js';
import { FrameReader, type FrameSink } from './frame-reader.js';
import { dataFrame, frameHeader, goawayFrame, headersFrames, pingFrame, rewriteStreamId, rstStreamFrame, SETTINGS_ACK, settingsFrame, windowUpdateFrame } from './frame-writer.js';
import { checkRequest, checkResponse, checkTrailers, emptyRequestHead, type RequestHead, type ResponseHead } from './header-rules.js';
import { DecodeResult, HpackDecoder } from './hpack/decoder.js';
import { HpackEncoder } from './hpack/encoder.js';
import type { H2Options } from './options.js';
import { OutputBatch } from './output-batch.js';
import { applySettings, defaultSettings, settingsToSend, type Settings } from './settings.js';
import { H2Stream, type StreamHandler, type StreamSender } from './stream.js';

export type Role = 'server' | 'client';

export interface ConnectionError {
  readonly code: number;
  readonly detail: string;
  /** The peer's GOAWAY, or our own verdict on the peer's frames. */
  readonly byPeer: boolean;
}

export interface ConnectionHandler {
  /** Server: a new request whose headers passed §8.3. Set `stream.handler` before returning. */
  onStream?(conn: H2Connection, stream: H2Stream, headers: string[], head: RequestHead, endStream: boolean): void;
  /** The peer's first SETTINGS arrived: a client may open streams now. */
  onReady?(conn: H2Connection): void;
  /** The peer sent GOAWAY: no new streams here. */
  onGoaway?(conn: H2Connection, code: number, lastStreamId: number): void;
  /** The socket closed; `error` when it was not a clean end. */
  onClose?(conn: H2Connection, error: ConnectionError | undefined): void;
}

/** A header block split over HEADERS + CONTINUATION frames, being collected. */
interface HeaderBlock {
  readonly streamId: number;
  readonly flags: number;
  readonly badPriority: boolean;
  readonly parts: Buffer[];
  bytes: number;
  frames: number;
}

/** Streams we reset, and streams the peer reset, remembered this long (ids) for late frames. */
const RESET_MEMORY = 1024;
const DRAIN_PING = Buffer.from('meshdrn!', 'latin1');
const DRAIN_FALLBACK_MS = 1000;
const CLOSE_LINGER_MS = 1000;

export class H2Connection implements FrameSink, StreamSender {
  readonly streams = new Map<number, H2Stream>();
  readonly remote: Settings = defaultSettings();
  private readonly local: Settings;
  private readonly reader: FrameReader;
  private readonly out: OutputBatch;
  private readonly decoder: HpackDecoder;
  private readonly encoder: HpackEncoder;
  private readonly floods: FloodGuard;
  private readonly blocked = new Set<H2Stream>();
  private readonly resetIds = new Map<number, boolean>();
  private block: HeaderBlock | undefined;
  private settingsReceived = false;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = DEFAULT_WINDOW;
  private recvUnacked = 0;
  private lastPeerStreamId = 0;
  private nextStreamId: number;
  /** Streams opened by the peer and still open (its concurrency, §5.1.2), and ours. */
  private peerStreams = 0;
  private ownStreams = 0;
  /** GOAWAY: the last stream id we announced (-1: none sent), and the peer's. */
  private goawaySent = -1;
  private goawayReceived = -1;
  private draining = false;
  private closing = false;
  private closeError: ConnectionError | undefined;
  /** Streams opened so far: the idle check looks for no change between its sweeps. */
  private opened = 0;
  private readonly openedAt = performance.now();
  /** When the header block being received began (its first octets), or 0. */
  private blockSince = 0;
  /** Idle tracking across sweeps: streams opened at the last sweep, and since when nothing is open. */
  private sweptOpened = 0;
  private idleFrom = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Free for the connection's owner (the peer identity of a listener, a pool's bookkeeping). */
  user: unknown = undefined;
  /**
   * Client: streams opened before the peer's SETTINGS arrive. The RFC's initial value is
   * "unlimited", but a server with a lower limit would refuse the excess; a pool sets the
   * limit it learned from earlier connections (100, as §6.5.2 recommends, until then).
   */
  assumedPeerMaxStreams = 100;

  constructor(
    readonly socket: Socket,
    readonly role: Role,
    private readonly options: H2Options,
    private readonly handler: ConnectionHandler,
  ) {
    this.local = {
      ...defaultSettings(),
      headerTableSize: options.headerTableSize,
      enablePush: false,
      maxConcurrentStreams: role === 'server' ? options.maxConcurrentStreams : defaultSettings().maxConcurrentStreams,
      initialWindowSize: options.streamWindow,
      maxHeaderListSize: options.maxHeaderListSize,
    };
    this.nextStreamId = role === 'client' ? 1 : 2;
    this.decoder = new HpackDecoder(options.headerTableSize, options.refusedHeaderListSize ?? options.maxHeaderListSize, options.maxHeaderFields);
    this.encoder = new HpackEncoder(4096);
    this.floods = new FloodGuard(options.floods);
    this.reader = new FrameReader(this, this.local.maxFrameSize, role === 'server');
    this.out = new OutputBatch(socket);

    socket.setNoDelay?.(true);
    socket.on('data', this.onSocketData);
    socket.on('drain', () => this.drainBlocked());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closeError ??= { code: ErrorCode.INTERNAL_ERROR, detail: `socket: ${err.code ?? err.message}`, byPeer: true };
    });
    socket.on('close', () => this.finish());

    if (role === 'client') this.out.push(PREFACE);
    this.out.push(settingsFrame(settingsToSend(this.local)));
    if (options.connectionWindow > DEFAULT_WINDOW) {
      this.out.push(windowUpdateFrame(0, options.connectionWindow - DEFAULT_WINDOW));
      this.recvWindow = options.connectionWindow;
    }
    if (!options.externalSweep) {
      const timeouts = [options.handshakeTimeoutMs, options.firstRequestTimeoutMs, options.requestHeadersTimeoutMs, options.idleTimeoutMs].filter((t) => t > 0);
      this.sweepTimer = setInterval(() => this.sweep(performance.now()), sweepPeriod(Math.min(...timeouts)));
      this.sweepTimer.unref();
    }
  }

  get isClosed(): boolean {
    return this.closing;
  }

  /** Open streams (either side's). */
  get activeStreams(): number {
    return this.peerStreams + this.ownStreams;
  }

  /** Client: whether a new stream may be opened now (peer's limit, GOAWAY, ids left). */
  canOpenStream(): boolean {
    return (
      !this.closing &&
      this.goawaySent < 0 &&
      this.goawayReceived < 0 &&
      this.ownStreams < (this.settingsReceived ? this.remote.maxConcurrentStreams : this.assumedPeerMaxStreams) &&
      this.nextStreamId <= MAX_STREAM_ID
    );
  }

  /** Client: opens a stream with its request HEADERS. Undefined when `canOpenStream()` is false. */
  request(headers: readonly string[], endStream: boolean, handler: StreamHandler): H2Stream | undefined {
    if (this.role !== 'client' || !this.canOpenStream()) return undefined;
    const stream = new H2Stream(this, this.nextStreamId, this.remote.initialWindowSize, this.local.initialWindowSize);
    this.nextStreamId += 2;
    stream.handler = handler;
    this.streams.set(stream.id, stream);
    this.ownStreams++;
    this.opened++;
    this.sendHeaders(stream, headers, endStream);
    return stream;
  }

  // ---- sending -------------------------------------------------------------------

  sendHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    if (stream.closed || stream.localEnded || stream.endQueued || this.closing) return;
    this.writeHeaders(stream, headers, endStream);
  }

  private writeHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    stream.headersSent = true;
    // What the caller was told, for observers (server streams): :status and grpc-status.
    if (this.role === 'server') {
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i]!;
        if (name === ':status') stream.sentStatus = Number(headers[i + 1]);
        else if (name === 'grpc-status') stream.sentGrpcStatus = headers[i + 1];
      }
    }
    const block = this.encoder.encode(headers, FRAME_HEADER_BYTES);
    this.push(headersFrames(stream.id, block, endStream, this.remote.maxFrameSize));
    if (endStream) this.endLocal(stream);
  }

  sendTrailers(stream: H2Stream, headers: readonly string[]): void {
    if (stream.closed || stream.localEnded || stream.endQueued || this.closing) return;
    if (stream.pending.length > 0) {
      stream.pendingTrailers = headers;
      stream.endQueued = true;
      return;
    }
    this.writeHeaders(stream, headers, true);
  }

  sendData(stream: H2Stream, data: Buffer, endStream: boolean): number {
    if (stream.closed || stream.localEnded || stream.endQueued || this.closing) return 0;
    if (stream.pending.length === 0) {
      const sent = this.writeData(stream, data, 0, data.length, endStream);
      if (sent === data.length && (!endStream || stream.localEnded)) return 0;
      data = data.subarray(sent);
    }
    stream.pending.push(data);
    stream.pendingBytes += data.length;
    if (endStream) {
      stream.pendingEnd = true;
      stream.endQueued = true;
    }
    this.blocked.add(stream);
    return data.length;
  }

  relayData(stream: H2Stream, buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): number {
    if (stream.closed || stream.localEnded || stream.endQueued || this.closing) return 0;
    if (
      dataOff === frameOff + FRAME_HEADER_BYTES &&
      stream.pending.length === 0 &&
      dataLen <= this.sendWindow &&
      dataLen <= stream.sendWindow &&
      dataLen <= this.remote.maxFrameSize &&
      !this.congested()
    ) {
      rewriteStreamId(buf, frameOff, stream.id, endStream ? Flag.END_STREAM : 0);
      const end = dataOff + dataLen;
      this.push(frameOff === 0 && end === buf.length ? buf : buf.subarray(frameOff, end));
      this.sendWindow -= dataLen;
      stream.sendWindow -= dataLen;
      this.floods.dataFramesSent++;
      if (endStream) this.endLocal(stream);
      return 0;
    }
    return this.sendData(stream, buf.subarray(dataOff, dataOff + dataLen), endStream);
  }

  /**
   * Writes DATA frames for data[start, end) as far as the windows allow; returns the octets
   * written. END_STREAM goes on the last frame when all of it fits.
   */
  private writeData(stream: H2Stream, data: Buffer, start: number, end: number, endStream: boolean): number {
    let pos = start;
    while (pos < end || (endStream && pos === end)) {
      if (this.congested() && pos < end) break;
      const n = Math.min(end - pos, this.sendWindow, stream.sendWindow, this.remote.maxFrameSize);
      if (n <= 0 && pos < end) break;
      const last = pos + n === end;
      const es = endStream && last;
      if (n < 512) this.push(dataFrame(stream.id, data, pos, pos + n, es));
      else {
        this.push(frameHeader(n, FrameType.DATA, es ? Flag.END_STREAM : 0, stream.id));
        this.push(data.subarray(pos, pos + n));
      }
      this.sendWindow -= n;
      stream.sendWindow -= n;
      this.floods.dataFramesSent++;
      pos += n;
      if (es) {
        this.endLocal(stream);
        break;
      }
      if (last) break;
    }
    return pos - start;
  }

  /** Sends what streams hold back, as window and socket allow. */
  private drainBlocked(): void {
    if (this.closing) return;
    for (const stream of this.blocked) {
      if (this.congested() || this.sendWindow <= 0) break;
      this.drainStream(stream);
    }
  }

  private drainStream(stream: H2Stream): void {
    let sentTotal = 0;
    while (stream.pending.length > 0 && !stream.closed) {
      const head = stream.pending[0]!;
      const es = stream.pending.length === 1 && stream.pendingEnd;
      const sent = this.writeData(stream, head, 0, head.length, es);
      sentTotal += sent;
      stream.pendingBytes -= sent;
      if (sent < head.length || (es && !stream.localEnded)) {
        stream.pending[0] = head.subarray(sent);
        break;
      }
      stream.pending.shift();
    }
    if (stream.pending.length === 0) {
      this.blocked.delete(stream);
      const trailers = stream.pendingTrailers;
      if (trailers !== undefined && !stream.closed) {
        stream.pendingTrailers = undefined;
        this.writeHeaders(stream, trailers, true);
      }
    }
    // Also after the stream closed: the credit belongs to the connection it came from.
    if (sentTotal > 0) stream.handler?.onSent(stream, sentTotal);
  }

  resetStream(stream: H2Stream, code: number, notify: boolean): void {
    if (stream.closed) return;
    stream.resetCode = code;
    if (!this.closing) this.push(rstStreamFrame(stream.id, code));
    this.remember(stream.id, false);
    this.closeStream(stream);
    if (notify) stream.handler?.onReset(stream, code, false);
  }

  /** Flow-control credit back for DATA the handler passed on (§6.9). */
  consumed(stream: H2Stream, bytes: number): void {
    if (bytes <= 0 || this.closing) return;
    this.recvUnacked += bytes;
    if (this.recvUnacked >= this.options.connectionWindow >> 1) {
      this.push(windowUpdateFrame(0, this.recvUnacked));
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    if (stream.remoteEnded || stream.closed) return;
    stream.recvUnacked += bytes;
    if (stream.recvUnacked >= this.local.initialWindowSize >> 1) {
      this.push(windowUpdateFrame(stream.id, stream.recvUnacked));
      stream.recvWindow += stream.recvUnacked;
      stream.recvUnacked = 0;
    }
  }

  private connectionCredit(bytes: number): void {
    if (bytes <= 0 || this.closing) return;
    this.recvUnacked += bytes;
    if (this.recvUnacked >= this.options.connectionWindow >> 1) {
      this.push(windowUpdateFrame(0, this.recvUnacked));
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
  }

  private congested(): boolean {
    return this.socket.writableLength + this.out.pending > this.options.congestionBytes;
  }

  private push(buf: Buffer): void {
    this.out.push(buf);
  }

  // ---- stream lifecycle ----------------------------------------------------------

  private endLocal(stream: H2Stream): void {
    stream.localEnded = true;
    if (stream.remoteEnded) this.finishStream(stream);
  }

  private endRemote(stream: H2Stream): void {
    stream.remoteEnded = true;
    if (stream.localEnded) this.finishStream(stream);
  }

  /** Both sides ended cleanly. */
  private finishStream(stream: H2Stream): void {
    if (stream.closed) return;
    this.closeStream(stream);
    stream.handler?.onComplete(stream);
  }

  private closeStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.pending.length = 0;
    stream.pendingBytes = 0;
    stream.pendingTrailers = undefined;
    this.blocked.delete(stream);
    this.streams.delete(stream.id);
    if ((stream.id & 1) === (this.role === 'server' ? 1 : 0)) this.peerStreams--;
    else this.ownStreams--;
    if (this.activeStreams === 0 && (this.goawaySent >= 0 || this.goawayReceived >= 0)) this.endSocketSoon();
  }

  private remember(id: number, byPeer: boolean): void {
    this.resetIds.set(id, byPeer);
    if (this.resetIds.size > RESET_MEMORY) this.resetIds.delete(this.resetIds.keys().next().value!);
  }

  // ---- reading -------------------------------------------------------------------

  onReadError(reason: 'preface' | 'frame-size', detail: string): void {
    if (reason === 'preface') this.fail(ErrorCode.PROTOCOL_ERROR, detail);
    else this.fail(ErrorCode.FRAME_SIZE_ERROR, detail);
  }

  onFrame(buf: Buffer, off: number, type: number, flags: number, sid: number, length: number): boolean {
    if (this.closing) return false;
    if (!this.settingsReceived && (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0)) {
      return this.fail(ErrorCode.PROTOCOL_ERROR, 'the first frame must be SETTINGS (§3.4)');
    }
    if (this.block !== undefined && (type !== FrameType.CONTINUATION || sid !== this.block.streamId)) {
      return this.fail(ErrorCode.PROTOCOL_ERROR, 'header block interrupted (§6.10)');
    }
    const p = off + FRAME_HEADER_BYTES;
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(buf, off, flags, sid, length);
        break;
      case FrameType.HEADERS:
        this.onHeadersFrame(buf, p, flags, sid, length);
        break;
      case FrameType.PRIORITY:
        this.onPriorityFrame(buf, p, sid, length);
        break;
      case FrameType.RST_STREAM:
        this.onRstStreamFrame(buf, p, sid, length);
        break;
      case FrameType.SETTINGS:
        this.onSettingsFrame(buf, p, flags, sid, length);
        break;
      case FrameType.PUSH_PROMISE:
        // We announce SETTINGS_ENABLE_PUSH 0, and clients never push (§8.4).
        this.fail(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE');
        break;
      case FrameType.PING:
        this.onPingFrame(buf, p, flags, sid, length);
        break;
      case FrameType.GOAWAY:
        this.onGoawayFrame(buf, p, sid, length);
        break;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdateFrame(buf, p, sid, length);
        break;
      case FrameType.CONTINUATION:
        this.onContinuationFrame(buf, p, flags, sid, length);
        break;
      default:
        break; // §4.1, §5.5: unknown frame types are ignored
    }
    if (!this.closing && this.socket.writableLength + this.out.pending > this.options.maxUnwrittenBytes) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'peer does not read what we send');
    }
    return !this.closing;
  }

  /** Whether `sid` is an idle stream the peer could still open (§5.1), by parity and order. */
  private isIdle(sid: number): boolean {
    const peerInitiated = (sid & 1) === (this.role === 'server' ? 1 : 0);
    return peerInitiated ? sid > this.lastPeerStreamId : sid >= this.nextStreamId;
  }

  private onDataFrame(buf: Buffer, off: number, flags: number, sid: number, length: number): void {
    if (sid === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    let dataOff = off + FRAME_HEADER_BYTES;
    let dataLen = length;
    if (flags & Flag.PADDED) {
      if (length < 1) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'padded DATA without a pad length');
      const pad = buf[dataOff]!;
      if (pad >= length) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'DATA padding over the frame (§6.1)');
      dataOff++;
      dataLen = length - 1 - pad;
    }
    if (length > this.recvWindow) return void this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'DATA over the connection window');
    this.recvWindow -= length;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const flood = this.floods.payload(length === 0 && !endStream);
    if (flood !== undefined) return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    const stream = this.streams.get(sid);
    if (stream === undefined || stream.remoteEnded) {
      this.connectionCredit(length);
      if (stream !== undefined) return this.streamError(stream.id, ErrorCode.STREAM_CLOSED, stream);
      return this.frameOnClosedStream(sid, 'DATA');
    }
    if (length > stream.recvWindow) {
      this.connectionCredit(length);
      return this.streamError(sid, ErrorCode.FLOW_CONTROL_ERROR, stream);
    }
    stream.recvWindow -= length;
    // Padding is nobody's to consume: its credit goes back at once.
    if (length > dataLen) this.connectionCredit(length - dataLen);
    stream.receivedLength += dataLen;
    if (stream.expectedLength >= 0 && (stream.receivedLength > stream.expectedLength || (endStream && stream.receivedLength !== stream.expectedLength))) {
      this.connectionCredit(dataLen);
      return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, stream); // §8.1.1 content-length mismatch
    }
    if (endStream) stream.remoteEnded = true;
    const h = stream.handler;
    if (h === undefined) this.consumed(stream, dataLen);
    else h.onData(stream, buf, off, dataOff, dataLen, endStream);
    if (endStream && !stream.closed) this.endRemote(stream);
  }

  /** A frame for a stream that is not open: §5.1 says which error, if any. */
  private frameOnClosedStream(sid: number, what: string): void {
    if (this.isIdle(sid)) return void this.fail(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${sid}`);
    const resetByPeer = this.resetIds.get(sid);
    if (resetByPeer === false) return; // we reset it: frames in flight are ignored (§5.1 "closed")
    if (resetByPeer === true) return this.streamError(sid, ErrorCode.STREAM_CLOSED, undefined);
    this.fail(ErrorCode.STREAM_CLOSED, `${what} on closed stream ${sid}`);
  }

  private onHeadersFrame(buf: Buffer, p: number, flags: number, sid: number, length: number): void {
    if (sid === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let end = p + length;
    let pad = 0;
    if (flags & Flag.PADDED) {
      if (length < 1) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'padded HEADERS without a pad length');
      pad = buf[p++]!;
    }
    let badPriority = false;
    if (flags & Flag.PRIORITY) {
      if (end - p < 5) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority fields truncated');
      badPriority = (buf.readUInt32BE(p) & 0x7fffffff) === sid; // §5.3.1: depends on itself
      p += 5;
    }
    if (pad > end - p) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding over the frame (§6.2)');
    end -= pad;
    const flood = this.floods.payload(end === p && (flags & Flag.END_STREAM) === 0);
    if (flood !== undefined) return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    if ((flags & Flag.END_HEADERS) === 0) {
      this.block = { streamId: sid, flags, badPriority, parts: [buf.subarray(p, end)], bytes: end - p, frames: 0 };
      return;
    }
    this.onHeaderBlock(sid, flags, badPriority, buf, p, end);
  }

  private onContinuationFrame(buf: Buffer, p: number, flags: number, sid: number, length: number): void {
    const block = this.block;
    if (block === undefined) return void this.fail(ErrorCode.PROTOCOL_ERROR, `CONTINUATION without HEADERS on stream ${sid}`);
    block.frames++;
    block.bytes += length;
    // The whole block must be kept to decode it (HPACK state is shared by the connection):
    // bound it, in octets and frames, or the connection goes.
    if (block.frames > this.options.maxContinuations || block.bytes > this.options.maxHeaderBlockBytes) {
      return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'header block over the CONTINUATION bounds');
    }
    block.parts.push(buf.subarray(p, p + length));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.block = undefined;
    const whole = block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts, block.bytes);
    this.onHeaderBlock(sid, block.flags, block.badPriority, whole, 0, whole.length);
  }

  private onHeaderBlock(sid: number, flags: number, badPriority: boolean, buf: Buffer, start: number, end: number): void {
    const list: string[] = [];
    const decoded = this.decoder.decode(buf, start, end, list);
    if (decoded === DecodeResult.COMPRESSION_ERROR) return void this.fail(ErrorCode.COMPRESSION_ERROR, this.decoder.error);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const stream = this.streams.get(sid);
    if (stream === undefined) {
      if (this.role === 'server' && (sid & 1) === 1 && sid > this.lastPeerStreamId) {
        return this.onNewRequest(sid, list, decoded, endStream, badPriority);
      }
      if (this.role === 'server' && (sid & 1) === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${sid}`);
      if (this.role === 'client' && (sid & 1) === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'server-initiated stream');
      if (this.isIdle(sid)) return void this.fail(ErrorCode.PROTOCOL_ERROR, `HEADERS on idle stream ${sid}`);
      const resetByPeer = this.resetIds.get(sid);
      if (resetByPeer === false) return;
      if (resetByPeer === true) return this.streamError(sid, ErrorCode.STREAM_CLOSED, undefined);
      // §5.1.1: a stream id lower than one already used.
      return void this.fail(this.role === 'server' ? ErrorCode.PROTOCOL_ERROR : ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${sid}`);
    }
    if (stream.remoteEnded) return this.streamError(sid, ErrorCode.STREAM_CLOSED, stream);
    if (badPriority || decoded === DecodeResult.TOO_LARGE) {
      return this.streamError(sid, badPriority ? ErrorCode.PROTOCOL_ERROR : ErrorCode.ENHANCE_YOUR_CALM, stream);
    }
    if (this.role === 'client' && !stream.responseReceived) return this.onResponseHeaders(stream, list, endStream);
    // Trailers: END_STREAM, no pseudo-headers, and the message's length as announced.
    if (!endStream) return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, stream); // §8.1
    if (checkTrailers(list) !== undefined) return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, stream);
    if (stream.expectedLength >= 0 && stream.receivedLength !== stream.expectedLength) {
      return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, stream);
    }
    stream.remoteEnded = true;
    stream.handler?.onTrailers(stream, list);
    if (!stream.closed) this.endRemote(stream);
  }

  private onNewRequest(sid: number, list: string[], decoded: DecodeResult, endStream: boolean, badPriority: boolean): void {
    this.lastPeerStreamId = sid;
    this.floods.streamOpened();
    // §6.8: streams above our final GOAWAY's id are not processed; the peer may retry them.
    if (this.goawaySent >= 0 && sid > this.goawaySent) return this.streamError(sid, ErrorCode.REFUSED_STREAM, undefined, false);
    if (badPriority) return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, undefined);
    if (decoded === DecodeResult.TOO_LARGE) return this.streamError(sid, ErrorCode.ENHANCE_YOUR_CALM, undefined);
    // §5.1.2: over the limit, this stream alone is refused; the others go on. A peer that had
    // not seen our SETTINGS yet does this in good faith: such refusals count against the
    // rapid-reset budget only beyond an allowance (a peer that keeps doing it).
    if (this.peerStreams >= this.options.maxConcurrentStreams) return this.streamError(sid, ErrorCode.REFUSED_STREAM, undefined, this.floods.refusedOverLimit());
    const head = emptyRequestHead();
    if (checkRequest(list, head) !== undefined) return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, undefined);
    const stream = new H2Stream(this, sid, this.remote.initialWindowSize, this.local.initialWindowSize);
    stream.expectedLength = head.contentLength;
    stream.remoteEnded = endStream;
    this.streams.set(sid, stream);
    this.peerStreams++;
    this.opened++;
    this.handler.onStream?.(this, stream, list, head, endStream);
    if (stream.handler === undefined && !stream.closed) this.resetStream(stream, ErrorCode.REFUSED_STREAM, false);
  }

  private onResponseHeaders(stream: H2Stream, list: string[], endStream: boolean): void {
    const head: ResponseHead = { status: 0, contentLength: -1 };
    if (checkResponse(list, head) !== undefined) return this.streamError(stream.id, ErrorCode.PROTOCOL_ERROR, stream);
    if (head.status < 200) {
      // 1xx: informational, more HEADERS follow (§8.1); never with END_STREAM.
      if (endStream) return this.streamError(stream.id, ErrorCode.PROTOCOL_ERROR, stream);
      return;
    }
    stream.responseReceived = true;
    stream.expectedLength = head.contentLength;
    if (endStream) stream.remoteEnded = true;
    stream.handler?.onResponse(stream, list, head.status, endStream);
    if (endStream && !stream.closed) this.endRemote(stream);
  }

  private onPriorityFrame(buf: Buffer, p: number, sid: number, length: number): void {
    if (sid === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
    if (length !== 5) return this.streamError(sid, ErrorCode.FRAME_SIZE_ERROR, this.streams.get(sid));
    const flood = this.floods.priority();
    if (flood !== undefined) return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    if ((buf.readUInt32BE(p) & 0x7fffffff) === sid) return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, this.streams.get(sid));
    // Priorities are advisory (RFC 9113 §5.3 deprecates the scheme): nothing else to do.
  }

  private onRstStreamFrame(buf: Buffer, p: number, sid: number, length: number): void {
    if (sid === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (length !== 4) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM length');
    if (this.isIdle(sid)) return void this.fail(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${sid}`);
    const stream = this.streams.get(sid);
    if (stream === undefined) return;
    const code = buf.readUInt32BE(p);
    stream.resetCode = code;
    stream.resetByPeer = true;
    this.remember(sid, true);
    this.closeStream(stream);
    stream.handler?.onReset(stream, code, true);
    if (this.role === 'server') {
      const flood = this.floods.reset();
      if (flood !== undefined) this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    }
  }

  private onSettingsFrame(buf: Buffer, p: number, flags: number, sid: number, length: number): void {
    if (sid !== 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (length !== 0) this.fail(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (length % 6 !== 0) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
    const flood = this.floods.settingsFrame();
    if (flood !== undefined) return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    const oldWindow = this.remote.initialWindowSize;
    const oldTable = this.remote.headerTableSize;
    const error = applySettings(this.remote, buf, p, length, this.role === 'client');
    if (error !== undefined) return void this.fail(error.code, error.detail);
    const delta = this.remote.initialWindowSize - oldWindow;
    if (delta !== 0) {
      // §6.9.2: every stream's send window moves by the change; none may pass 2^31-1.
      for (const s of this.streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW) return void this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window');
      }
    }
    if (this.remote.headerTableSize !== oldTable) this.encoder.setPeerTableSize(this.remote.headerTableSize);
    this.push(SETTINGS_ACK);
    if (!this.settingsReceived) {
      this.settingsReceived = true;
      this.handler.onReady?.(this);
    }
    if (delta > 0) this.drainBlocked();
  }

  private onPingFrame(buf: Buffer, p: number, flags: number, sid: number, length: number): void {
    if (sid !== 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (length !== 8) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'PING length');
    if (flags & Flag.ACK) {
      if (this.draining && buf.subarray(p, p + 8).equals(DRAIN_PING)) this.finalGoaway();
      return;
    }
    const flood = this.floods.ping();
    if (flood !== undefined) return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    this.push(pingFrame(buf.subarray(p, p + 8), true));
  }

  private onGoawayFrame(buf: Buffer, p: number, sid: number, length: number): void {
    if (sid !== 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (length < 8) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY length');
    const last = buf.readUInt32BE(p) & 0x7fffffff;
    const code = buf.readUInt32BE(p + 4);
    this.goawayReceived = last;
    if (code !== ErrorCode.NO_ERROR) {
      this.closeError = { code, detail: `GOAWAY ${errorName(code)} from the peer`, byPeer: true };
    }
    // Our streams above `last` were not processed: they fail as refused (safe to retry).
    for (const s of [...this.streams.values()]) {
      const ours = (s.id & 1) === (this.role === 'client' ? 1 : 0);
      if (ours && s.id > last) {
        this.closeStream(s);
        s.handler?.onReset(s, ErrorCode.REFUSED_STREAM, true);
      }
    }
    this.handler.onGoaway?.(this, code, last);
    if (this.activeStreams === 0) this.endSocketSoon();
  }

  private onWindowUpdateFrame(buf: Buffer, p: number, sid: number, length: number): void {
    if (length !== 4) return void this.fail(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const inc = buf.readUInt32BE(p) & 0x7fffffff;
    const flood = this.floods.windowUpdate();
    if (flood !== undefined) return void this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    if (sid === 0) {
      if (inc === 0) return void this.fail(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) return void this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      this.drainBlocked();
      return;
    }
    const stream = this.streams.get(sid);
    if (stream === undefined) {
      if (this.isIdle(sid)) this.fail(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${sid}`);
      return; // closed: ignored (§6.9 allows it right after END_STREAM)
    }
    if (inc === 0) return this.streamError(sid, ErrorCode.PROTOCOL_ERROR, stream);
    stream.sendWindow += inc;
    if (stream.sendWindow > MAX_WINDOW) return this.streamError(sid, ErrorCode.FLOW_CONTROL_ERROR, stream);
    if (this.blocked.has(stream) && !this.congested() && this.sendWindow > 0) this.drainStream(stream);
  }

  // ---- errors and closing --------------------------------------------------------

  /** A stream error (§5.4.2): RST_STREAM with `code`; the stream's handler hears of it. */
  private streamError(sid: number, code: number, stream: H2Stream | undefined, counts = true): void {
    if (stream !== undefined && !stream.closed) this.resetStream(stream, code, true);
    else {
      this.push(rstStreamFrame(sid, code));
      if (!this.resetIds.has(sid)) this.remember(sid, false);
    }
    if (counts && this.role === 'server') {
      const flood = this.floods.reset();
      if (flood !== undefined) this.fail(ErrorCode.ENHANCE_YOUR_CALM, flood);
    }
  }

  /** A connection error (§5.4.1): GOAWAY with `code`, then the socket is closed. Returns false. */
  fail(code: number, detail: string): false {
    if (this.closing) return false;
    this.closeError = { code, detail, byPeer: false };
    this.push(goawayFrame(this.lastPeerStreamId, code, detail));
    this.goawaySent = this.lastPeerStreamId;
    this.shutdown(code);
    return false;
  }

  /**
   * Graceful close (§6.8): GOAWAY with the largest id first, a PING to learn when the peer
   * has seen it, then the real last stream id; open streams finish, then the socket closes.
   */
  close(): void {
    if (this.closing || this.draining || this.goawaySent >= 0) return;
    if (this.role === 'client') {
      this.goawaySent = 0;
      this.push(goawayFrame(0, ErrorCode.NO_ERROR));
      if (this.activeStreams === 0) this.endSocketSoon();
      return;
    }
    this.draining = true;
    this.push(goawayFrame(MAX_STREAM_ID, ErrorCode.NO_ERROR));
    this.push(pingFrame(DRAIN_PING, false));
    setTimeout(() => this.finalGoaway(), DRAIN_FALLBACK_MS).unref();
  }

  private finalGoaway(): void {
    if (this.closing || this.goawaySent >= 0) return;
    this.goawaySent = this.lastPeerStreamId;
    this.push(goawayFrame(this.lastPeerStreamId, ErrorCode.NO_ERROR));
    if (this.activeStreams === 0) this.endSocketSoon();
  }

  /** Closes at once: every open stream is told, the socket is destroyed. */
  destroy(code: number = ErrorCode.CANCEL): void {
    this.shutdown(code);
    this.out.discard();
    this.socket.destroy();
  }

  private shutdown(code: number): void {
    if (this.closing) return;
    this.closing = true;
    this.reader.stop();
    clearInterval(this.sweepTimer);
    const open = [...this.streams.values()];
    for (const s of open) {
      s.resetCode = code;
      this.closeStream(s);
    }
    for (const s of open) s.handler?.onReset(s, code, false);
    this.endSocketSoon();
  }

  private endSocketSoon(): void {
    this.out.flush();
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  private finish(): void {
    if (!this.closing) {
      // A socket closed with no stream open is a normal end (a client done with us, an
      // idle app connection); with streams open, they are lost.
      if (this.activeStreams > 0) this.closeError ??= { code: ErrorCode.INTERNAL_ERROR, detail: 'connection lost', byPeer: true };
      this.shutdown(ErrorCode.INTERNAL_ERROR);
    }
    this.out.discard();
    this.handler.onClose?.(this, this.closeError);
  }

  /**
   * The timeouts, checked every few hundred ms by one timer (this connection's, or its
   * listener's for all of them): the preface and SETTINGS, the first request head (server),
   * a header block once begun (slowloris), and idleness — no stream open, none opened — for
   * `idleTimeoutMs` (give or take a sweep).
   */
  sweep(now: number): void {
    if (this.closing) return;
    const o = this.options;
    if (!this.settingsReceived && now - this.openedAt >= o.handshakeTimeoutMs) {
      this.closeError = { code: ErrorCode.SETTINGS_TIMEOUT, detail: 'no preface and SETTINGS in time', byPeer: false };
      return this.destroy(ErrorCode.CANCEL);
    }
    if (this.role === 'server' && o.firstRequestTimeoutMs > 0 && this.lastPeerStreamId === 0 && now - this.openedAt >= o.firstRequestTimeoutMs) {
      return void this.fail(ErrorCode.NO_ERROR, 'no request in time');
    }
    if (o.requestHeadersTimeoutMs > 0 && this.blockSince !== 0 && now - this.blockSince >= o.requestHeadersTimeoutMs) {
      return void this.fail(ErrorCode.NO_ERROR, 'header block not complete in time');
    }
    if (o.idleTimeoutMs > 0 && this.settingsReceived) {
      if (this.activeStreams === 0 && this.opened === this.sweptOpened) {
        if (this.idleFrom === 0) this.idleFrom = now;
        else if (now - this.idleFrom >= o.idleTimeoutMs) this.close();
      } else this.idleFrom = 0;
      this.sweptOpened = this.opened;
    }
  }

  /** Reads frames; notes when a header block begins or ends (the request headers timeout). */
  private readonly onSocketData = (chunk: Buffer): void => {
    this.reader.push(chunk);
    const partial = this.reader.partialType;
    if (this.block !== undefined || partial === FrameType.HEADERS || partial === FrameType.CONTINUATION) {
      if (this.blockSince === 0) this.blockSince = performance.now();
    } else if (this.blockSince !== 0) this.blockSince = 0;
  };
}

/** How often a connection checks its timeouts: a quarter of the shortest, within 50 ms .. 1 s. */
export function sweepPeriod(shortestMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(shortestMs / 4)));
}
