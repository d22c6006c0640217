import { BerthError } from '@berth/errors';
import zlib from 'node:zlib';
import { HEADER_DICTIONARY } from './dictionary';

/** A name/value header block: lower-case names; several values of one name joined by NUL, as on the wire. */
export type SpdyHeaders = Record<string, string>;

/**
 * What one header block may hold once inflated, and how many headers: a peer's block is a zlib stream,
 * so a few bytes can inflate to gigabytes. The limits others put on SPDY header blocks (1 MiB, 1000 pairs)
 * are far above what kubectl sends.
 */
export const MAX_HEADER_BLOCK_BYTES = 1024 * 1024;
export const MAX_HEADERS = 1000;

/** Encodes a header block before compression: a count, then length-prefixed names and values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a decompressed header block; a block that does not add up is a protocol error. The names are
 * the peer's: they go into an object without a prototype, so `__proto__` or `constructor` are just names.
 */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers = Object.create(null) as SpdyHeaders;
  let at = 0;
  const take = (n: number) => {
    if (at + n > block.length) throw protocolError('truncated header block');
    const slice = block.subarray(at, at + n);
    at += n;
    return slice;
  };
  const count = take(4).readUInt32BE();
  if (count > MAX_HEADERS) throw protocolError(`a header block of ${count} headers (at most ${MAX_HEADERS})`);
  for (let i = 0; i < count; i++) {
    const name = take(take(4).readUInt32BE()).toString('utf8');
    const value = take(take(4).readUInt32BE()).toString('utf8');
    if (name === '' || name !== name.toLowerCase()) throw protocolError(`invalid header name ${JSON.stringify(name)}`);
    if (Object.prototype.hasOwnProperty.call(headers, name)) throw protocolError(`header ${name} appears twice`);
    headers[name] = value;
  }
  return headers;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

export function protocolError(message: string): BerthError {
  return new BerthError('BadRequest', `SPDY protocol error: ${message}`);
}

/**
 * One direction's zlib context. SPDY compresses every header block of a session as one zlib stream
 * (with the SPDY dictionary), each block ending at a sync flush, so blocks must be run one at a time in
 * frame order; Node's zlib is asynchronous, hence the queue.
 */
class ZlibContext {
  private readonly output: Buffer[] = [];
  private outputBytes = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  /** Fails the block being run when its output outgrows maxOutputBytes. */
  private overflow: ((err: Error) => void) | undefined;

  constructor(
    private readonly z: zlib.Deflate | zlib.Inflate,
    private readonly maxOutputBytes = Infinity,
  ) {
    z.on('data', (chunk: Buffer) => {
      this.output.push(chunk);
      this.outputBytes += chunk.length;
      if (this.outputBytes <= this.maxOutputBytes) return;
      // Stop inflating at once; the stream is out of step from here, so the session ends with this block.
      this.failure = new Error(`inflates to more than ${this.maxOutputBytes} bytes`);
      this.output.length = 0;
      this.z.close();
      this.overflow?.(protocolError(`header block: ${this.failure.message}`));
    });
    z.on('error', (err) => (this.failure = err));
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(protocolError(`header block: ${this.failure.message}`));
          this.outputBytes = 0;
          this.overflow = reject;
          // After an error zlib never calls the flush back: the error settles the block instead.
          const onError = (err: Error) => reject(protocolError(`header block: ${err.message}`));
          this.z.once('error', onError);
          this.z.write(input);
          // The output of a sync flush has been emitted by the time its callback runs.
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.z.off('error', onError);
            if (this.failure) return reject(protocolError(`header block: ${this.failure.message}`));
            resolve(Buffer.concat(this.output.splice(0)));
          });
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.close();
  }
}

export class HeaderCompressor {
  private readonly ctx = new ZlibContext(zlib.createDeflate({ dictionary: HEADER_DICTIONARY }));

  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.ctx.run(encodeHeaderBlock(headers));
  }

  close(): void {
    this.ctx.close();
  }
}

export class HeaderDecompressor {
  private readonly ctx = new ZlibContext(zlib.createInflate({ dictionary: HEADER_DICTIONARY }), MAX_HEADER_BLOCK_BYTES);

  async decompress(compressed: Buffer): Promise<SpdyHeaders> {
    return decodeHeaderBlock(await this.ctx.run(compressed));
  }

  close(): void {
    this.ctx.close();
  }
}
