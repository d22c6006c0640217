import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Discovery, DiscoveryCache, DISCOVERY_CACHE_TTL_MS, parseAggregatedDiscovery, serverCacheName } from './discovery';

const CORE = {
  kind: 'APIGroupDiscoveryList',
  apiVersion: 'apidiscovery.k8s.io/v2',
  metadata: {},
  items: [
    {
      metadata: {},
      versions: [
        {
          version: 'v1',
          resources: [
            {
              resource: 'pods',
              responseKind: { group: '', version: 'v1', kind: 'Pod' },
              scope: 'Namespaced',
              singularResource: 'pod',
              shortNames: ['po'],
              categories: ['all'],
              verbs: ['get', 'list'],
              subresources: [{ subresource: 'eviction' }, { subresource: 'log' }],
            },
            { resource: 'nodes', responseKind: { group: '', version: 'v1', kind: 'Node' }, scope: 'Cluster', verbs: ['get'] },
            { resource: 'broken' },
          ],
        },
      ],
    },
  ],
};

function groups(extra: object[] = []) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: [
      {
        metadata: { name: 'batch' },
        versions: [
          { version: 'v1', resources: [{ resource: 'jobs', responseKind: { group: 'batch', version: 'v1', kind: 'Job' }, scope: 'Namespaced', verbs: ['get'], categories: ['all'] }, ...extra] },
          { version: 'v1beta1', resources: [{ resource: 'oldjobs', responseKind: { group: 'batch', version: 'v1beta1', kind: 'OldJob' }, scope: 'Namespaced' }] },
        ],
      },
    ],
  };
}

describe('parseAggregatedDiscovery', () => {
  it('reads every resource of the preferred version, with kubectl\'s names and scopes', () => {
    const found = [...parseAggregatedDiscovery(CORE), ...parseAggregatedDiscovery(groups())];
    expect(found.map((r) => [r.type.group, r.type.version, r.type.plural, r.type.kind, r.type.namespaced])).toEqual([
      ['', 'v1', 'pods', 'Pod', true],
      ['', 'v1', 'nodes', 'Node', false],
      ['batch', 'v1', 'jobs', 'Job', true],
    ]);
    expect(found[0]).toMatchObject({ subresources: ['eviction', 'log'], type: { subresources: ['log'], shortNames: ['po'], singular: 'pod' } });
    expect(found[1].type.singular).toBe('node');
  });

  it('refuses an answer that is not a discovery list', () => {
    expect(() => parseAggregatedDiscovery({ kind: 'APIVersions' })).toThrow('APIGroupDiscoveryList');
    expect(() => parseAggregatedDiscovery('text')).toThrow('APIGroupDiscoveryList');
  });

  it('leaves hostile members on the side: no prototype reached, wrong types skipped', () => {
    const hostile = JSON.parse('{"kind":"APIGroupDiscoveryList","items":[{"metadata":{"name":{"x":1}},"versions":[{"version":"v1","resources":[{"resource":"things","responseKind":{"kind":"Thing"},"shortNames":[1,"th"],"__proto__":{"polluted":true}}]}]}]}');
    const [thing] = parseAggregatedDiscovery(hostile);
    expect(thing.type).toMatchObject({ group: '', plural: 'things', shortNames: ['th'], namespaced: false });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('Discovery', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-discovery-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function counting(apis: () => object) {
    const calls: string[] = [];
    const fetch = async (path: '/api' | '/apis') => {
      calls.push(path);
      return path === '/api' ? CORE : apis();
    };
    return { calls, fetch };
  }

  it('caches per server and serves the next invocation from the cache', async () => {
    const server = counting(() => groups());
    const first = new Discovery(server.fetch, new DiscoveryCache(dir, 'https://127.0.0.1:6443'));
    expect((await first.resolve('po')).plural).toBe('pods');
    expect(server.calls).toEqual(['/api', '/apis']);
    const second = new Discovery(server.fetch, new DiscoveryCache(dir, 'https://127.0.0.1:6443'));
    expect((await second.resolve('jobs')).group).toBe('batch');
    expect(server.calls).toHaveLength(2);
    // Another server has its own cache.
    await new Discovery(server.fetch, new DiscoveryCache(dir, 'https://127.0.0.1:7443')).resolve('po');
    expect(server.calls).toHaveLength(4);
  });

  it('asks the server again, once, for a name the cache does not know', async () => {
    let served: object[] = [];
    const server = counting(() => groups(served));
    await new Discovery(server.fetch, new DiscoveryCache(dir, 'https://s:1')).resources();
    served = [{ resource: 'cronjobs', responseKind: { group: 'batch', version: 'v1', kind: 'CronJob' }, scope: 'Namespaced', shortNames: ['cj'] }];
    const later = new Discovery(server.fetch, new DiscoveryCache(dir, 'https://s:1'));
    expect((await later.resolve('cj')).kind).toBe('CronJob');
    expect(await later.forKind('batch/v1', 'CronJob')).toMatchObject({ plural: 'cronjobs' });
    await expect(later.resolve('gadgets')).rejects.toThrow('the server doesn\'t have a resource type "gadgets"');
    expect(server.calls).toEqual(['/api', '/apis', '/api', '/apis']);
  });

  it('takes an expired, corrupt or hostile cache file for a miss', async () => {
    let now = 1_000_000;
    const server = counting(() => groups());
    const cache = new DiscoveryCache(dir, 'https://s:1', () => now);
    await new Discovery(server.fetch, cache).resources();
    now += DISCOVERY_CACHE_TTL_MS + 1;
    await new Discovery(server.fetch, cache).resources();
    expect(server.calls).toHaveLength(4);
    for (const text of ['{not json', '{"savedAt":1000001,"resources":[{"type":{"plural":1}}]}', `{"savedAt":${now},"resources":[{"__proto__":{"x":1}}]}`]) {
      writeFileSync(cache.path, text);
      expect(cache.read()).toBeUndefined();
    }
  });

  it('does without a cache it cannot write', async () => {
    writeFileSync(join(dir, 'discovery'), 'a file where a directory should be');
    const server = counting(() => groups());
    expect((await new Discovery(server.fetch, new DiscoveryCache(dir, 'https://s:1')).resolve('job')).plural).toBe('jobs');
  });

  it('names a cache directory after the host and port only', () => {
    expect(serverCacheName('https://127.0.0.1:6443')).toBe('127.0.0.1_6443');
    expect(serverCacheName('https://[::1]:6443/prefix')).toBe('___1__6443');
    expect(serverCacheName('../../etc')).not.toContain('/');
  });
});
