import { errors } from '@berth/errors';
import * as protobuf from 'protobufjs';
import { findInCheckout } from '@berth/checkout';

const PROTO_PATH = 'proto/shim/v1/shim.proto';
/** The shim refuses larger frames; so does the client, against a confused peer. */
export const MAX_FRAME_BYTES = 1 << 20;

interface Messages {
  Request: protobuf.Type;
  Response: protobuf.Type;
}

let messages: Messages | undefined;

function load(): Messages {
  if (!messages) {
    const path = findInCheckout(PROTO_PATH);
    if (!path) throw errors.internal(`${PROTO_PATH} not found above ${__dirname}`);
    const root = protobuf.loadSync(path);
    messages = {
      Request: root.lookupType('berth.shim.v1.Request'),
      Response: root.lookupType('berth.shim.v1.Response'),
    };
  }
  return messages;
}

/** A Request frame: 4-byte big-endian length, then the message. */
export function encodeRequest(request: Record<string, unknown>): Buffer {
  const { Request } = load();
  const body = Request.encode(Request.fromObject(request)).finish();
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  return frame;
}

export function decodeResponse(body: Uint8Array): Record<string, unknown> {
  const { Response } = load();
  return Response.toObject(Response.decode(body), { enums: Number, longs: Number, defaults: true, oneofs: true });
}
