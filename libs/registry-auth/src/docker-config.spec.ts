import { mkdtemp, readFile, rm, stat, symlink, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB_KEY, DockerConfig, dockerConfigJson, dockerConfigPath, keyHostname, registryKey } from './docker-config';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('docker config.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-docker-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives in $DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/etc/dc' }, '/home/u')).toBe('/etc/dc/config.json');
    expect(dockerConfigPath({}, '/home/u')).toBe('/home/u/.docker/config.json');
  });

  it('keys Docker Hub as docker does, and every other registry by host[:port]', () => {
    expect(registryKey()).toBe(DOCKER_HUB_KEY);
    expect(registryKey('docker.io')).toBe(DOCKER_HUB_KEY);
    expect(registryKey('index.docker.io')).toBe(DOCKER_HUB_KEY);
    expect(registryKey('https://registry.example.com:5000/v2/')).toBe('registry.example.com:5000');
    expect(keyHostname('http://10.0.0.1:5000')).toBe('10.0.0.1:5000');
  });

  it('finds a credential under its exact key or any key for the same host', () => {
    const config = DockerConfig.parse(
      JSON.stringify({
        auths: {
          [DOCKER_HUB_KEY]: { auth: b64('hub:secret') },
          'https://old.example.com/v1/': { auth: b64('old:pa:ss') },
          'plain.example.com': { username: 'u', password: 'p', identitytoken: 'refresh' },
        },
      }),
    );
    expect(config.credentialFor('docker.io')).toEqual({ username: 'hub', password: 'secret' });
    expect(config.credentialFor('old.example.com')).toEqual({ username: 'old', password: 'pa:ss' });
    expect(config.credentialFor('plain.example.com')).toEqual({ username: 'u', password: 'p', identityToken: 'refresh' });
    expect(config.credentialFor('other.example.com')).toBeUndefined();
  });

  it('writes mode 0600, keeps every other key and entry, and logs out every key of a host', async () => {
    const path = join(dir, 'config.json');
    const original = {
      credHelpers: { 'gcr.io': 'gcloud' },
      psFormat: 'table {{.ID}}',
      auths: { 'keep.example.com': { auth: b64('k:v'), email: 'me@example.com' }, 'https://gone.example.com': { auth: b64('a:b') }, 'gone.example.com': { auth: b64('c:d') } },
    };
    await writeFile(path, JSON.stringify(original), { mode: 0o644 });
    const config = await DockerConfig.load(path);
    config.set('new.example.com:5000', { username: 'alice', password: 's3cret' });
    expect(config.remove('gone.example.com').sort()).toEqual(['gone.example.com', 'https://gone.example.com']);
    expect(config.remove('never.example.com')).toEqual([]);
    await config.save(path);

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(path, 'utf8'));
    expect(written.credHelpers).toEqual(original.credHelpers);
    expect(written.psFormat).toBe(original.psFormat);
    expect(written.auths).toEqual({
      'keep.example.com': original.auths['keep.example.com'],
      'new.example.com:5000': { auth: b64('alice:s3cret') },
    });
    expect(await readdir(dir)).toEqual(['config.json']);
    expect((await DockerConfig.load(path)).credentialFor('new.example.com:5000')).toEqual({ username: 'alice', password: 's3cret' });
  });

  it('creates the directory 0700 and the file 0600 when neither exists, and writes through a symlink', async () => {
    const path = join(dir, 'fresh', 'config.json');
    const config = await DockerConfig.load(path);
    expect(config.keys()).toEqual([]);
    config.set(DOCKER_HUB_KEY, { username: 'u', password: 'p' });
    await config.save(path);
    expect((await stat(join(dir, 'fresh'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const linked = join(dir, 'linked');
    await mkdir(linked);
    await symlink(path, join(linked, 'config.json'));
    const again = await DockerConfig.load(join(linked, 'config.json'));
    again.set('x.example.com', { username: 'x', password: 'y' });
    await again.save(join(linked, 'config.json'));
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).auths)).toEqual([DOCKER_HUB_KEY, 'x.example.com']);
  });

  it('refuses hostile files with one line that names the file, and keeps names off prototypes', async () => {
    const path = join(dir, 'config.json');
    const refused = async (content: string | Buffer) => {
      await writeFile(path, content);
      const err = (await DockerConfig.load(path).then(
        () => undefined,
        (e: Error) => e,
      )) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain(path);
      expect(err.message).not.toContain('\n');
      return err.message;
    };
    expect(await refused('{not json')).toContain('not valid JSON');
    expect(await refused('[1,2]')).toContain('not a JSON object');
    expect(await refused('{"auths": []}')).toContain('"auths" is not an object');
    expect(await refused('{"auths": {"h": "x"}}')).toContain('auths["h"] is not an object');
    expect(await refused('{"auths": {"h": {"auth": 5}}}')).toContain('auths["h"].auth is not a string');
    expect(await refused('{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}')).toContain('not base64 of user:password');
    expect(await refused(Buffer.alloc(5 * 1024 * 1024, 32))).toContain('larger than');

    await writeFile(path, '{"__proto__": {"polluted": 1}, "auths": {"__proto__": {"auth": "' + b64('a:b') + '"}}}');
    const config = await DockerConfig.load(path);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(config.credentialFor('__proto__')).toEqual({ username: 'a', password: 'b' });
    await config.save(path);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).auths)).toEqual(['__proto__']);
  });

  it('matches image repositories the way the kubelet keyring does', () => {
    const config = DockerConfig.parse(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:1') },
          '*.example.com': { auth: b64('wild:2') },
          'registry.example.com/team': { auth: b64('team:3') },
          'registry.example.com:5000': { auth: b64('port:4') },
        },
      }),
    );
    const users = (repository: string) => config.credentialsForImage(repository).map((c) => c.username);
    expect(users('docker.io/library/busybox')).toEqual(['hub']);
    expect(users('registry.example.com/team/app')).toEqual(['team', 'wild']);
    expect(users('registry.example.com/other/app')).toEqual(['wild']);
    expect(users('registry.example.com:5000/app')).toEqual(['port']);
    expect(users('a.b.example.com/app')).toEqual([]);
    expect(users('quay.io/app')).toEqual([]);
  });

  it('reads the legacy .dockercfg format', () => {
    expect(DockerConfig.parseDockercfg(JSON.stringify({ 'quay.io': { auth: b64('q:r') } })).credentialFor('quay.io')).toEqual({ username: 'q', password: 'r' });
  });

  it('builds the .dockerconfigjson kubectl puts in a docker-registry Secret', () => {
    expect(JSON.parse(dockerConfigJson('reg.example.com', { username: 'u', password: 'p', email: 'e@x' }))).toEqual({
      auths: { 'reg.example.com': { username: 'u', password: 'p', email: 'e@x', auth: b64('u:p') } },
    });
    expect(DockerConfig.parse(dockerConfigJson('__proto__', { username: 'u', password: 'p' })).credentialFor('__proto__')).toEqual({ username: 'u', password: 'p' });
  });
});
