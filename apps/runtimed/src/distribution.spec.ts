import { isBerthError } from '@berth/errors';
import { ImageStore, type OverlaySnapshotter } from '@berth/image';
import pino from 'pino';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistributionService, requestAuth } from './distribution';

describe('DistributionService', () => {
  let dir: string;
  let service: DistributionService | undefined;
  const logger = pino({ level: 'silent' });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-distribution-'));
  });

  afterEach(async () => {
    service?.close();
    service = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const open = async (configPath: string) => DistributionService.open(await ImageStore.open(join(dir, 'root')), {} as OverlaySnapshotter, configPath, logger);
  const pullError = (s: DistributionService, ref: string): Promise<Error> =>
    s.pull(ref, { onProgress: () => undefined }).then(
      () => new Error('pulled'),
      (e: unknown) => e as Error,
    );

  it('refuses to start on an invalid registries.yaml, naming the file', async () => {
    const path = join(dir, 'registries.yaml');
    await writeFile(path, 'mirrors: nope');
    const err = await open(path).catch((e: unknown) => e);
    expect(isBerthError(err, 'BadRequest')).toBe(true);
    expect((err as Error).message).toBe(`${path}: mirrors must be a mapping`);
  });

  it('reads the file again when it changes: a bad edit fails pulls with its error until it is fixed', async () => {
    const path = join(dir, 'registries.yaml');
    service = await open(path); // missing: no configuration
    // Nothing listens on port 1: the pull fails reaching the registry, after the configuration was read.
    expect((await pullError(service, '127.0.0.1:1/app:1')).message).toMatch(/127\.0\.0\.1:1: GET .*ECONNREFUSED/);
    await writeFile(path, 'configs: [');
    const bad = await pullError(service, '127.0.0.1:1/app:1');
    expect(isBerthError(bad, 'BadRequest')).toBe(true);
    expect(bad.message).toMatch(new RegExp(`^${path}: not valid YAML`));
    await writeFile(path, 'mirrors:\n  "127.0.0.1:1":\n    endpoint: ["http://127.0.0.1:2"]\n');
    expect((await pullError(service, '127.0.0.1:1/app:1')).message).toMatch(/127\.0\.0\.1:2: GET .*ECONNREFUSED.*; 127\.0\.0\.1:1: GET/);
  });

  it('replaces the configured hosts on each call and checks them', async () => {
    service = await open(join(dir, 'none.yaml'));
    service.configureHosts([{ host: 'cluster:5000', endpoint: 'http://127.0.0.1:3' }]);
    expect((await pullError(service, 'cluster:5000/app:1')).message).toMatch(/127\.0\.0\.1:3: GET/);
    service.configureHosts([]);
    expect((await pullError(service, 'cluster:5000/app:1')).message).toMatch(/cluster:5000: GET/);
    expect(() => service!.configureHosts([{ host: 'x', endpoint: 'gopher://x' }])).toThrow(/http:\/\/ or https:\/\//);
  });

  it('takes an empty RegistryAuth message as none', () => {
    expect(requestAuth(null)).toBeUndefined();
    expect(requestAuth({ username: '', password: '', identityToken: '' })).toBeUndefined();
    expect(requestAuth({ username: 'u', password: 'p', identityToken: '' })).toEqual({ username: 'u', password: 'p', identityToken: undefined });
  });
});
