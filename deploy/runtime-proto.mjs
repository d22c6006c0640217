// proto/runtime/v1 as protobufjs JSON, parsed as libs/runtime-client parses it when it runs from
// sources (field names camelCase): deploy/build.mjs puts it into the bundles so that no binary parses
// .proto files at its start.
import protobuf from 'protobufjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const protoDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'proto');

export function runtimeProtoJson() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoDir, target);
  root.loadSync(join('runtime', 'v1', 'runtime.proto'), { keepCase: false });
  return root.toJSON();
}
