import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { errors } from '@berth/errors';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ENTRY = join('runtime', 'v1', 'runtime.proto');

/**
 * The checkout's proto/ directory, found by walking up from this module: the same code runs from
 * libs/runtime-client/src (tests) and bundled from dist/apps/<app> (binaries).
 */
export function protoRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'proto', ENTRY))) return join(dir, 'proto');
    if (dirname(dir) === dir) throw errors.internal(`cannot find proto/${ENTRY} above ${__dirname}`);
  }
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated Runtime service (client constructor; `.service` is the definition servers implement). */
export function runtimeService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
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
