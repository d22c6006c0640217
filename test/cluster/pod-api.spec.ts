/**
 * The pod API means what it says, with real containers: downwardAPI and projected volumes, the downward
 * API and Services in the environment, termination messages, a memory-backed emptyDir, subPath mounts
 * that cannot follow a link out of their volume, and gRPC readiness probes.
 */
import { waitFor, kubectlFor, type Kubectl, type HostProcess, type TestServer, REPO_ROOT } from '@berth/testing';
import type { KubeClient } from '@berth/client';
import { resourceForKind, type Container, type Pod } from '@berth/api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleScript } from '../support/bundle-script';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'pod-api';
const CONFIG_MAPS = resourceForKind('v1', 'ConfigMap')!;
const SECRETS = resourceForKind('v1', 'Secret')!;
const SERVICES = resourceForKind('v1', 'Service')!;

function busybox(name: string, script: string, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...extra };
}

describe('the pod API on a real node', () => {
  let cluster: NodeCluster;
  let server: TestServer;
  let client: KubeClient;
  let kubectl: Kubectl;
  const dir = mkdtempSync(join(tmpdir(), 'berth-pod-api-'));

  beforeAll(async () => {
    cluster = await startNodeCluster();
    ({ server, client } = cluster);
    kubectl = kubectlFor(server);
    await createNamespace(client, NS);
  }, 90_000);

  afterAll(async () => {
    kubectl?.cleanup();
    rmSync(dir, { recursive: true, force: true });
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 90_000);

  const pod = (name: string) => client.get<Pod>(types.pods, name, { namespace: NS });

  async function exec(podName: string, container: string, script: string): Promise<string> {
    const result = await kubectl.run(['exec', '-n', NS, podName, '-c', container, '--', 'sh', '-c', script]);
    if (result.code !== 0) throw new Error(`kubectl exec ${podName}: ${result.code} ${result.stderr}`);
    return result.stdout;
  }

  async function removePod(name: string): Promise<void> {
    await cluster.observe(NS);
    await client.delete(types.pods, name, { namespace: NS });
    await waitFor(async () => (await client.list(types.pods, { namespace: NS })).items.every((p) => p.metadata.name !== name), 60_000, `pod ${name} to go`);
  }

  it('shows the pod in files and variables, and refuses a subPath that a container turned into a link out of the volume', async () => {
    await client.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'files-config', namespace: NS }, data: { greeting: 'hello from a ConfigMap' } });
    await client.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'files-secret', namespace: NS }, stringData: { token: 's3cret' } });
    await client.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'files-web', namespace: NS }, spec: { ports: [{ name: 'http', port: 8080 }] } });
    await client.create<Pod>(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'files', namespace: NS, labels: { app: 'files' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        volumes: [
          { name: 'shared', emptyDir: {} },
          { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
          {
            name: 'info',
            downwardAPI: {
              items: [
                { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
                { path: 'mem-limit', resourceFieldRef: { containerName: 'reader', resource: 'limits.memory', divisor: '1Mi' } },
              ],
            },
          },
          {
            name: 'all',
            projected: {
              sources: [{ configMap: { name: 'files-config' } }, { secret: { name: 'files-secret' } }, { downwardAPI: { items: [{ path: 'pod/name', fieldRef: { fieldPath: 'metadata.name' } }] } }],
            },
          },
          { name: 'conf', configMap: { name: 'files-config' } },
        ],
        // What any container of a pod can do to a volume it shares: plant a link to the host's root.
        initContainers: [
          busybox('plant', 'ln -s / /shared/escape && mkdir -p /shared/ok && echo fine > /shared/ok/file && printf planted > /dev/termination-log', {
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          }),
        ],
        containers: [
          busybox('reader', 'exec sleep 3600', {
            resources: { limits: { memory: '64Mi' } },
            env: [
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            ],
            volumeMounts: [
              { name: 'shared', mountPath: '/ok', subPath: 'ok' },
              { name: 'mem', mountPath: '/mem' },
              { name: 'info', mountPath: '/info' },
              { name: 'all', mountPath: '/all' },
              { name: 'conf', mountPath: '/etc/greeting', subPath: 'greeting' },
            ],
          }),
          busybox('escaper', 'exec sleep 3600', { volumeMounts: [{ name: 'shared', mountPath: '/host', subPath: 'escape' }] }),
        ],
      },
    });

    const refused = await waitFor(async () => {
      const current = await pod('files');
      const reader = current.status?.containerStatuses?.find((s) => s.name === 'reader');
      const escaper = current.status?.containerStatuses?.find((s) => s.name === 'escaper');
      return reader?.state?.running && escaper?.state?.waiting?.reason === 'CreateContainerConfigError' ? current : undefined;
    }, 90_000, `reader running and escaper refused:\n${server.output()}`);
    const escaper = refused.status!.containerStatuses!.find((s) => s.name === 'escaper')!;
    expect(escaper.state!.waiting!.message).toBe('subPath "escape" of volumeMount "shared" leads outside the volume (through a symbolic link), so it is not mounted');
    const events = (await client.list(types.events, { namespace: NS })).items as Array<{ type?: string; reason?: string; message?: string }>;
    expect(events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'Failed', message: expect.stringContaining('subPath "escape" of volumeMount "shared" leads outside the volume') }));
    expect(refused.status!.initContainerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 0, message: 'planted' });

    const seen = await exec(
      'files',
      'reader',
      'cat /ok/file; cat /info/labels; echo; cat /info/mem-limit; echo; cat /all/greeting; echo; cat /all/token; echo; cat /all/pod/name; echo; cat /etc/greeting; echo; grep " /mem " /proc/mounts; echo "$POD_IP|$NODE|$APP|$FILES_WEB_SERVICE_PORT_HTTP|$KUBERNETES_SERVICE_PORT"',
    );
    const [ok, labels, memLimit, greeting, token, name, subPathGreeting, memMount, env] = seen.trim().split('\n');
    expect([ok, labels, memLimit, greeting, token, name, subPathGreeting]).toEqual(['fine', 'app="files"', '64', 'hello from a ConfigMap', 's3cret', 'files', 'hello from a ConfigMap']);
    expect(memMount).toMatch(/^tmpfs \/mem tmpfs .*size=8192k/);
    expect(env).toBe(`${refused.status!.podIP}|${refused.spec!.nodeName}|files|8080|443`);

    // Labels change: the file follows, through a new ..data.
    await client.patch(types.pods, 'files', { metadata: { labels: { app: 'files', tier: 'back' } } }, { namespace: NS, type: 'merge' });
    await waitFor(async () => (await exec('files', 'reader', 'cat /info/labels')) === 'app="files"\ntier="back"', 30_000, 'the labels file to follow the pod');

    await removePod('files');
    expect(await cluster.leftovers(NS)).toEqual([]);
  }, 180_000);

  it("follows a gRPC readiness probe's SERVING and NOT_SERVING with the pod's Ready condition", async () => {
    const script = join(dir, 'grpc-health-host.js');
    bundleScript(join(__dirname, 'grpc-health-host.ts'), script);
    const health: HostProcess = server.host!.spawn(process.execPath, [script], { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules') });
    try {
      const port = Number(await waitFor(() => /listening (\d+)/.exec(health.output())?.[1], 30_000, `the health server:\n${health.output()}`));
      await client.create<Pod>(types.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'grpc', namespace: NS },
        spec: {
          hostNetwork: true,
          terminationGracePeriodSeconds: 1,
          containers: [busybox('main', 'exec sleep 3600', { readinessProbe: { grpc: { port }, periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 5 } })],
        },
      });
      const ready = async () => (await pod('grpc')).status?.conditions?.find((c) => c.type === 'Ready')?.status;
      await waitFor(async () => (await ready()) === 'True', 90_000, `the pod to be Ready while SERVING:\n${server.output()}`);
      health.child.kill('SIGUSR2');
      await waitFor(async () => (await ready()) === 'False', 30_000, 'the pod to be unready while NOT_SERVING');
      const unhealthy = ((await client.list(types.events, { namespace: NS })).items as Array<{ reason?: string; message?: string }>).filter((e) => e.reason === 'Unhealthy');
      expect(unhealthy.map((e) => e.message)).toContain('Readiness probe failed: service unhealthy (responded with "NOT_SERVING")');
      health.child.kill('SIGUSR1');
      await waitFor(async () => (await ready()) === 'True', 30_000, 'the pod to be Ready again');
      await removePod('grpc');
    } finally {
      await health.stop();
    }
    expect(await cluster.leftovers(NS)).toEqual([]);
  }, 180_000);
});
