import * as grpc from '@grpc/grpc-js';
import { findInCheckout } from '@berth/checkout';
import { errors } from '@berth/errors';
import { join } from 'node:path';
import type { IConversionOptions, Root, Type } from 'protobufjs';

const ENTRY = join('runtime', 'v1', 'runtime.proto');

/**
 * proto/runtime/v1 as protobufjs JSON (field names already camelCase), put into the bundles by
 * deploy/build.mjs: parsing the .proto files and building what proto-loader builds cost a runtime verb
 * ~100 ms at its start. Undefined when running from sources (tests), which parse the files.
 */
declare const __BERTH_RUNTIME_PROTO_JSON__: string | undefined;

/** How messages look in JavaScript on both ends: proto-loader's options as berth has always used them. */
const CONVERSION: IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };
const SERVICE = 'berth.runtime.v1.Runtime';

/** The checkout's proto/ directory (tests run from sources, binaries from dist/). */
export function protoRoot(): string {
  const entry = findInCheckout(join('proto', ENTRY));
  if (!entry) throw errors.internal(`cannot find proto/${ENTRY} above ${__dirname}`);
  return entry.slice(0, entry.length - ENTRY.length - 1);
}

/** proto/runtime/v1 parsed from the checkout's files, as deploy/runtime-proto.mjs parses them for the bundles. */
export function parsedRuntimeProto(): Root {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const protobuf = require('protobufjs') as typeof import('protobufjs');
  const root = new protobuf.Root();
  const includeDir = protoRoot();
  root.resolvePath = (_origin, target) => join(includeDir, target);
  root.loadSync(ENTRY, { keepCase: false });
  return root;
}

/** The runtime's protos from their JSON form (protobufjs' light build, which has no .proto parser to load). */
export function runtimeProtoFromJson(json: string): Root {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Root } = require('protobufjs/light') as typeof import('protobufjs');
  return Root.fromJSON(JSON.parse(json));
}

function serializerOf(type: Type): (value: object) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value)).finish());
}

function deserializerOf(type: Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), CONVERSION);
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The Runtime service's client constructor (`.service` is the definition servers implement). */
export function runtimeService(): grpc.ServiceClientConstructor {
  cached ??= runtimeServiceOf(typeof __BERTH_RUNTIME_PROTO_JSON__ === 'string' ? runtimeProtoFromJson(__BERTH_RUNTIME_PROTO_JSON__) : parsedRuntimeProto());
  return cached;
}

/**
 * The Runtime service of these protos as proto-loader and grpc.loadPackageDefinition would make it:
 * methods by their proto name, and by the camelCase name the client calls.
 */
export function runtimeServiceOf(root: Root): grpc.ServiceClientConstructor {
  root.resolveAll();
  const service = root.lookupService(SERVICE);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${SERVICE}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: serializerOf(request),
      requestDeserialize: deserializerOf(request),
      responseSerialize: serializerOf(response),
      responseDeserialize: deserializerOf(response),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return grpc.makeClientConstructor(definition, SERVICE);
}

/** gRPC's address for a unix socket path. */
export function unixAddress(socketPath: string): string {
  return `unix:${socketPath}`;
}
