import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { encodeFrame, FLAG_FIN, FLAG_UNIDIRECTIONAL, FrameReader, RST_STATUS, SETTINGS_INITIAL_WINDOW_SIZE, type RawFrame } from './frames';
import { HeaderCompressor, HeaderDecompressor, protocolError, type SpdyHeaders } from './headers';

/** SPDY/3.1's initial window, for each stream and for the session. */
export const DEFAULT_WINDOW = 64 * 1024;
/** DATA frames are cut to this size, so one stream cannot hold the connection for long. */
const MAX_DATA_FRAME = 16 * 1024;
/** Received bytes a stream's reader has not taken yet, above which the whole session stops reading. */
const BLOCK_BYTES = 1024 * 1024;

export interface SpdySessionOptions {
  /** A server numbers its streams even and its pings even; a client odd. */
  server: boolean;
  /**
   * Keep within the peer's flow-control windows (SPDY/3.1). Default true. Turn it off for peers that
   * never open them: spdystream (kubectl, kubelet) sends no WINDOW_UPDATE and relies on the transport's
   * back-pressure, so a sender that waited for one would stall after 64 KiB.
   */
  respectPeerWindow?: boolean;
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  goaway: [number];
  close: [];
  error: [Error];
}

/**
 * One SPDY/3.1 session over a byte stream (a socket, or a WebSocket as a stream). Streams are Duplexes:
 * what is written goes out as DATA frames within the flow-control windows, end() sends FIN, what the peer
 * sends is read; bytes read are acknowledged with WINDOW_UPDATEs. Header blocks share one zlib context
 * per direction for the whole session.
 */
export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly blocked = new Set<SpdyStream>();
  private readonly pings = new Map<number, () => void>();
  private readonly windowWaiters = new Set<() => void>();
  private nextStreamId: number;
  private nextPingId: number;
  private lastRemoteStreamId = 0;
  /** Frames behind an asynchronous header (de)compression wait for it, so order is kept both ways. */
  private sendQueue: Promise<void> = Promise.resolve();
  private sendsQueued = 0;
  private receiveQueue: Promise<void> = Promise.resolve();
  private receivesQueued = 0;
  /** The window each new stream starts with for sending (the peer's SETTINGS may change it). */
  initialSendWindow = DEFAULT_WINDOW;
  sessionSendWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;
  readonly respectPeerWindow: boolean;
  private closed = false;
  goneAway = false;

  constructor(
    private readonly transport: Duplex,
    readonly options: SpdySessionOptions,
  ) {
    super();
    this.nextStreamId = options.server ? 2 : 1;
    this.nextPingId = options.server ? 2 : 1;
    this.respectPeerWindow = options.respectPeerWindow ?? true;
    transport.on('data', (chunk: Buffer) => this.onBytes(chunk));
    // The peer is done: so is the session, both ways (a transport that allows half-open would stay open otherwise).
    transport.on('end', () => {
      this.shutdown();
      if (!transport.writableEnded) void this.sendQueue.then(() => transport.end());
    });
    transport.on('close', () => this.shutdown());
    transport.on('error', (err) => this.shutdown(err));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens a stream to the peer (SYN_STREAM); its 'reply' event carries the peer's SYN_REPLY headers. */
  openStream(headers: SpdyHeaders, options: { fin?: boolean } = {}): SpdyStream {
    if (this.closed || this.goneAway) throw protocolError('the session is closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers, true);
    this.streams.set(id, stream);
    this.sendHeaderFrame((headerBlock) => ({ type: 'synStream', streamId: id, associatedTo: 0, priority: 0, flags: options.fin ? FLAG_FIN : 0, headerBlock }), headers);
    if (options.fin) stream.end();
    return stream;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 2) & 0x7fffffff || (this.options.server ? 2 : 1);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(protocolError('the session is closed'));
      this.pings.set(id, resolve);
      this.send({ type: 'ping', id });
    });
  }

  /** GOAWAY, then the transport ends once written; streams still open are cut. */
  close(): void {
    if (this.closed) return;
    if (!this.goneAway) {
      this.goneAway = true;
      this.send({ type: 'goaway', lastGoodStreamId: this.lastRemoteStreamId, status: 0 });
    }
    void this.sendQueue.then(() => this.transport.end());
    this.shutdown();
  }

  destroy(err?: Error): void {
    this.transport.destroy();
    this.shutdown(err);
  }

  // ---- sending

  /** Queues a frame; frames go out in the order they were queued. */
  send(frame: RawFrame): void {
    if (this.closed) return;
    if (this.sendsQueued === 0) return this.write(frame);
    this.enqueueSend(async () => frame);
  }

  sendHeaderFrame(make: (headerBlock: Buffer) => RawFrame, headers: SpdyHeaders): void {
    if (this.closed) return;
    const block = this.compressor.compress(headers);
    this.enqueueSend(async () => make(await block));
  }

  private enqueueSend(make: () => Promise<RawFrame>): void {
    this.sendsQueued++;
    this.sendQueue = this.sendQueue
      .then(async () => this.write(await make()))
      .catch((err: Error) => this.destroy(err))
      .finally(() => this.sendsQueued--);
  }

  private write(frame: RawFrame): void {
    if (this.closed || this.transport.destroyed || this.transport.writableEnded) return;
    this.transport.write(encodeFrame(frame));
  }

  /** Resolves once the transport wants more (or is gone). */
  async drained(): Promise<void> {
    await this.sendQueue;
    if (this.closed || !this.transport.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.transport.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.transport.once('drain', done);
      this.once('close', done);
    });
  }

  /** Waits until a window update (or the end of the session) might let a blocked writer go on. */
  windowChanged(): Promise<void> {
    return new Promise((resolve) => this.windowWaiters.add(resolve));
  }

  private wakeWriters(): void {
    const waiters = [...this.windowWaiters];
    this.windowWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** Bytes a stream's reader took: the peer may send that much more, on the stream and the session. */
  acknowledge(stream: SpdyStream, bytes: number): void {
    if (bytes <= 0) return;
    this.send({ type: 'windowUpdate', streamId: stream.id, delta: bytes });
    this.sessionUnacked += bytes;
    if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
      this.send({ type: 'windowUpdate', streamId: 0, delta: this.sessionUnacked });
      this.sessionUnacked = 0;
    }
  }

  /** A stream whose reader lags far behind stops the whole session's reading until it catches up. */
  setBlocked(stream: SpdyStream, blocked: boolean): void {
    if (blocked) this.blocked.add(stream);
    else this.blocked.delete(stream);
    if (this.blocked.size > 0) this.transport.pause();
    else if (!this.closed) this.transport.resume();
  }

  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
    this.setBlocked(stream, false);
  }

  // ---- receiving

  private onBytes(chunk: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      return this.fail(err as Error);
    }
    for (const frame of frames) {
      const hasHeaders = frame.type === 'synStream' || frame.type === 'synReply' || frame.type === 'headers';
      if (!hasHeaders && this.receivesQueued === 0) {
        try {
          this.handle(frame, {});
        } catch (err) {
          // Thrown by a frame or by a listener it reached: the session's end, never the process's.
          return this.fail(err as Error);
        }
        continue;
      }
      const headers = hasHeaders ? this.decompressor.decompress(frame.headerBlock) : Promise.resolve({});
      // A failed block is the session's end; the rejection is handled below, in order.
      headers.catch(() => undefined);
      this.receivesQueued++;
      this.receiveQueue = this.receiveQueue
        .then(async () => this.handle(frame, await headers))
        .catch((err: Error) => this.fail(err))
        .finally(() => this.receivesQueued--);
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.send({ type: 'goaway', lastGoodStreamId: this.lastRemoteStreamId, status: 1 });
    // An 'error' nobody listens for would throw; the session's close tells them anyway.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.destroy(err);
  }

  private handle(frame: RawFrame, headers: SpdyHeaders): void {
    if (this.closed) return;
    switch (frame.type) {
      case 'synStream':
        return this.onSynStream(frame.streamId, frame.flags, headers);
      case 'synReply':
      case 'headers': {
        const stream = this.streams.get(frame.streamId);
        if (frame.type === 'synReply') stream?.emit('reply', headers);
        if (frame.flags & FLAG_FIN) stream?.remoteFinished();
        return;
      }
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) {
          // Data of a stream already reset or finished here: the peer had not heard yet.
          return;
        }
        if (frame.data.length) stream.received(frame.data);
        if (frame.flags & FLAG_FIN) stream.remoteFinished();
        return;
      }
      case 'rstStream':
        return this.streams.get(frame.streamId)?.resetByPeer(frame.status);
      case 'settings':
        for (const setting of frame.settings) {
          if (setting.id !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
          const delta = setting.value - this.initialSendWindow;
          this.initialSendWindow = setting.value;
          for (const stream of this.streams.values()) stream.sendWindow += delta;
          this.wakeWriters();
        }
        return;
      case 'ping': {
        const ours = (frame.id & 1) === (this.options.server ? 0 : 1);
        if (!ours) return this.send(frame);
        this.pings.get(frame.id)?.();
        this.pings.delete(frame.id);
        return;
      }
      case 'goaway':
        this.goneAway = true;
        this.emit('goaway', frame.lastGoodStreamId);
        return;
      case 'windowUpdate':
        if (frame.streamId === 0) this.sessionSendWindow += frame.delta;
        else {
          const stream = this.streams.get(frame.streamId);
          if (stream) stream.sendWindow += frame.delta;
        }
        this.wakeWriters();
        return;
      case 'unknown':
        return;
    }
  }

  private onSynStream(id: number, flags: number, headers: SpdyHeaders): void {
    const fromPeer = (id & 1) === (this.options.server ? 1 : 0);
    if (!fromPeer || id <= this.lastRemoteStreamId) {
      this.send({ type: 'rstStream', streamId: id, status: RST_STATUS.protocolError });
      return;
    }
    this.lastRemoteStreamId = id;
    if (this.goneAway) {
      this.send({ type: 'rstStream', streamId: id, status: RST_STATUS.refusedStream });
      return;
    }
    const stream = new SpdyStream(this, id, headers, false);
    this.streams.set(id, stream);
    if (flags & FLAG_UNIDIRECTIONAL) stream.end();
    this.emit('stream', stream);
    if (flags & FLAG_FIN) stream.remoteFinished();
  }

  private shutdown(_err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.destroy();
    this.streams.clear();
    this.blocked.clear();
    this.pings.clear();
    this.wakeWriters();
    this.compressor.close();
    this.decompressor.close();
    this.emit('close');
  }
}

/**
 * One SPDY stream. A stream the peer opened is answered with an empty SYN_REPLY before its first DATA
 * (or explicitly with reply()). Events: 'reply' (headers) for streams opened here, 'reset' (status)
 * when the peer resets it; either way the stream closes.
 */
export class SpdyStream extends Duplex {
  sendWindow: number;
  private replied: boolean;
  private localFinished = false;
  private remoteDone = false;
  private unacked = 0;
  /** Set when the peer reset the stream (its RST_STREAM status). */
  resetStatus: number | undefined;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    /** The SYN_STREAM's headers: the peer's for streams it opened, ours for streams opened here. */
    readonly headers: SpdyHeaders,
    readonly local: boolean,
  ) {
    // Bytes are acknowledged once in this buffer, so what a peer can have in flight to a reader that stopped
    // is bounded by its window plus this.
    super({ allowHalfOpen: true, readableHighWaterMark: 16 * 1024 });
    this.sendWindow = session.initialSendWindow;
    this.replied = local;
    // A stream's failure also closes it, which is what its users watch; an 'error' nobody listens for
    // (a write after the peer's reset) would end the process.
    this.on('error', () => undefined);
  }

  /** SYN_REPLY with these headers; sent by itself (empty) before the first DATA otherwise. */
  reply(headers: SpdyHeaders = {}, options: { fin?: boolean } = {}): void {
    if (this.replied || this.destroyed) return;
    this.replied = true;
    this.session.sendHeaderFrame((headerBlock) => ({ type: 'synReply', streamId: this.id, flags: options.fin ? FLAG_FIN : 0, headerBlock }), headers);
    if (options.fin) this.end();
  }

  /** RST_STREAM (CANCEL by default) and the stream is gone. */
  reset(status: number = RST_STATUS.cancel): void {
    if (this.destroyed) return;
    this.session.send({ type: 'rstStream', streamId: this.id, status });
    this.resetStatus ??= 0;
    this.destroy();
  }

  received(data: Buffer): void {
    if (this.destroyed || this.remoteDone) return;
    this.unacked += data.length;
    if (this.push(data)) this.acknowledge();
    else if (this.readableLength >= BLOCK_BYTES) this.session.setBlocked(this, true);
  }

  remoteFinished(): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.push(null);
    this.settleIfDone();
  }

  resetByPeer(status: number): void {
    this.resetStatus = status;
    this.emit('reset', status);
    this.destroy();
  }

  private acknowledge(): void {
    const bytes = this.unacked;
    this.unacked = 0;
    if (!this.remoteDone) this.session.acknowledge(this, bytes);
  }

  private settleIfDone(): void {
    if (this.localFinished && this.remoteDone) this.session.forget(this);
  }

  override _read(): void {
    this.session.setBlocked(this, false);
    this.acknowledge();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendData(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.reply();
    if (!this.destroyed) this.session.send({ type: 'data', streamId: this.id, flags: FLAG_FIN, data: Buffer.alloc(0) });
    this.localFinished = true;
    this.settleIfDone();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const open = !(this.localFinished && this.remoteDone) && this.resetStatus === undefined;
    if (open && !this.session.isClosed) this.session.send({ type: 'rstStream', streamId: this.id, status: RST_STATUS.cancel });
    this.session.forget(this);
    callback(err);
  }

  private async sendData(chunk: Buffer): Promise<void> {
    this.reply();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.destroyed || this.session.isClosed) return;
      let size = Math.min(chunk.length - offset, MAX_DATA_FRAME);
      if (this.session.respectPeerWindow) {
        const window = Math.min(this.sendWindow, this.session.sessionSendWindow);
        if (window <= 0) {
          await this.session.windowChanged();
          continue;
        }
        size = Math.min(size, window);
      }
      this.session.send({ type: 'data', streamId: this.id, flags: 0, data: chunk.subarray(offset, offset + size) });
      this.sendWindow -= size;
      this.session.sessionSendWindow -= size;
      offset += size;
    }
    await this.session.drained();
  }
}
