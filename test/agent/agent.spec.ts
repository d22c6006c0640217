// The agent against a real berth server (with its scheduler) and a real runtimed running busybox under
// runc (root). Every pod, container, sandbox, mount and process is removed afterwards.
import { resourceForKind, type ConfigMap, type Event, type Lease, type Node, type Pod } from '@berth/api';
import { DEFAULT_NODE_LEASE_DURATION_MS, LABELS } from '@berth/agent';
import { Ipv4Cidr } from '@berth/ipv4';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentCluster, busyboxPod, ignoreNotFound, types, waitFor } from './cluster';

const cluster = new AgentCluster();
const runtime = () => cluster.runtimed.client;

async function logsOf(containerId: string): Promise<string> {
  let text = '';
  for await (const entry of runtime().logs(containerId)) text += entry.data.toString();
  return text;
}

const containerIdOf = (pod: Pod, name = 'main') => pod.status?.containerStatuses?.find((s) => s.name === name)?.containerID?.replace('berth://', '') ?? '';
const phaseIs = (phase: string) => (pod: Pod) => pod.status?.phase === phase;

beforeAll(async () => {
  await cluster.start();
}, 120_000);

afterEach(async () => {
  await cluster.deleteAll();
  await waitFor('runtimed to hold nothing of deleted pods', async () => (await runtime().listContainers({ all: true })).length === 0 && (await runtime().listPodSandboxes()).length === 0, 20_000);
  // Nothing of them left on the host either: mounts, runc state, cgroups, shims, namespaces, pod files.
  expect(cluster.runtimed.leftovers()).toEqual([]);
  await waitFor('pod directories to go', () => !existsSync(join(cluster.dataDir, 'pods')) || readdirSync(join(cluster.dataDir, 'pods')).length === 0);
});

afterAll(async () => {
  await cluster.cleanup();
}, 60_000);

describe('node registration', () => {
  it('registers a Ready node with host facts and renews its Lease', async () => {
    const node = await cluster.client.get<Node>(types.nodes, cluster.nodeName);
    expect(node.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': cluster.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': expect.any(String) });
    expect(node.status?.capacity).toEqual({ cpu: expect.stringMatching(/^\d+$/), memory: expect.stringMatching(/^\d+Ki$/), pods: '110' });
    expect(node.status?.allocatable).toEqual(node.status?.capacity);
    expect(node.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: expect.any(String) }));
    expect(node.status?.addresses?.map((a) => a.type)).toEqual(['InternalIP', 'Hostname']);
    expect(node.status?.nodeInfo).toMatchObject({ containerRuntimeVersion: expect.stringMatching(/^berth:\/\/.+/), kubeletVersion: expect.stringMatching(/^v1\./), operatingSystem: 'linux' });

    const lease = await cluster.client.get<Lease>(types.leases, cluster.nodeName, { namespace: 'kube-node-lease' });
    expect(lease.spec).toMatchObject({ holderIdentity: cluster.nodeName, leaseDurationSeconds: DEFAULT_NODE_LEASE_DURATION_MS / 1000 });
    await waitFor('the lease to be renewed', async () => {
      const renewed = await cluster.client.get<Lease>(types.leases, cluster.nodeName, { namespace: 'kube-node-lease' });
      return renewed.spec?.renewTime !== lease.spec?.renewTime;
    });
  });
});

describe('pods', () => {
  it('runs a scheduled pod and reports its status as Kubernetes does', async () => {
    await cluster.createPod(busyboxPod('sleeper', {}));
    const pod = await cluster.waitForPod('sleeper', 'Running and Ready', (p) => p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    expect(pod.spec?.nodeName).toBe(cluster.nodeName);
    const status = pod.status!;
    expect(status.conditions?.map((c) => [c.type, c.status]).sort()).toEqual([['ContainersReady', 'True'], ['Initialized', 'True'], ['PodScheduled', 'True'], ['Ready', 'True']]);
    expect(status.hostIP).toBe(cluster.host.ip);
    // On the pod network: an address of the node's pod CIDR, which the agent handed to runtimed.
    const node = await cluster.client.get<Node>(types.nodes, cluster.nodeName);
    expect(node.spec?.podCIDR).toEqual(expect.any(String));
    expect(Ipv4Cidr.parse(node.spec!.podCIDR!).offsetOf(status.podIP!)).toEqual(expect.any(Number));
    expect(status.podIPs).toEqual([{ ip: status.podIP }]);
    expect(await runtime().status()).toMatchObject({ networkReady: true, podCidr: node.spec?.podCIDR });
    expect(status.startTime).toEqual(expect.any(String));
    expect(status.qosClass).toBe('BestEffort');
    expect(status.containerStatuses).toEqual([
      expect.objectContaining({
        name: 'main',
        ready: true,
        started: true,
        restartCount: 0,
        image: 'busybox',
        imageID: expect.stringContaining('sha256:'),
        containerID: expect.stringMatching(/^berth:\/\/[0-9a-f]{64}$/),
        state: { running: { startedAt: expect.any(String) } },
      }),
    ]);
    // The agent's own status write comes back through its informer; recomputing it must not write again.
    const lease = async () => (await cluster.client.get<Lease>(types.leases, cluster.nodeName, { namespace: 'kube-node-lease' })).spec?.renewTime;
    const renewedAt = await lease();
    await waitFor('two more lease renewals', async () => (await lease()) !== renewedAt);
    const renewedAgain = await lease();
    await waitFor('another lease renewal', async () => (await lease()) !== renewedAgain);
    expect((await cluster.getPod('sleeper')).metadata.resourceVersion).toBe(pod.metadata.resourceVersion);
    const eventType = resourceForKind('v1', 'Event')!;
    await waitFor('kubelet events about the pod', async () => {
      const events = await cluster.client.list<Event>(eventType, { namespace: 'default', fieldSelector: `involvedObject.uid=${pod.metadata.uid}` });
      const reasons = events.items.filter((e) => e.source?.component === 'kubelet').map((e) => e.reason);
      return ['Pulled', 'Created', 'Started'].every((r) => reasons.includes(r));
    });
    const [container] = await runtime().listContainers({ labels: { [LABELS.podUid]: pod.metadata.uid! } });
    expect(container?.id).toBe(containerIdOf(pod));
    expect(container?.state).toBe('running');
    expect(await runtime().listPodSandboxes({ [LABELS.podUid]: pod.metadata.uid! })).toHaveLength(1);
  });

  it('ends a pod Failed with the exit code under restartPolicy Never, Succeeded under OnFailure when it exits 0', async () => {
    await cluster.createPod(busyboxPod('fails', { restartPolicy: 'Never', script: 'exit 3' }));
    await cluster.createPod(busyboxPod('succeeds', { restartPolicy: 'OnFailure', script: 'exit 0' }));
    const failed = await cluster.waitForPod('fails', 'Failed', phaseIs('Failed'));
    expect(failed.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, ready: false, state: { terminated: { exitCode: 3, reason: 'Error', finishedAt: expect.any(String) } } });
    expect(failed.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False', reason: 'PodCompleted' }));
    const succeeded = await cluster.waitForPod('succeeds', 'Succeeded', phaseIs('Succeeded'));
    expect(succeeded.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  });

  it('restarts a crashing container with a growing back-off and shows CrashLoopBackOff', async () => {
    await cluster.createPod(busyboxPod('crasher', { restartPolicy: 'Always', script: 'exit 3' }));
    const messages = new Set<string>();
    const pod = await cluster.waitForPod(
      'crasher',
      'to restart three times',
      (p) => {
        const s = p.status?.containerStatuses?.[0];
        if (s?.state?.waiting?.reason === 'CrashLoopBackOff') messages.add(s.state.waiting.message ?? '');
        return (s?.restartCount ?? 0) >= 3 && messages.size >= 2;
      },
      30_000,
    );
    const backoffs = [...messages].map((m) => /^back-off (\S+) restarting failed container=main pod=crasher_default/.exec(m)?.[1]);
    expect(backoffs).toEqual(expect.arrayContaining(['1s', '2s']));
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    // Only the latest run and the one before it are kept, as kubelet keeps dead containers for lastState.
    expect((await runtime().listContainers({ all: true, labels: { [LABELS.podUid]: pod.metadata.uid! } })).length).toBeLessThanOrEqual(2);
  });

  it('gives containers env and files from ConfigMaps and Secrets, fieldRefs, and runs init containers first', async () => {
    await cluster.client.create<ConfigMap>(types.configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { greeting: 'hello', 'app.conf': 'color=blue\n' } });
    await cluster.client.create(types.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, data: { password: Buffer.from('s3cret').toString('base64') } });
    const pod = busyboxPod('configured', { restartPolicy: 'Never' });
    pod.spec!.volumes = [
      { name: 'config', configMap: { name: 'settings' } },
      { name: 'scratch', emptyDir: {} },
    ];
    pod.spec!.initContainers = [{ name: 'prepare', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo prepared > /work/marker'], volumeMounts: [{ name: 'scratch', mountPath: '/work' }] }];
    pod.spec!.containers = [
      {
        name: 'main',
        image: 'busybox',
        imagePullPolicy: 'IfNotPresent',
        workingDir: '/work',
        command: ['sh', '-c'],
        args: ['echo "$GREETING $PASSWORD $POD_NAME/$POD_NS $(cat marker) $(cat /etc/config/app.conf) $EXPANDED"; touch /etc/config/x 2>/dev/null || echo read-only'],
        env: [
          { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'EXPANDED', value: '$(GREETING)-x' },
        ],
        volumeMounts: [
          { name: 'config', mountPath: '/etc/config' },
          { name: 'scratch', mountPath: '/work' },
        ],
      },
    ];
    await cluster.createPod(pod);
    const done = await cluster.waitForPod('configured', 'Succeeded', phaseIs('Succeeded'));
    expect(done.status?.initContainerStatuses).toEqual([expect.objectContaining({ name: 'prepare', ready: true, state: { terminated: expect.objectContaining({ exitCode: 0, reason: 'Completed' }) } })]);
    expect(await logsOf(containerIdOf(done))).toBe('hello s3cret configured/default prepared color=blue hello-x\nread-only\n');
  });

  it('updates ConfigMap volumes of running containers when the ConfigMap changes', async () => {
    await cluster.client.create<ConfigMap>(types.configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'default' }, data: { mode: 'first' } });
    const pod = busyboxPod('watcher', {});
    pod.spec!.volumes = [{ name: 'live', configMap: { name: 'live' } }];
    pod.spec!.containers[0]!.volumeMounts = [{ name: 'live', mountPath: '/etc/live' }];
    await cluster.createPod(pod);
    const running = await cluster.waitForPod('watcher', 'Running', phaseIs('Running'));
    const readMode = async () => {
      const session = runtime().exec(containerIdOf(running), { args: ['cat', '/etc/live/mode'] });
      let out = '';
      session.stdout.on('data', (d) => (out += d));
      session.stderr.resume();
      await session.exit;
      return out;
    };
    expect(await readMode()).toBe('first');
    await cluster.client.patch(types.configMaps, 'live', { data: { mode: 'second' } }, { type: 'merge', namespace: 'default' });
    await waitFor('the new value inside the container', async () => (await readMode()) === 'second');
  });

  it('mounts secret and hostPath volumes and applies resource limits, reporting OOMKilled', async () => {
    await cluster.client.create(types.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'files', namespace: 'default' }, data: { 'id.key': Buffer.from('k3y').toString('base64') } });
    const hostDir = join(cluster.dataDir, 'host-volume');
    // -L: the file is a link through the volume's ..data, as in Kubernetes; its mode is the target's.
    const pod = busyboxPod('limited', { script: 'cat /etc/secret/id.key > /host/out; ls -lL /etc/secret/id.key | cut -c1-10 >> /host/out; exec sleep 3600' });
    pod.spec!.volumes = [
      { name: 'secret', secret: { secretName: 'files', defaultMode: 0o400 } },
      { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
    ];
    pod.spec!.containers[0]!.volumeMounts = [
      { name: 'secret', mountPath: '/etc/secret' },
      { name: 'host', mountPath: '/host' },
    ];
    pod.spec!.containers[0]!.resources = { limits: { memory: '64Mi', cpu: '500m' } };
    await cluster.createPod(pod);
    const running = await cluster.waitForPod('limited', 'Running', phaseIs('Running'));
    expect(running.status?.qosClass).toBe('Guaranteed');
    const [stats] = await runtime().stats([containerIdOf(running)]);
    expect(stats?.memoryLimitBytes).toBe(64 * 1024 * 1024);
    await waitFor('the container to write to the host path', () => existsSync(join(hostDir, 'out')) && readFileSync(join(hostDir, 'out'), 'utf8').endsWith('\n'));
    expect(readFileSync(join(hostDir, 'out'), 'utf8')).toBe('k3y-r--------\n');

    const oom = busyboxPod('oom', { restartPolicy: 'Never', script: 'head -c 200m /dev/zero | tail' });
    oom.spec!.containers[0]!.resources = { limits: { memory: '32Mi' } };
    await cluster.createPod(oom);
    const killed = await cluster.waitForPod('oom', 'Failed', phaseIs('Failed'));
    expect(killed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('waits with ErrImagePull for an image that is not on the node', async () => {
    await cluster.createPod({ ...busyboxPod('no-image', {}), spec: { containers: [{ name: 'main', image: 'not-here:1' }] } });
    const pod = await cluster.waitForPod('no-image', 'waiting for its image', (p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''));
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain('not-here:1');
  });

  it('removes the containers, sandbox and files of a deleted pod', async () => {
    await cluster.createPod({ ...busyboxPod('doomed', {}), spec: { ...busyboxPod('doomed', {}).spec!, volumes: [{ name: 'scratch', emptyDir: {} }] } });
    const pod = await cluster.waitForPod('doomed', 'Running', phaseIs('Running'));
    const uid = pod.metadata.uid!;
    expect(existsSync(join(cluster.dataDir, 'pods', uid))).toBe(true);
    await cluster.client.delete(types.pods, 'doomed', { namespace: 'default' });
    await waitFor('its containers and sandbox to go', async () => (await runtime().listContainers({ all: true, labels: { [LABELS.podUid]: uid } })).length === 0 && (await runtime().listPodSandboxes({ [LABELS.podUid]: uid })).length === 0);
    await waitFor('its files to go', () => !existsSync(join(cluster.dataDir, 'pods', uid)));
    expect(cluster.runtimed.leftovers()).toEqual([]);
  });

  it('stops a pod marked for deletion, then deletes it for good', async () => {
    // A finalizer holds the pod after DELETE with a deletionTimestamp, as Kubernetes holds every pod bound to a node.
    await cluster.createPod({ ...busyboxPod('marked', {}), metadata: { name: 'marked', namespace: 'default', finalizers: ['test.berth.io/hold'] } });
    const pod = await cluster.waitForPod('marked', 'Running', phaseIs('Running'));
    await cluster.client.delete(types.pods, 'marked', { namespace: 'default' });
    await waitFor('its containers and sandbox to go', async () => (await runtime().listContainers({ all: true, labels: { [LABELS.podUid]: pod.metadata.uid! } })).length === 0 && (await runtime().listPodSandboxes({ [LABELS.podUid]: pod.metadata.uid! })).length === 0);
    const marked = await cluster.getPod('marked');
    expect(marked.metadata.deletionTimestamp).toEqual(expect.any(String));
    await cluster.client.patch(types.pods, 'marked', { metadata: { finalizers: null } }, { type: 'merge', namespace: 'default' });
    await waitFor('the pod to be gone', async () => !(await cluster.getPod('marked').catch(() => undefined)));
  });

  it('starts a new pod while others wait out their grace period: no pod waits for another', async () => {
    // sleep as PID 1 ignores SIGTERM, so each stop lasts the whole grace period; more stopping pods than the
    // agent once had workers (4), so a pod that queued behind them would start only after one was gone.
    const stopping = ['slow-0', 'slow-1', 'slow-2', 'slow-3', 'slow-4'];
    for (const name of stopping) await cluster.createPod(busyboxPod(name, { terminationGracePeriodSeconds: 15, script: 'exec sleep 3600' }));
    for (const name of stopping) await cluster.waitForPod(name, 'Running', phaseIs('Running'));
    for (const name of stopping) await cluster.client.delete(types.pods, name, { namespace: 'default' });
    try {
      await cluster.createPod(busyboxPod('eager', {}));
      await cluster.waitForPod('eager', 'Running', phaseIs('Running'));
      const stillStopping = await Promise.all(stopping.map((name) => cluster.getPod(name).catch(() => undefined)));
      expect(stillStopping.filter((pod) => pod?.metadata.deletionTimestamp).length).toBe(stopping.length);
    } finally {
      // Their grace periods have served: a DELETE without grace cuts them short, so the cleanup does not sit them out.
      for (const name of stopping) await ignoreNotFound(cluster.client.delete(types.pods, name, { namespace: 'default', gracePeriodSeconds: 0 }));
    }
  }, 60_000);

  it('adopts running containers after an agent restart, and cleans up after pods deleted meanwhile', async () => {
    await cluster.createPod(busyboxPod('survivor', {}));
    await cluster.createPod(busyboxPod('orphan', {}));
    const before = await cluster.waitForPod('survivor', 'Running', phaseIs('Running'));
    const orphan = await cluster.waitForPod('orphan', 'Running', phaseIs('Running'));
    await cluster.stopAgent();
    await cluster.client.delete(types.pods, 'orphan', { namespace: 'default' });
    await cluster.startAgent();
    await waitFor('the orphan pod to be torn down', async () => (await runtime().listContainers({ all: true, labels: { [LABELS.podUid]: orphan.metadata.uid! } })).length === 0);
    // A new pod running proves the new agent syncs; the survivor must still have its first container.
    await cluster.createPod(busyboxPod('newcomer', {}));
    await cluster.waitForPod('newcomer', 'Running', phaseIs('Running'));
    const after = await cluster.getPod('survivor');
    expect(containerIdOf(after)).toBe(containerIdOf(before));
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    const containers = await runtime().listContainers({ all: true, labels: { [LABELS.podUid]: before.metadata.uid! } });
    expect(containers.map((c) => [c.id, c.state])).toEqual([[containerIdOf(before), 'running']]);
  });
});

describe('probes', () => {
  async function execIn(containerId: string, script: string): Promise<number> {
    const session = runtime().exec(containerId, { args: ['sh', '-c', script] });
    session.stdout.resume();
    session.stderr.resume();
    return (await session.exit).exitCode;
  }
  const readyIs = (value: 'True' | 'False') => (p: Pod) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === value;

  it('keeps a pod unready until its exec readiness probe passes, and unready again when it fails', async () => {
    const pod = busyboxPod('ready-later', {});
    pod.spec!.containers[0]!.readinessProbe = { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 };
    await cluster.createPod(pod);
    const unready = await cluster.waitForPod('ready-later', 'Running but not Ready', readyIs('False'));
    expect(unready.status?.containerStatuses?.[0]).toMatchObject({ ready: false, started: true, state: { running: expect.anything() } });
    expect(await execIn(containerIdOf(unready), 'touch /tmp/ready')).toBe(0);
    await cluster.waitForPod('ready-later', 'Ready', readyIs('True'));
    expect(await execIn(containerIdOf(unready), 'rm /tmp/ready')).toBe(0);
    await cluster.waitForPod('ready-later', 'unready again', readyIs('False'));
  });

  it('probes ports inside the pod with httpGet and tcpSocket', async () => {
    const pod = busyboxPod('web', { script: 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www' });
    pod.spec!.containers[0]!.ports = [{ name: 'http', containerPort: 8080 }];
    pod.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/index.html', port: 'http' }, periodSeconds: 1, failureThreshold: 1 };
    // Tolerant enough that a busy machine's slow httpd start never counts as a liveness failure.
    pod.spec!.containers[0]!.livenessProbe = { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 5 };
    await cluster.createPod(pod);
    const ready = await cluster.waitForPod('web', 'Ready', readyIs('True'));
    // A 404 fails the HTTP probe; the port still accepts connections, so the liveness probe keeps passing.
    expect(await execIn(containerIdOf(ready), 'rm /www/index.html')).toBe(0);
    const unready = await cluster.waitForPod('web', 'unready after a 404', readyIs('False'));
    expect(unready.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, containerID: ready.status?.containerStatuses?.[0]?.containerID });
  });

  it('restarts a container whose liveness probe fails', async () => {
    const pod = busyboxPod('liveness', { script: 'touch /tmp/alive; exec sleep 3600' });
    pod.spec!.containers[0]!.livenessProbe = { exec: { command: ['cat', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 2 };
    await cluster.createPod(pod);
    const running = await cluster.waitForPod('liveness', 'Running', phaseIs('Running'));
    expect(await execIn(containerIdOf(running), 'rm /tmp/alive')).toBe(0);
    const restarted = await cluster.waitForPod('liveness', 'restarted', (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && !!p.status.containerStatuses[0].state?.running);
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137 });
    expect(containerIdOf(restarted)).not.toBe(containerIdOf(running));
  });
});
