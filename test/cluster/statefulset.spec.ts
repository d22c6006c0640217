/**
 * A StatefulSet on two hosts (network namespaces, each with its agent and runtimed), driven by the real
 * kubectl: pods web-0 and web-1, each with a claim from its volumeClaimTemplate on the default local-path
 * class (a directory in its node's data dir, the pod pinned to that node by the volume's node affinity).
 * A file web-0 writes into its claim is there for the web-0 that replaces it after `kubectl delete pod`,
 * and again after its host's agent restarts; web-1 finds web-0 by its per-pod DNS name under the headless
 * Service.
 */
import { type PersistentVolume, type PersistentVolumeClaim, type Pod, resourceForKind, type StatefulSet } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { type Kubectl, kubectlFor } from '@berth/testing';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeReadyStatus, startHostsCluster, type HostsCluster } from '../support/hosts-cluster';

const NS = 'stateful';
const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const PVCS = resourceForKind('v1', 'PersistentVolumeClaim')!;
const PVS = resourceForKind('v1', 'PersistentVolume')!;
const STATEFUL_SETS = resourceForKind('apps/v1', 'StatefulSet')!;

const MANIFEST = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 2
  serviceName: web
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
`;

describe('a StatefulSet with volumes on two hosts, driven by kubectl', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  let kubectl: Kubectl;
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs = 120_000) => cluster.eventually(what, check, timeoutMs);

  function ok(...args: string[]): Promise<string> {
    return kubectl.ok(args, { timeoutMs: 150_000 });
  }

  const exec = (pod: string, script: string) => ok('exec', '-n', NS, pod, '--', 'sh', '-c', script);

  /** The running pod of that name (a new one when `not` is the uid of one that went), its container up. */
  const running = (name: string, not?: string) =>
    eventually(`${name} running`, async () => {
      const pod = await client.get<Pod>(PODS, name, { namespace: NS }).catch(() => undefined);
      const ready = pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return pod && pod.metadata.uid !== not && !pod.metadata.deletionTimestamp && pod.status?.phase === 'Running' && ready ? pod : undefined;
    });

  beforeAll(async () => {
    cluster = await startHostsCluster(2);
    client = cluster.client;
    kubectl = kubectlFor(cluster.server);
    await ok('create', 'namespace', NS);
  }, 180_000);

  afterAll(async () => {
    if (!cluster) return;
    await client.delete(STATEFUL_SETS, 'web', { namespace: NS }).catch(() => undefined);
    await cluster.removeWorkloads(NS, { pods: ['web-0', 'web-1'] });
    kubectl?.cleanup();
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  it('runs web-0 and web-1, each with its own local-path claim on its node', async () => {
    expect(await kubectl.run(['apply', '-f', '-'], { input: MANIFEST })).toMatchObject({ code: 0, stdout: 'service/web created\nstatefulset.apps/web created\n' });
    expect(await ok('rollout', 'status', '-n', NS, 'sts/web', '--timeout=140s')).toMatch(/partitioned roll out complete: 2 new pods have been updated\.\.\.\n$/);
    for (const ordinal of [0, 1]) {
      const pod = await running(`web-${ordinal}`);
      expect(pod.spec).toMatchObject({ hostname: `web-${ordinal}`, subdomain: 'web' });
      const claim = await client.get<PersistentVolumeClaim>(PVCS, `data-web-${ordinal}`, { namespace: NS });
      expect(claim.status?.phase).toBe('Bound');
      expect(claim.spec?.storageClassName).toBe('local-path');
      const volume = await client.get<PersistentVolume>(PVS, claim.spec!.volumeName!);
      const terms = volume.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
      expect(JSON.stringify(terms)).toContain(pod.spec!.nodeName!);
    }
    const row = (await ok('get', 'sts', '-n', NS, 'web', '--no-headers')).trim().split(/\s+/);
    expect(row.slice(0, 2)).toEqual(['web', '2/2']);
  });

  it("keeps web-0's file in its claim when the pod is deleted and made again", async () => {
    const first = await running('web-0');
    await exec('web-0', 'echo kept-by-web-0 > /data/file');
    // The claim is a directory under its node's data dir, not in the pod's.
    const claim = await client.get<PersistentVolumeClaim>(PVCS, 'data-web-0', { namespace: NS });
    const volume = await client.get<PersistentVolume>(PVS, claim.spec!.volumeName!);
    const host = cluster.hosts.find((h) => h.name === first.spec!.nodeName)!;
    const dir = volume.spec!.hostPath?.path ?? volume.spec!.local!.path;
    expect(dir.startsWith(join(host.dataDir, 'storage') + '/')).toBe(true);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('kept-by-web-0\n');

    expect(await ok('delete', 'pod', '-n', NS, 'web-0')).toBe('pod "web-0" deleted\n');
    const second = await running('web-0', first.metadata.uid);
    expect(second.spec?.nodeName).toBe(first.spec?.nodeName);
    expect(await exec('web-0', 'cat /data/file')).toBe('kept-by-web-0\n');
  });

  it("keeps web-0's file when its host's agent restarts", async () => {
    const before = await running('web-0');
    const host = cluster.hosts.find((h) => h.name === before.spec!.nodeName)!;
    await host.agent!.stop('SIGTERM');
    cluster.startAgent(host);
    await eventually(`${host.name} Ready again`, async () => nodeReadyStatus(await client.get(NODES, host.name).catch(() => undefined)) === 'True' || undefined);
    await running('web-0');
    // Exec reaches the pod through the agent's tunnel, which the restarted agent opens after the node is Ready.
    const kept = await eventually('exec in web-0 through the restarted agent', () => exec('web-0', 'cat /data/file').catch(() => undefined), 60_000);
    expect(kept).toBe('kept-by-web-0\n');
    // And a web-0 the restarted agent starts mounts the same directory.
    await ok('delete', 'pod', '-n', NS, 'web-0');
    await running('web-0', before.metadata.uid);
    expect(await exec('web-0', 'cat /data/file')).toBe('kept-by-web-0\n');
    expect(existsSync(join(host.dataDir, 'storage'))).toBe(true);
  });

  it('lets web-1 find web-0 by its per-pod name under the headless Service', async () => {
    const web0 = await running('web-0');
    const fqdn = `web-0.web.${NS}.svc.cluster.local`;
    const answer = await eventually(`${fqdn} to resolve from web-1`, async () => {
      // busybox nslookup exits 1 when another search domain has no such name, after printing the answer.
      const out = await exec('web-1', `nslookup -type=a ${fqdn} || true`);
      return out.includes(`Address: ${web0.status!.podIP}`) ? out : undefined;
    }, 60_000);
    expect(answer).toContain(`Name:\t${fqdn}`);
  });
});
