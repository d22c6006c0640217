import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parsedRuntimeProto, runtimeProtoFromJson, runtimeService, runtimeServiceOf } from './proto';

/** What deploy/build.mjs puts into the bundles (the binaries' path; tests run from sources). */
function bundledJson(): string {
  const script = `import { runtimeProtoJson } from ${JSON.stringify(join(__dirname, '..', '..', '..', 'deploy', 'runtime-proto.mjs'))};
    process.stdout.write(JSON.stringify(runtimeProtoJson()));`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe('the runtime protos', () => {
  it('the descriptor put into the bundles is the protos as the sources parse them', () => {
    expect(JSON.parse(bundledJson())).toEqual(parsedRuntimeProto().toJSON());
  });

  it('the service made from the bundled descriptor reads and writes every message as the parsed one does', () => {
    const parsed = runtimeService().service;
    const bundled = runtimeServiceOf(runtimeProtoFromJson(bundledJson())).service;
    expect(Object.keys(bundled)).toEqual(Object.keys(parsed));
    for (const [name, method] of Object.entries(parsed)) {
      const other = bundled[name]!;
      expect([other.path, other.originalName, other.requestStream, other.responseStream]).toEqual([method.path, method.originalName, method.requestStream, method.responseStream]);
      // Every field at its default: the same names, enums as strings, longs as numbers, empty lists and maps.
      expect(other.requestDeserialize(Buffer.alloc(0))).toEqual(method.requestDeserialize(Buffer.alloc(0)));
      expect(other.responseDeserialize(Buffer.alloc(0))).toEqual(method.responseDeserialize(Buffer.alloc(0)));
    }
  });

  it('keeps what proto-loader kept: camelCase fields, maps, oneofs named by the field set, 64-bit numbers', () => {
    const { service } = runtimeServiceOf(runtimeProtoFromJson(bundledJson()));
    const create = service.CreateContainer!;
    const config = { name: 'web', image: 'busybox:1.36', command: ['sh'], labels: { a: 'b' }, readOnlyRootfs: true, resources: { memoryBytes: 2 ** 40 } };
    expect(create.requestDeserialize(create.requestSerialize(config))).toMatchObject(config);
    const exec = service.Exec!;
    expect(exec.requestDeserialize(exec.requestSerialize({ stdin: Buffer.from('hi') }))).toMatchObject({ input: 'stdin', stdin: Buffer.from('hi') });
  });
});
