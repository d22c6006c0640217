import { createHash, randomBytes } from 'node:crypto';
import { Duplex, PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { HEADER_DICTIONARY } from './dictionary';
import { encodeFrame, FLAG_FIN, FrameReader, RST_STATUS, type RawFrame } from './frames';
import { decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor } from './headers';
import { DEFAULT_WINDOW, SpdySession, type SpdyStream } from './session';

/** Two connected byte streams, as a socket's two ends. */
function pipePair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}

function sessions(options: { respectPeerWindow?: boolean } = {}): { client: SpdySession; server: SpdySession; streams: SpdyStream[] } {
  const [a, b] = pipePair();
  const client = new SpdySession(a, { server: false, ...options });
  const server = new SpdySession(b, { server: true, ...options });
  const streams: SpdyStream[] = [];
  server.on('stream', (s) => streams.push(s));
  return { client, server, streams };
}

/** Everything the stream gives until its end (not for-await: that destroys the stream, resetting its other half). */
function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setImmediate(r));
};

describe('SPDY/3 frames', () => {
  it('has the 1,423-byte dictionary of the spec', () => {
    expect(HEADER_DICTIONARY.length).toBe(1423);
    expect(createHash('sha256').update(HEADER_DICTIONARY).digest('hex')).toBe('51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('round-trips every frame type, also when the bytes arrive one at a time', () => {
    const frames: RawFrame[] = [
      { type: 'data', streamId: 5, flags: FLAG_FIN, data: Buffer.from('hello') },
      { type: 'synStream', streamId: 7, associatedTo: 3, priority: 5, flags: FLAG_FIN, headerBlock: Buffer.from([1, 2, 3]) },
      { type: 'synReply', streamId: 7, flags: 0, headerBlock: Buffer.from([4]) },
      { type: 'headers', streamId: 9, flags: FLAG_FIN, headerBlock: Buffer.alloc(0) },
      { type: 'rstStream', streamId: 11, status: RST_STATUS.cancel },
      { type: 'settings', flags: 1, settings: [{ id: 7, value: 1 << 20, flags: 0 }, { id: 4, value: 100, flags: 1 }] },
      { type: 'ping', id: 0x7ffffffe },
      { type: 'goaway', lastGoodStreamId: 13, status: 2 },
      { type: 'windowUpdate', streamId: 0, delta: 0x7fffffff },
    ];
    const bytes = Buffer.concat(frames.map(encodeFrame));
    expect(new FrameReader().push(bytes)).toEqual(frames);
    const reader = new FrameReader();
    const trickled = [...bytes].flatMap((byte) => reader.push(Buffer.from([byte])));
    expect(trickled).toEqual(frames);
  });

  it('reads control frames of SPDY/3 only, and skips unknown control types', () => {
    const frame = encodeFrame({ type: 'ping', id: 1 });
    frame.writeUInt16BE(0x8000 | 2, 0);
    expect(() => new FrameReader().push(frame)).toThrow('unsupported SPDY version 2');
    const unknown = encodeFrame({ type: 'ping', id: 1 });
    unknown.writeUInt16BE(0x0a, 2);
    expect(new FrameReader().push(unknown)).toEqual([{ type: 'unknown', frameType: 0x0a }]);
  });

  it('encodes header blocks as counted, length-prefixed names and values', () => {
    const block = encodeHeaderBlock({ streamtype: 'data', port: '80', multi: 'a\0b' });
    expect(block.subarray(0, 4).readUInt32BE()).toBe(3);
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: 'data', port: '80', multi: 'a\0b' });
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow('truncated');
    expect(() => decodeHeaderBlock(encodeHeaderBlock({ Port: '80' }).fill(0x50, 8, 9))).toThrow('invalid header name');
  });

  it('compresses a session\'s header blocks as one zlib stream with the SPDY dictionary', async () => {
    const compressor = new HeaderCompressor();
    const decompressor = new HeaderDecompressor();
    const blocks = [];
    for (let i = 1; i <= 4; i++) blocks.push(await compressor.compress({ streamtype: i % 2 ? 'error' : 'data', port: '80', requestid: String(i) }));
    // Later blocks refer back to earlier ones: they are shorter, and mean nothing to a fresh context.
    expect(blocks[3]!.length).toBeLessThan(blocks[0]!.length);
    await expect(new HeaderDecompressor().decompress(blocks[3]!)).rejects.toThrow('SPDY protocol error');
    for (let i = 1; i <= 4; i++) expect(await decompressor.decompress(blocks[i - 1]!)).toEqual({ streamtype: i % 2 ? 'error' : 'data', port: '80', requestid: String(i) });
    // What a Go peer sends: its own deflate of the same dictionary, flushed per block.
    const go = zlib.createDeflate({ dictionary: HEADER_DICTIONARY, level: 9 });
    const other = new HeaderDecompressor();
    for (const value of ['a', 'b']) {
      const out: Buffer[] = [];
      go.on('data', (c: Buffer) => out.push(c));
      go.write(encodeHeaderBlock({ name: value }));
      await new Promise<void>((r) => go.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      go.removeAllListeners('data');
      expect(await other.decompress(Buffer.concat(out))).toEqual({ name: value });
    }
    for (const c of [compressor, decompressor, other]) c.close();
    go.close();
  });
});

describe('SPDY sessions', () => {
  it('opens streams with headers, replies, carries data both ways and half-closes', async () => {
    const { client, server, streams } = sessions();
    const stream = client.openStream({ streamtype: 'data', port: '80', requestid: '0' });
    const replied = new Promise((r) => stream.once('reply', r));
    await until(() => streams.length === 1);
    const [remote] = streams;
    expect(remote!.headers).toEqual({ streamtype: 'data', port: '80', requestid: '0' });
    expect(remote!.id).toBe(1);
    remote!.reply({ ok: 'yes' });
    expect(await replied).toEqual({ ok: 'yes' });
    stream.end('ping');
    expect((await readAll(remote!)).toString()).toBe('ping');
    // The other direction is still open after the client's FIN.
    remote!.end('pong');
    expect((await readAll(stream)).toString()).toBe('pong');
    const second = client.openStream({ n: '2' });
    await until(() => streams.length === 2);
    expect(second.id).toBe(3);
    client.close();
    await until(() => server.isClosed);
  });

  it('answers pings and passes resets on', async () => {
    const { client, streams } = sessions();
    await client.ping();
    await client.ping();
    const stream = client.openStream({});
    await until(() => streams.length === 1);
    const reset = new Promise((r) => streams[0]!.once('reset', r));
    stream.reset(RST_STATUS.cancel);
    expect(await reset).toBe(RST_STATUS.cancel);
    expect(streams[0]!.resetStatus).toBe(RST_STATUS.cancel);
    client.close();
  });

  it('keeps within the peer\'s window until the reader acknowledges what it took', async () => {
    const { client, streams } = sessions();
    const stream = client.openStream({});
    await until(() => streams.length === 1);
    const remote = streams[0]!;
    remote.pause();
    const body = randomBytes(DEFAULT_WINDOW * 4);
    stream.write(body);
    // The reader takes nothing: the sender stops once the window is used up, and keeps the rest itself.
    await until(() => stream.sendWindow === 0 && remote.readableLength > 0);
    const held = remote.readableLength;
    await client.ping();
    await client.ping();
    expect(stream.sendWindow).toBe(0);
    expect(remote.readableLength).toBe(held);
    expect(held).toBeLessThanOrEqual(DEFAULT_WINDOW + 16 * 1024);
    stream.end();
    remote.resume();
    expect((await readAll(remote)).equals(body)).toBe(true);
    client.close();
  });

  it('sends past the window to a peer that never opens one when told to ignore windows', async () => {
    // The peer is raw frames, as spdystream behaves: it reads everything and never sends WINDOW_UPDATE.
    const [peer, transport] = pipePair();
    const server = new SpdySession(transport, { server: true, respectPeerWindow: false });
    const body = randomBytes(3 * 1024 * 1024);
    server.once('stream', (stream) => stream.end(body));
    const compressor = new HeaderCompressor();
    peer.write(encodeFrame({ type: 'synStream', streamId: 1, associatedTo: 0, priority: 0, flags: FLAG_FIN, headerBlock: await compressor.compress({ streamtype: 'data' }) }));
    const reader = new FrameReader();
    const received: Buffer[] = [];
    const frames: RawFrame[] = [];
    await new Promise<void>((resolve) =>
      peer.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) {
          frames.push(frame.type === 'data' ? { ...frame, data: Buffer.alloc(0) } : frame);
          if (frame.type !== 'data') continue;
          received.push(frame.data);
          if (frame.flags & FLAG_FIN) resolve();
        }
      }),
    );
    expect(Buffer.concat(received).equals(body)).toBe(true);
    expect(frames[0]).toMatchObject({ type: 'synReply', streamId: 1 });
    compressor.close();
    server.close();
  });
});

describe('SPDY from a hostile peer', () => {
  /** One header block as a peer would send it: a SYNC_FLUSHed piece of a zlib stream with the SPDY dictionary. */
  async function deflateBlock(raw: Buffer): Promise<Buffer> {
    const z = zlib.createDeflate({ dictionary: HEADER_DICTIONARY, level: 9 });
    const out: Buffer[] = [];
    z.on('data', (c: Buffer) => out.push(c));
    z.write(raw);
    await new Promise<void>((r) => z.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    z.close();
    return Buffer.concat(out);
  }

  it('refuses a header block that inflates past 1 MiB without inflating it all, and the session ends', async () => {
    // One header whose value claims 2 GiB: 64 MiB of zeros compress to about 64 KiB.
    const prefix = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from('x'), Buffer.from([0x7f, 0xff, 0xff, 0xff])]);
    const bomb = await deflateBlock(Buffer.concat([prefix, Buffer.alloc(64 * 1024 * 1024)]));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await expect(new HeaderDecompressor().decompress(bomb)).rejects.toThrow('inflates to more than 1048576 bytes');

    const [peer, transport] = pipePair();
    const server = new SpdySession(transport, { server: true });
    const failed = new Promise<Error>((r) => server.once('error', r));
    server.on('stream', () => {
      throw new Error('no stream may open');
    });
    peer.on('data', () => undefined);
    peer.on('error', () => undefined);
    peer.write(encodeFrame({ type: 'synStream', streamId: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: bomb }));
    expect((await failed).message).toContain('inflates to more than');
    await until(() => server.isClosed);
  });

  it('refuses more than 1000 headers, and takes __proto__ and constructor as plain names', () => {
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`h${i}`, 'v']));
    expect(() => decodeHeaderBlock(encodeHeaderBlock(many))).toThrow('1001 headers');
    const headers = decodeHeaderBlock(encodeHeaderBlock(JSON.parse('{"__proto__":"a","constructor":"b","tostring":"c"}') as Record<string, string>));
    expect(Object.keys(headers)).toEqual(['__proto__', 'constructor', 'tostring']);
    expect(headers['constructor']).toBe('b');
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });

  it('ends the session, not the process, when a frame makes a listener throw', async () => {
    const [peer, transport] = pipePair();
    peer.on('data', () => undefined);
    peer.on('error', () => undefined);
    const server = new SpdySession(transport, { server: true });
    server.on('stream', (stream) =>
      stream.on('data', () => {
        throw new Error('a listener failed');
      }),
    );
    const failed = new Promise<Error>((r) => server.once('error', r));
    const compressor = new HeaderCompressor();
    peer.write(encodeFrame({ type: 'synStream', streamId: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: await compressor.compress({}) }));
    await until(() => server.listenerCount('stream') === 1 && (server as unknown as { streams: Map<number, unknown> }).streams.size === 1);
    peer.write(encodeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.from('boom') }));
    expect((await failed).message).toBe('a listener failed');
    await until(() => server.isClosed);
    compressor.close();
  });

  it('survives garbage frames, each session failing on its own', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const [peer, transport] = pipePair();
      const server = new SpdySession(transport, { server: true });
      server.on('error', () => undefined);
      server.on('stream', (s) => s.on('data', () => undefined));
      peer.on('data', () => undefined);
      peer.on('error', () => undefined);
      const garbage = randomBytes(64 + seed * 16);
      // Half of them look like control frames of the right version.
      if (seed % 2) garbage.writeUInt16BE(0x8003, 0);
      peer.write(garbage);
      peer.end();
      await until(() => server.isClosed);
    }
  });
});
