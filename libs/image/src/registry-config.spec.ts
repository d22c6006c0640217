import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBerthError } from '@berth/errors';
import { createTestCA } from '@berth/testing';
import { checkRegistryHosts, RegistriesConfig, RegistryResolver } from './registry-config';

describe('registries.yaml', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-registries-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const parse = (text: string) => RegistriesConfig.parse(text, 'registries.yaml');

  it('sends docker.io to registry-1.docker.io and any other registry to itself over https when nothing is configured', () => {
    const resolver = new RegistryResolver();
    expect(resolver.pullEndpoints('docker.io', 'library/busybox').map((e) => [e.base.href, e.path])).toEqual([['https://registry-1.docker.io/v2/', 'library/busybox']]);
    expect(resolver.pullEndpoints('quay.io:8443', 'a/b').map((e) => e.base.href)).toEqual(['https://quay.io:8443/v2/']);
  });

  it('tries mirrors in order (rewrites applied, http:// kept, a path prefix honoured), then the registry itself', async () => {
    const config = await parse(
      ['mirrors:', '  docker.io:', '    endpoint: ["http://10.0.0.1:5000", "mirror.example/prefix"]', '    rewrite:', '      "^library/(.*)": "hub/$1"', '  "*":', '    endpoint: ["https://any.example"]'].join('\n'),
    );
    const resolver = new RegistryResolver(config);
    expect(resolver.pullEndpoints('docker.io', 'library/busybox').map((e) => [e.base.href, e.path, e.mirror])).toEqual([
      ['http://10.0.0.1:5000/v2/', 'hub/busybox', true],
      ['https://mirror.example/prefix/v2/', 'hub/busybox', true],
      ['https://registry-1.docker.io/v2/', 'library/busybox', false],
    ]);
    expect(resolver.pullEndpoints('ghcr.io', 'x/y').map((e) => e.base.href)).toEqual(['https://any.example/v2/', 'https://ghcr.io/v2/']);
  });

  it('takes an http:// endpoint a registry lists for itself as its own endpoint, so pushes go there too (a plain-HTTP registry)', async () => {
    const config = await parse(['mirrors:', '  "10.0.0.2:5000":', '    endpoint: ["http://10.0.0.2:5000"]', '  "10.0.0.3:5000":', '    endpoint: ["http://mirror.example:5000"]'].join('\n'));
    const resolver = new RegistryResolver(config);
    expect(resolver.defaultEndpoint('10.0.0.2:5000', 'app').base.href).toBe('http://10.0.0.2:5000/v2/');
    expect(resolver.pullEndpoints('10.0.0.2:5000', 'app').map((e) => e.base.href)).toEqual(['http://10.0.0.2:5000/v2/']);
    // Another host's endpoint is a mirror for pulls only.
    expect(resolver.defaultEndpoint('10.0.0.3:5000', 'app').base.href).toBe('https://10.0.0.3:5000/v2/');
  });

  it("looks for a registry's images in a host that stands in for it after registries.yaml's mirrors and before the registry itself", async () => {
    const config = await parse(['mirrors:', '  docker.io:', '    endpoint: ["https://mirror.example"]'].join('\n'));
    const resolver = new RegistryResolver(config, checkRegistryHosts([{ host: '10.1.1.1:5000', mirrorOf: ['docker.io'] }]));
    expect(resolver.pullEndpoints('docker.io', 'library/busybox').map((e) => [e.base.href, e.path, e.mirror])).toEqual([
      ['https://mirror.example/v2/', 'library/busybox', true],
      ['https://10.1.1.1:5000/v2/', 'library/busybox', true],
      ['https://registry-1.docker.io/v2/', 'library/busybox', false],
    ]);
    expect(resolver.pullEndpoints('quay.io', 'a/b').map((e) => e.base.href)).toEqual(['https://quay.io/v2/']);
    expect(() => checkRegistryHosts([{ host: '10.1.1.1:5000', mirrorOf: ['not a host'] }])).toThrow('hosts[0].mirrorOf[0]');
  });

  it('reads auth (plain or base64) and TLS files of configs, and merges the CA of configured hosts', async () => {
    const ca = (await createTestCA()).cert;
    await writeFile(join(dir, 'ca.pem'), ca);
    const config = await parse(
      [
        'configs:',
        '  "reg.example:5000":',
        '    auth: { username: u, password: p }',
        `    tls: { ca_file: ${join(dir, 'ca.pem')}, insecure_skip_verify: false }`,
        '  docker.io:',
        `    auth: { auth: ${Buffer.from('hub:pw:with:colons').toString('base64')} }`,
      ].join('\n'),
    );
    const resolver = new RegistryResolver(config, [{ host: 'cluster:5000', caPem: ca, endpoint: 'https://10.1.1.1:5000' }]);
    const [own] = resolver.pullEndpoints('reg.example:5000', 'app');
    expect(resolver.credentials(own!)).toEqual({ username: 'u', password: 'p' });
    expect(resolver.tls('reg.example:5000').ca).toEqual([ca]);
    expect(resolver.credentials(resolver.defaultEndpoint('docker.io', 'library/x'))).toEqual({ username: 'hub', password: 'pw:with:colons' });
    expect(resolver.defaultEndpoint('cluster:5000', 'app').base.href).toBe('https://10.1.1.1:5000/v2/');
    expect(resolver.tls('10.1.1.1:5000').ca).toEqual([ca]);
  });

  it('treats a missing file as no configuration and names the problem of a bad one', async () => {
    expect(await RegistriesConfig.load(join(dir, 'none.yaml'))).toBe(RegistriesConfig.empty);
    const bad: [string, RegExp][] = [
      ['mirrors: [1]', /mirrors must be a mapping/],
      ['mirrors:\n  docker.io:\n    endpoint: ["ftp://x"]', /must be http:\/\/ or https:\/\//],
      ['mirrors:\n  docker.io:\n    rewrite: { "(": "x" }', /not a regular expression/],
      ['configs:\n  r.example:\n    tls: { ca_file: /nonexistent/ca.pem }', /cannot read \/nonexistent\/ca.pem: ENOENT/],
      ['configs:\n  r.example:\n    auth: { auth: bm9jb2xvbg== }', /base64 of "user:password"/],
      ['mirror: {}', /unknown key "mirror"/],
      ['mirrors: {a: 1', /not valid YAML/],
    ];
    for (const [text, message] of bad) {
      await writeFile(join(dir, 'r.yaml'), text);
      const err = await RegistriesConfig.load(join(dir, 'r.yaml')).catch((e: unknown) => e);
      expect(isBerthError(err, 'BadRequest')).toBe(true);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(join(dir, 'r.yaml'));
    }
  });

  it('checks configured hosts', () => {
    expect(() => checkRegistryHosts([{ host: 'bad host' }])).toThrow(/not a registry host/);
    expect(() => checkRegistryHosts([{ host: 'r:5000', caPem: 'not pem' }])).toThrow(/hosts\[0\].caPem/);
    expect(() => checkRegistryHosts([{ host: 'r:5000', endpoint: 'file:///etc' }])).toThrow(/http:\/\/ or https:\/\//);
    expect(checkRegistryHosts([{ host: 'r:5000', caPem: '', endpoint: '' }])).toEqual([{ host: 'r:5000', caPem: undefined, endpoint: undefined }]);
  });

  it("presents a configured host's client certificate to it (and its endpoint), unless registries.yaml names one; a bad pair is refused without its key in the error", async () => {
    const ca = await createTestCA();
    const node = await ca.issue({ subject: 'CN=system:node:n1,O=system:nodes' });
    const other = await ca.issue({ subject: 'CN=other' });
    const [host] = checkRegistryHosts([{ host: 'cluster:5000', endpoint: 'https://10.1.1.1:5000', caPem: ca.cert, clientCertPem: node.cert, clientKeyPem: node.key }]);
    const resolver = new RegistryResolver(RegistriesConfig.empty, [host!]);
    expect(resolver.tls('cluster:5000')).toMatchObject({ cert: node.cert, key: node.key, ca: [ca.cert] });
    expect(resolver.tls('10.1.1.1:5000')).toMatchObject({ cert: node.cert, key: node.key });
    expect(resolver.tls('elsewhere:5000').cert).toBeUndefined();

    await writeFile(join(dir, 'own.crt'), other.cert);
    await writeFile(join(dir, 'own.key'), other.key!);
    const config = await parse(['configs:', '  "cluster:5000":', `    tls: { cert_file: ${join(dir, 'own.crt')}, key_file: ${join(dir, 'own.key')} }`].join('\n'));
    expect(new RegistryResolver(config, [host!]).tls('cluster:5000')).toMatchObject({ cert: other.cert, key: other.key });

    const refused: [Partial<(typeof host)>, RegExp][] = [
      [{ clientCertPem: node.cert }, /clientCertPem and clientKeyPem go together/],
      [{ clientKeyPem: node.key }, /clientCertPem and clientKeyPem go together/],
      [{ clientCertPem: node.cert, clientKeyPem: other.key }, /not the key of the certificate/],
      [{ clientCertPem: 'not pem', clientKeyPem: node.key }, /not a PEM certificate/],
      [{ clientCertPem: node.cert, clientKeyPem: `${node.key!.slice(0, 60)}garbage` }, /not a PEM private key/],
      [{ clientCertPem: node.cert, clientKeyPem: 'k'.repeat(65 * 1024) }, /at most 64 KiB/],
    ];
    for (const [fields, message] of refused) {
      const err = (() => {
        try {
          checkRegistryHosts([{ host: 'cluster:5000', ...fields }]);
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${Object.keys(fields).join(', ')}`);
      })();
      expect(isBerthError(err, 'BadRequest')).toBe(true);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('PRIVATE KEY');
      for (const key of [node.key!, other.key!]) expect(err.message).not.toContain(key.split('\n')[1]!.slice(0, 20));
    }
  });
});
