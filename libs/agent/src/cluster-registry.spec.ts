import type { ConfigMap, KubeObject } from '@berth/api';
import { SharedInformerFactory, type InformerScope, type ListWatch, type ListWatchHandler } from '@berth/controller';
import pino from 'pino';
import { advertisedRegistryHost, ClusterRegistrySync, LOCAL_REGISTRY_HOSTING } from './cluster-registry';
import { FakeRuntime } from './fake-runtime';

const logger = pino({ level: 'silent' });
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function hosting(text: string | undefined, resourceVersion = '1'): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: LOCAL_REGISTRY_HOSTING.name, namespace: LOCAL_REGISTRY_HOSTING.namespace, resourceVersion },
    ...(text === undefined ? {} : { data: { [LOCAL_REGISTRY_HOSTING.key]: text } }),
  };
}

describe('advertisedRegistryHost', () => {
  it.each([
    ['host: "10.0.0.5:5000"\nhelp: "https://example.com"', '10.0.0.5:5000'],
    ['host: registry.cluster.local:5000', 'registry.cluster.local:5000'],
    ['{"host":"[fd00::1]:5000"}', '[fd00::1]:5000'],
    ['help: no host here', undefined],
    ['- a\n- b', undefined],
  ])('%j → %s', (text, host) => expect(advertisedRegistryHost(hosting(text))).toBe(host));

  it('has none without the ConfigMap or its key', () => {
    expect(advertisedRegistryHost(undefined)).toBeUndefined();
    expect(advertisedRegistryHost(hosting(undefined))).toBeUndefined();
  });

  it.each([
    ['host: "a b:5000"', 'is not host[:port]'],
    ['host: [1, 2]', 'is not host[:port]'],
    ['host: "https://x/y"', 'is not host[:port]'],
    ['host: &a [*a', 'could not be decoded'],
  ])('refuses %j with one line', (text, message) => {
    expect(() => advertisedRegistryHost(hosting(text))).toThrow(message);
  });
});

/** A list/watch of one ConfigMap the test changes, as the API server's watch would report it. */
class OneConfigMap implements ListWatch<KubeObject> {
  private handler?: ListWatchHandler<KubeObject>;
  scopes: InformerScope[] = [];
  constructor(private current: ConfigMap | undefined) {}
  async list() {
    return { items: this.current ? [this.current] : [], resourceVersion: '1' };
  }
  async watch(_rv: string, handler: ListWatchHandler<KubeObject>) {
    this.handler = handler;
    return { close: () => (this.handler = undefined) };
  }
  set(next: ConfigMap | undefined) {
    const before = this.current;
    this.current = next;
    if (next) this.handler?.onEvent({ type: before ? 'MODIFIED' : 'ADDED', object: next });
    else if (before) this.handler?.onEvent({ type: 'DELETED', object: before });
  }
}

describe('ClusterRegistrySync', () => {
  let informers: SharedInformerFactory;
  let sync: ClusterRegistrySync | undefined;
  afterEach(async () => {
    await sync?.stop();
    await informers.stop();
  });

  function start(listWatch: OneConfigMap, runtime: FakeRuntime, clusterCA?: string) {
    informers = new SharedInformerFactory({
      listWatchFor: (scope) => {
        listWatch.scopes.push(scope);
        return listWatch;
      },
      logger,
    });
    sync = new ClusterRegistrySync({ informers, runtime, clusterCA, logger });
    informers.start();
    return sync.start();
  }

  it('hands runtimed the advertised registry with the cluster CA on start, again when it changes, and none once it goes', async () => {
    const runtime = new FakeRuntime();
    const calls: unknown[] = [];
    const configure = runtime.configureRegistries.bind(runtime);
    runtime.configureRegistries = async (hosts) => {
      calls.push(hosts);
      await configure(hosts);
    };
    const listWatch = new OneConfigMap(hosting('host: "192.0.2.10:5000"'));
    await start(listWatch, runtime, CA);
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000', caPem: CA }]);
    // Only the one ConfigMap is watched, in kube-public.
    expect(listWatch.scopes).toEqual([expect.objectContaining({ namespace: 'kube-public', fieldSelector: 'metadata.name=local-registry-hosting' })]);

    listWatch.set(hosting('host: "192.0.2.11:5000"', '2'));
    await waitFor(() => runtime.registryHosts[0]?.host === '192.0.2.11:5000');
    listWatch.set(undefined);
    await waitFor(() => runtime.registryHosts.length === 0);
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it('configures no registry for an advertisement that names no usable host', async () => {
    const runtime = new FakeRuntime();
    await runtime.configureRegistries([{ host: 'stale:5000' }]);
    await start(new OneConfigMap(hosting('host: "not a host"')), runtime, CA);
    expect(runtime.registryHosts).toEqual([]);
  });

  it('hands it again after a period, for a runtimed that restarted and forgot it', async () => {
    const runtime = new FakeRuntime();
    await start(new OneConfigMap(hosting('host: "192.0.2.10:5000"')), runtime);
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000' }]);
    runtime.registryHosts = [];
    // What the controller runs when the period has passed (the reconcile asks to be run again after it).
    expect(await sync!.reconcile()).toEqual({ requeueAfter: 60_000 });
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000' }]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
