/**
 * Images travel (issue 10), end to end: `berth server` with its cluster registry on a port of its own and
 * two hosts (network namespaces) joined with the join token, with nothing imported into their runtimeds.
 * A workstation (a runtimed of the test's, in the root namespace, trusting the cluster CA for the
 * registry the server advertises, as an agent makes its node trust it) `berth build`s an image (a rebuild
 * is all CACHED) and `berth push`es it to the advertised `ADDR:PORT/...` with the kubeconfig's token; a Deployment of it runs on both hosts,
 * each host's runtimed having pulled it itself; a pod of an image nobody pushed yet shows
 * `ImagePullBackOff` and runs once the image is pushed. One cluster for all cases.
 */
import { resourceForKind, type ConfigMap, type Deployment, type Event, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { busyboxRootfsTarball } from '@berth/image';
import { freePort, runBerth, type BerthResult } from '@berth/testing';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BUSYBOX_CONFIG, RuntimedFixture } from '../runtimed/support';
import { startHostsCluster, type ClusterHost, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const EVENTS = resourceForKind('v1', 'Event')!;
const CONFIG_MAPS = resourceForKind('v1', 'ConfigMap')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const NAMESPACE = 'default';

describe('images travel: berth push to the cluster registry, every host pulls what its pods need', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  let hosts: ClusterHost[] = [];
  let workstation: RuntimedFixture;
  let work: string;
  /** The registry as the server advertises it: `ADDR:PORT`. */
  let registry: string;
  let registryPort: number;
  let env: NodeJS.ProcessEnv;
  /** The image the workstation builds: `ADDR:PORT/e2e/app:1`. */
  let appImage: string;
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs: number) => cluster.eventually(what, check, timeoutMs);

  /** `berth ARGS` on the workstation; fails the test with its output unless it exits 0. */
  async function berth(...args: string[]): Promise<BerthResult> {
    const result = await runBerth(args, { env, timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  const listPods = async (selector: string) => (await client.list<Pod>(PODS, { namespace: NAMESPACE, labelSelector: selector })).items;
  const running = (pod: Pod) => pod.status?.phase === 'Running' && !!pod.status.containerStatuses?.[0]?.state?.running && !pod.metadata.deletionTimestamp;
  const waitingReason = (pod: Pod | undefined) => pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? '';
  async function eventsOf(name: string): Promise<string[]> {
    const events = await client.list<Event>(EVENTS, { namespace: NAMESPACE });
    return events.items.filter((e) => e.involvedObject?.name === name).map((e) => `${e.type} ${e.reason} ${e.message}`);
  }
  const imagesOf = async (host: ClusterHost) => (await host.runtime.listImages()).flatMap((i) => i.names ?? []);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-images-e2e-'));
    registryPort = await freePort();
    cluster = await startHostsCluster(2, {
      serverArgs: ['--registry-port', String(registryPort)],
      // The image pull back-off starts at the crash back-off's base: 1 s, so a pushed image is found soon.
      agentArgs: ['--crash-loop-backoff-base', '1s'],
      busybox: false,
    });
    client = cluster.client;
    hosts = cluster.hosts;
    const advertisement = await client.get<ConfigMap>(CONFIG_MAPS, 'local-registry-hosting', { namespace: 'kube-public' });
    registry = (parseYaml(advertisement.data?.['localRegistryHosting.v1'] ?? '') as { host: string }).host;
    appImage = `${registry}/e2e/app:1`;
    workstation = new RuntimedFixture();
    await workstation.start();
    await workstation.client.configureRegistries([{ host: registry, caPem: cluster.server.ca }]);
    env = { ...workstation.env, KUBECONFIG: cluster.server.kubeconfigPath, DOCKER_CONFIG: join(work, 'docker') };
    await workstation.client.importImage(await busyboxRootfsTarball(), { name: `${registry}/library/busybox:1`, config: BUSYBOX_CONFIG });
  }, 240_000);

  afterAll(async () => {
    await workstation?.cleanup();
    if (cluster) {
      await cluster.removeWorkloads(NAMESPACE, { deployments: ['app'], pods: ['late', 'short'] });
      expect(await cluster.cleanup()).toEqual([]);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('advertises the registry in kube-public/local-registry-hosting: the address the join command names, and the registry port', () => {
    const [address, port] = registry.split(':');
    expect(port).toBe(String(registryPort));
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(address).not.toBe('127.0.0.1');
  });

  it('builds an image with berth build on the workstation; a rebuild is all CACHED', async () => {
    const context = join(work, 'context');
    mkdirSync(context);
    writeFileSync(join(context, 'greeting.txt'), 'hello from the cluster registry\n');
    writeFileSync(
      join(context, 'Dockerfile'),
      [`FROM ${registry}/library/busybox:1`, 'COPY greeting.txt /greeting.txt', 'RUN echo built by berth > /built', 'CMD ["sh", "-c", "cat /greeting.txt /built && exec sleep 3600"]', ''].join('\n'),
    );
    await berth('build', '-t', appImage, context);
    // BuildKit's plain progress, on stderr.
    const rebuilt = (await berth('build', '-t', appImage, context)).stderr;
    const steps = rebuilt.split('\n').filter((line) => /^#\d+ \[\d+\/\d+\] (COPY|RUN)/.test(line));
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const step of steps) expect(rebuilt).toMatch(new RegExp(`^${step.split(' ')[0]} CACHED$`, 'm'));
  });

  it('runs a Deployment of the image pushed with berth push on both hosts, each having pulled it itself', async () => {
    const image = appImage;
    const pushed = (await berth('push', image)).stdout;
    expect(pushed).toMatch(/1: digest: sha256:[0-9a-f]{64} size: \d+/);
    for (const host of hosts) expect(await imagesOf(host)).toEqual([]);

    const deployment: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', namespace: NAMESPACE },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'pushed' } },
        template: {
          metadata: { labels: { app: 'pushed' } },
          // The image's own CMD: its config travelled with it.
          spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image }] },
        },
      },
    };
    await client.create(DEPLOYMENTS, deployment);
    const pods = await eventually('2 pods of the pushed image running', async () => {
      const all = await listPods('app=pushed');
      return all.length === 2 && all.every(running) ? all : undefined;
    }, 180_000);
    // The scheduler spreads a ReplicaSet's pods: one on each host.
    expect(pods.map((p) => p.spec?.nodeName).sort()).toEqual(hosts.map((h) => h.name).sort());
    for (const host of hosts) {
      expect(await imagesOf(host)).toContain(image);
      const pod = pods.find((p) => p.spec?.nodeName === host.name)!;
      expect(pod.status?.containerStatuses?.[0]?.imageID).toMatch(new RegExp(`^${registry.replace(/\./g, '\\.')}/e2e/app@sha256:[0-9a-f]{64}$`));
      const events = await eventsOf(pod.metadata.name!);
      expect(events).toContain(`Normal Pulling Pulling image "${image}"`);
      expect(events.some((e) => e.startsWith(`Normal Pulled Successfully pulled image "${image}" in `))).toBe(true);
      const logs = await eventually(`the logs of ${pod.metadata.name}`, async () => {
        const text = (await runBerth(['logs', pod.metadata.name!], { env })).stdout;
        return text.includes('built by berth') ? text : undefined;
      }, 30_000);
      expect(logs).toBe('hello from the cluster registry\nbuilt by berth\n');
    }
  });

  it('runs a docker.io short name from the cluster registry, which stands in for docker.io on every node', async () => {
    await berth('tag', appImage, `${registry}/library/e2e-short:1`);
    await berth('push', `${registry}/library/e2e-short:1`);
    await client.create<Pod>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'short', namespace: NAMESPACE },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'e2e-short:1' }] },
    });
    const started = await eventually('the short-named pod to run', async () => {
      const pod = await client.get<Pod>(PODS, 'short', { namespace: NAMESPACE });
      return running(pod) ? pod : undefined;
    }, 60_000);
    const host = hosts.find((h) => h.name === started.spec?.nodeName)!;
    expect(await imagesOf(host)).toContain('docker.io/library/e2e-short:1');
    expect(await eventsOf('short')).toContain('Normal Pulling Pulling image "e2e-short:1"');
  });

  it('shows ImagePullBackOff for an image not pushed yet, and runs the pod once it is pushed', async () => {
    const image = `${registry}/e2e/late:1`;
    await client.create<Pod>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'late', namespace: NAMESPACE },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image, command: ['sleep', '3600'] }] },
    });
    const failing = await eventually('the pod to show ImagePullBackOff', async () => {
      const pod = await client.get<Pod>(PODS, 'late', { namespace: NAMESPACE });
      return waitingReason(pod) === 'ImagePullBackOff' ? pod : undefined;
    }, 60_000);
    expect(failing.status?.phase).toBe('Pending');
    expect(failing.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain(`Back-off pulling image "${image}"`);
    expect(await eventsOf('late')).toEqual(expect.arrayContaining(['Warning Failed Error: ErrImagePull', `Normal BackOff Back-off pulling image "${image}"`]));

    await berth('tag', appImage, image);
    await berth('push', image);
    const started = await eventually('the pod to run once its image is pushed', async () => {
      const pod = await client.get<Pod>(PODS, 'late', { namespace: NAMESPACE });
      return running(pod) ? pod : undefined;
    }, 60_000);
    const host = hosts.find((h) => h.name === started.spec?.nodeName)!;
    expect(await imagesOf(host)).toContain(image);
  });
});
