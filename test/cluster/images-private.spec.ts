/**
 * The cluster registry with anonymous pull off (`berth server --registry-anonymous-pull=false`): a host
 * joined with the join token (a real `berth agent`, its own node certificate) still runs a pod whose image
 * is only in the cluster registry, its runtimed presenting the node's client certificate, which the agent
 * hands it beside the cluster CA. A workstation (a runtimed of the test's) pushes the image with the admin
 * token and cannot pull it back anonymously. Neither the agent's nor runtimed's log holds the node's key.
 */
import { resourceForKind, type ConfigMap, type Pod } from '@berth/api';
import { nodeCredentialPath } from '@berth/agent';
import { connectionFromFile } from '@berth/client';
import { busyboxRootfsTarball } from '@berth/image';
import { freePort } from '@berth/testing';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BUSYBOX_CONFIG, RuntimedFixture } from '../runtimed/support';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const CONFIG_MAPS = resourceForKind('v1', 'ConfigMap')!;

describe('the cluster registry without anonymous pull: nodes pull with their node certificate', () => {
  let cluster: HostsCluster | undefined;
  let workstation: RuntimedFixture | undefined;

  beforeAll(async () => {
    cluster = await startHostsCluster(1, {
      serverArgs: ['--registry-port', String(await freePort()), '--registry-anonymous-pull=false'],
      agentArgs: ['--crash-loop-backoff-base', '1s'],
      busybox: false,
    });
    workstation = new RuntimedFixture();
    await workstation.start();
  }, 240_000);

  afterAll(async () => {
    await workstation?.cleanup();
    if (cluster) {
      await cluster.removeWorkloads('default', { pods: ['private'] });
      expect(await cluster.cleanup()).toEqual([]);
    }
  }, 120_000);

  it('runs a pod of an image only the cluster registry has, which an anonymous pull may not fetch', async () => {
    const { client, server, hosts } = cluster!;
    const advertisement = await client.get<ConfigMap>(CONFIG_MAPS, 'local-registry-hosting', { namespace: 'kube-public' });
    const registry = (parseYaml(advertisement.data?.['localRegistryHosting.v1'] ?? '') as { host: string }).host;
    const image = `${registry}/private/app:1`;

    await workstation!.client.configureRegistries([{ host: registry, caPem: server.ca }]);
    await workstation!.client.importImage(await busyboxRootfsTarball(), { name: image, config: BUSYBOX_CONFIG });
    await workstation!.client.pushImage(image, { auth: { username: 'anyone', password: server.token } });
    await workstation!.client.removeImage(image);
    await expect(workstation!.client.pullImage(image)).rejects.toThrow(/denied/i);

    await client.create<Pod>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'private', namespace: 'default' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image, command: ['sleep', '3600'] }] },
    });
    const pod = await cluster!.eventually(
      'the pod of the private image Running',
      async () => {
        const p = await client.get<Pod>(PODS, 'private', { namespace: 'default' });
        return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
      },
      90_000,
    );
    expect(pod.status?.containerStatuses?.[0]?.imageID).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect((await hosts[0]!.runtime.listImages()).flatMap((i) => i.names ?? [])).toContain(image);

    // The node's key is in its credential file, and nowhere in what the agent or runtimed logged.
    const key = connectionFromFile(nodeCredentialPath(hosts[0]!.dataDir)).clientKey!;
    const keyBody = key.split('\n').slice(1, -2).join('');
    expect(keyBody.length).toBeGreaterThan(40);
    const runtimedLog = join(hosts[0]!.dataDir, 'runtimed.log');
    const logs = (hosts[0]!.agent?.output() ?? '') + (existsSync(runtimedLog) ? readFileSync(runtimedLog, 'utf8') : '');
    expect(logs.replace(/\\n|\n/g, '')).not.toContain(keyBody.slice(0, 40));
  }, 180_000);
});
