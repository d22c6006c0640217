import * as grpc from '@grpc/grpc-js';
import { findInCheckout } from '@berth/checkout';
import { errors } from '@berth/errors';
import { join } from 'node:path';

const ENTRY = join('runtime', 'v1', 'runtime.proto');

/** The checkout's proto/ directory (tests run from sources, binaries from dist/). */
export function protoRoot(): string {
  const entry = findInCheckout(join('proto', ENTRY));
  if (!entry) throw errors.internal(`cannot find proto/${ENTRY} above ${__dirname}`);
  return entry.slice(0, entry.length - ENTRY.length - 1);
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated Runtime service (client constructor; `.service` is the definition servers implement). */
export function runtimeService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  // proto-loader (with protobufjs) loads with the first client or server, not with @berth/runtime-client:
  // the CLI's API verbs import it and never call runtimed (~40 ms at their start).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadSync } = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const definition = loadSync(ENTRY, {
    includeDirs: [protoRoot()],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
    objects: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { berth: { runtime: { v1: { Runtime: grpc.ServiceClientConstructor } } } };
  cached = loaded.berth.runtime.v1.Runtime;
  return cached;
}

/** gRPC's address for a unix socket path. */
export function unixAddress(socketPath: string): string {
  return `unix:${socketPath}`;
}
