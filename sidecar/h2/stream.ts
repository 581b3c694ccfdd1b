// One HTTP/2 stream (RFC 9113 §5.1) — data path. A small struct: its state as two "ended"
// flags plus "closed", both flow-control windows, DATA waiting for window, and the handler
// that receives its events. The frames themselves are written by the connection.


/** What a stream tells whoever handles it (the relay, a test client). */
export interface StreamHandler {
  /** Client side: the final response headers (1xx are skipped). */
  onResponse(stream: H2Stream, headers: string[], status: number, endStream: boolean): void;
  /**
   * DATA: the frame is at buf[frameOff, frameOff + 9 + length), its data at
   * buf[dataOff, dataOff + dataLen) (they differ when the frame was padded). The handler
   * owns the buffer and must call `consumed(dataLen)` once it has passed the data on:
   * that returns flow-control credit to the peer.
   */
  onData(stream: H2Stream, buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): void;
  onTrailers(stream: H2Stream, headers: string[]): void;
  /**
   * The stream ended abnormally: reset by the peer (`byPeer`), by us for a protocol error,
   * or because the connection closed (`code` is then the GOAWAY's or INTERNAL_ERROR).
   * Called at most once, and never after `onComplete`.
   */
  onReset(stream: H2Stream, code: number, byPeer: boolean): void;
  /** Queued DATA of `bytes` octets went out (window opened): pass the credit on. */
  onSent(stream: H2Stream, bytes: number): void;
  /** Both sides ended the stream cleanly. */
  onComplete(stream: H2Stream): void;
}

export class H2Stream {
  handler: StreamHandler | undefined = undefined;
  /** Free for the stream's owner (the relay keeps its link here). */
  user: unknown = undefined;
  /** We sent END_STREAM. */
  localEnded = false;
  /** END_STREAM (or trailers) waits behind pending DATA: nothing more may be written. */
  endQueued = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  closed = false;
  /** We sent the (response or request) HEADERS. */
  headersSent = false;
  /** Client side: the final response HEADERS arrived. */
  responseReceived = false;
  /** What we may still send, and what the peer may still send us. */
  sendWindow: number;
  recvWindow: number;
  /** Octets consumed since our last WINDOW_UPDATE for this stream. */
  recvUnacked = 0;
  /** DATA waiting for flow-control window or a congested socket, in order. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  /** END_STREAM goes with the last pending DATA; trailers go after it. */
  pendingEnd = false;
  pendingTrailers: readonly string[] | undefined = undefined;
  /** Server streams: the :status and grpc-status we sent (0 / undefined: none yet). */
  sentStatus = 0;
  sentGrpcStatus: string | undefined = undefined;
  /** RST_STREAM code, when the stream was reset (by us, or by the peer: `resetByPeer`). */
  resetCode: number | undefined = undefined;
  resetByPeer = false;
  /** content-length of the peer's message (-1 when absent) and DATA octets received (§8.1.1). */
  expectedLength = -1;
  receivedLength = 0;

  constructor(
    readonly connection: StreamSender,
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Response (server) HEADERS; with `endStream` a headers-only (gRPC trailers-only) answer. */
  respond(headers: readonly string[], endStream: boolean): void {
    this.connection.sendHeaders(this, headers, endStream);
  }

  /** Copies nothing: `data` is referenced until written. Returns how many of its octets wait for window. */
  write(data: Buffer, endStream: boolean): number {
    return this.connection.sendData(this, data, endStream);
  }

  /**
   * Relays a received DATA frame (see StreamHandler.onData) on this stream: when window
   * allows, its 9-byte header is rewritten in place and the frame goes out as it came.
   */
  relay(buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): number {
    return this.connection.relayData(this, buf, frameOff, dataOff, dataLen, endStream);
  }

  /** Trailers (END_STREAM); sent after any DATA still waiting for window. */
  trailers(headers: readonly string[]): void {
    this.connection.sendTrailers(this, headers);
  }

  /** END_STREAM without trailers (an empty DATA frame after any pending DATA). */
  end(): void {
    this.connection.sendData(this, EMPTY, true);
  }

  /** RST_STREAM; the handler is not called back for a reset we make. */
  reset(code: number): void {
    this.connection.resetStream(this, code, false);
  }

  /** Returns flow-control credit for `bytes` of DATA the handler has passed on. */
  consumed(bytes: number): void {
    this.connection.consumed(this, bytes);
  }
}

/** What a stream needs of its connection (H2Connection implements it): the frames it sends. */
export interface StreamSender {
  sendHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void;
  sendData(stream: H2Stream, data: Buffer, endStream: boolean): number;
  relayData(stream: H2Stream, buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): number;
  sendTrailers(stream: H2Stream, headers: readonly string[]): void;
  resetStream(stream: H2Stream, code: number, notify: boolean): void;
  consumed(stream: H2Stream, bytes: number): void;
}

const EMPTY = Buffer.alloc(0);
