import type { ConfigMap, KubeObject } from '@berth/api';
import { SharedInformerFactory, type InformerScope, type ListWatch, type ListWatchHandler } from '@berth/controller';
import pino from 'pino';
import { localRegistryHosting } from '@berth/client';
import { ClusterRegistrySync } from './cluster-registry';
import { FakeRuntime } from './fake-runtime';

const logger = pino({ level: 'silent' });
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** The advertisement of `host`, as berth server writes it. */
function hosting(host: string, resourceVersion = '1'): ConfigMap {
  const configMap = localRegistryHosting(host, 'a test registry');
  return { ...configMap, metadata: { ...configMap.metadata, resourceVersion } };
}

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

  function start(listWatch: OneConfigMap, runtime: FakeRuntime, clusterCA?: string, credential?: () => { clientCert?: string; clientKey?: string } | undefined) {
    informers = new SharedInformerFactory({
      listWatchFor: (scope) => {
        listWatch.scopes.push(scope);
        return listWatch;
      },
      logger,
    });
    sync = new ClusterRegistrySync({ informers, runtime, clusterCA, logger, credential });
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
    const listWatch = new OneConfigMap(hosting('192.0.2.10:5000'));
    await start(listWatch, runtime, CA);
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000', caPem: CA }]);
    // Only the one ConfigMap is watched, in kube-public.
    expect(listWatch.scopes).toEqual([expect.objectContaining({ namespace: 'kube-public', fieldSelector: 'metadata.name=local-registry-hosting' })]);

    listWatch.set(hosting('192.0.2.11:5000', '2'));
    await waitFor(() => runtime.registryHosts[0]?.host === '192.0.2.11:5000');
    listWatch.set(undefined);
    await waitFor(() => runtime.registryHosts.length === 0);
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it('hands runtimed the registries the cluster registry stands in for', async () => {
    const runtime = new FakeRuntime();
    const configMap = localRegistryHosting('192.0.2.10:5000', 'a test registry', ['docker.io', 'quay.io']);
    await start(new OneConfigMap({ ...configMap, metadata: { ...configMap.metadata, resourceVersion: '1' } }), runtime, CA);
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000', caPem: CA, mirrorOf: ['docker.io', 'quay.io'] }]);
  });

  it("hands runtimed the node's current client certificate and key, the renewed one on the next reapply, none for a token", async () => {
    const runtime = new FakeRuntime();
    let credential: { clientCert?: string; clientKey?: string; token?: string } = { clientCert: 'CERT-1', clientKey: 'KEY-1' };
    await start(new OneConfigMap(hosting('192.0.2.10:5000')), runtime, CA, () => credential);
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000', caPem: CA, clientCertPem: 'CERT-1', clientKeyPem: 'KEY-1' }]);
    credential = { clientCert: 'CERT-2', clientKey: 'KEY-2' };
    await sync!.reconcile();
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000', caPem: CA, clientCertPem: 'CERT-2', clientKeyPem: 'KEY-2' }]);
    credential = { token: 'a bearer token' };
    await sync!.reconcile();
    expect(runtime.registryHosts).toEqual([{ host: '192.0.2.10:5000', caPem: CA }]);
  });

  it('configures no registry for an advertisement that names no usable host', async () => {
    const runtime = new FakeRuntime();
    await runtime.configureRegistries([{ host: 'stale:5000' }]);
    await start(new OneConfigMap(hosting('not a host')), runtime, CA);
    expect(runtime.registryHosts).toEqual([]);
  });

  it('hands it again after a period, for a runtimed that restarted and forgot it', async () => {
    const runtime = new FakeRuntime();
    await start(new OneConfigMap(hosting('192.0.2.10:5000')), runtime);
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
