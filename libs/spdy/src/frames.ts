import { protocolError } from './headers';

export const SPDY_VERSION = 3;

export const FRAME_TYPE = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

/** RST_STREAM status codes. */
export const RST_STATUS = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  unsupportedVersion: 4,
  cancel: 5,
  internalError: 6,
  flowControlError: 7,
  streamInUse: 8,
  streamAlreadyClosed: 9,
  frameTooLarge: 11,
} as const;

export const SETTINGS_INITIAL_WINDOW_SIZE = 7;

/** The length field is 24 bits. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
const HEADER_BYTES = 8;

export interface Setting {
  id: number;
  value: number;
  flags: number;
}

/** A frame as it is on the wire; header blocks stay compressed here (the session owns the zlib contexts). */
export type RawFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'synStream'; streamId: number; associatedTo: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'synReply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rstStream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; settings: Setting[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'windowUpdate'; streamId: number; delta: number }
  /** A control frame of a type this implementation does not know (ignored, as the spec says). */
  | { type: 'unknown'; frameType: number };

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw protocolError('frame too large');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([header, payload]);
}

function words(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

const streamIdOf = (value: number) => value & 0x7fffffff;

export function encodeFrame(frame: RawFrame): Buffer {
  switch (frame.type) {
    case 'data': {
      if (frame.data.length > MAX_FRAME_PAYLOAD) throw protocolError('frame too large');
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32BE(streamIdOf(frame.streamId), 0);
      header.writeUInt32BE(((frame.flags & 0xff) << 24) | frame.data.length, 4);
      return Buffer.concat([header, frame.data]);
    }
    case 'synStream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(streamIdOf(frame.streamId), 0);
      fixed.writeUInt32BE(streamIdOf(frame.associatedTo), 4);
      fixed.writeUInt8((frame.priority & 0x7) << 5, 8);
      return controlFrame(FRAME_TYPE.synStream, frame.flags, Buffer.concat([fixed, frame.headerBlock]));
    }
    case 'synReply':
    case 'headers':
      return controlFrame(FRAME_TYPE[frame.type], frame.flags, Buffer.concat([words(streamIdOf(frame.streamId)), frame.headerBlock]));
    case 'rstStream':
      return controlFrame(FRAME_TYPE.rstStream, 0, words(streamIdOf(frame.streamId), frame.status));
    case 'settings': {
      const entries = frame.settings.flatMap((s) => [((s.flags & 0xff) << 24) | (s.id & 0xffffff), s.value]);
      return controlFrame(FRAME_TYPE.settings, frame.flags, words(frame.settings.length, ...entries));
    }
    case 'ping':
      return controlFrame(FRAME_TYPE.ping, 0, words(frame.id));
    case 'goaway':
      return controlFrame(FRAME_TYPE.goaway, 0, words(streamIdOf(frame.lastGoodStreamId), frame.status));
    case 'windowUpdate':
      return controlFrame(FRAME_TYPE.windowUpdate, 0, words(streamIdOf(frame.streamId), frame.delta & 0x7fffffff));
    case 'unknown':
      throw protocolError(`cannot encode an unknown frame type ${frame.frameType}`);
  }
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw protocolError(`${what} frame too short`);
}

function decodeControl(type: number, flags: number, payload: Buffer): RawFrame {
  switch (type) {
    case FRAME_TYPE.synStream:
      need(payload, 10, 'SYN_STREAM');
      return {
        type: 'synStream',
        streamId: streamIdOf(payload.readUInt32BE(0)),
        associatedTo: streamIdOf(payload.readUInt32BE(4)),
        priority: payload.readUInt8(8) >> 5,
        flags,
        headerBlock: payload.subarray(10),
      };
    case FRAME_TYPE.synReply:
    case FRAME_TYPE.headers:
      need(payload, 4, 'SYN_REPLY/HEADERS');
      return { type: type === FRAME_TYPE.synReply ? 'synReply' : 'headers', streamId: streamIdOf(payload.readUInt32BE(0)), flags, headerBlock: payload.subarray(4) };
    case FRAME_TYPE.rstStream:
      need(payload, 8, 'RST_STREAM');
      return { type: 'rstStream', streamId: streamIdOf(payload.readUInt32BE(0)), status: payload.readUInt32BE(4) };
    case FRAME_TYPE.settings: {
      need(payload, 4, 'SETTINGS');
      const count = payload.readUInt32BE(0);
      need(payload, 4 + count * 8, 'SETTINGS');
      const settings: Setting[] = [];
      for (let i = 0; i < count; i++) {
        const idWord = payload.readUInt32BE(4 + i * 8);
        settings.push({ flags: idWord >>> 24, id: idWord & 0xffffff, value: payload.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, settings };
    }
    case FRAME_TYPE.ping:
      need(payload, 4, 'PING');
      return { type: 'ping', id: payload.readUInt32BE(0) };
    case FRAME_TYPE.goaway:
      // SPDY/2 peers send no status; SPDY/3 ones do.
      need(payload, 4, 'GOAWAY');
      return { type: 'goaway', lastGoodStreamId: streamIdOf(payload.readUInt32BE(0)), status: payload.length >= 8 ? payload.readUInt32BE(4) : 0 };
    case FRAME_TYPE.windowUpdate:
      need(payload, 8, 'WINDOW_UPDATE');
      return { type: 'windowUpdate', streamId: streamIdOf(payload.readUInt32BE(0)), delta: payload.readUInt32BE(4) & 0x7fffffff };
    default:
      return { type: 'unknown', frameType: type };
  }
}

/** Cuts a byte stream into frames; bytes of a frame not complete yet wait for the next chunk. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: RawFrame[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const first = this.pending.readUInt32BE(0);
      const second = this.pending.readUInt32BE(4);
      const length = second & 0xffffff;
      if (this.pending.length < HEADER_BYTES + length) break;
      const payload = this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
      this.pending = this.pending.subarray(HEADER_BYTES + length);
      const flags = second >>> 24;
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw protocolError(`unsupported SPDY version ${version}`);
        frames.push(decodeControl(first & 0xffff, flags, Buffer.from(payload)));
      } else {
        frames.push({ type: 'data', streamId: first, flags, data: Buffer.from(payload) });
      }
    }
    return frames;
  }
}
