/**
 * Service accounts on a real node: a pod gets its account's token, the cluster CA and its namespace at
 * /var/run/secrets/kubernetes.io/serviceaccount (written by the agent), and the API server accepts that
 * token as system:serviceaccount:NS:default, over TLS checked with that ca.crt, until the pod is gone.
 * The call is made from the host with the files read out of the pod: busybox's wget does not check
 * certificates ("TLS certificate validation not implemented") and its TLS offers none of the API server's
 * cipher suites (the handshake fails), so it can prove neither half.
 */
import { resourceForKind, type ConfigMap, type Pod, type ServiceAccount } from '@berth/api';
import { connectionFromFile, type KubeClient } from '@berth/client';
import { isBerthError } from '@berth/errors';
import { kubectlFor, waitFor, type Kubectl } from '@berth/testing';
import { request } from 'node:https';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'sa-e2e';
const MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const SERVICE_ACCOUNTS = resourceForKind('v1', 'ServiceAccount')!;
const CONFIG_MAPS = resourceForKind('v1', 'ConfigMap')!;

/** A GET to the API server with a bearer token, the server's certificate checked against `ca` only. */
function getWithToken(server: string, path: string, token: string, ca: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server}${path}`, { method: 'GET', ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('service account tokens in pods on a real node', () => {
  let cluster: NodeCluster;
  let client: KubeClient;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    client = cluster.client;
    kubectl = kubectlFor(cluster.server);
    await createNamespace(client, NS);
  }, 90_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 90_000);

  const found = <T>(work: Promise<T>) => work.catch((err) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)));

  async function exec(podName: string, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return kubectl.run(['exec', '-n', NS, podName, '--', 'sh', '-c', script]);
  }

  it('mounts a token the API server accepts as the pod\'s account, checked with the mounted ca.crt, until the pod goes', async () => {
    await waitFor(() => found(client.get<ServiceAccount>(SERVICE_ACCOUNTS, 'default', { namespace: NS })), 30_000, 'the default account');
    await waitFor(() => found(client.get<ConfigMap>(CONFIG_MAPS, 'kube-root-ca.crt', { namespace: NS })), 30_000, 'the root CA config map');
    await client.create<Pod>(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'caller', namespace: NS },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
    });
    await waitFor(async () => (await client.get<Pod>(types.pods, 'caller', { namespace: NS })).status?.phase === 'Running', 60_000, 'the pod to run');

    const namespace = await exec('caller', `cat ${MOUNT}/namespace`);
    expect(namespace.stdout).toBe(NS);
    const token = (await exec('caller', `cat ${MOUNT}/token`)).stdout;
    const ca = (await exec('caller', `cat ${MOUNT}/ca.crt`)).stdout;
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect((await exec('caller', `touch ${MOUNT}/x`)).code).not.toBe(0);

    const { server } = connectionFromFile(cluster.server.kubeconfigPath);
    const discovery = await getWithToken(server, '/api', token, ca);
    expect(discovery.code).toBe(200);
    const pods = await getWithToken(server, `/api/v1/namespaces/${NS}/pods`, token, ca);
    expect(pods.code).toBe(403);
    expect(JSON.parse(pods.body).message).toContain(`User "system:serviceaccount:${NS}:default" cannot list resource "pods"`);

    await cluster.observe(NS);
    await client.delete(types.pods, 'caller', { namespace: NS });
    await waitFor(async () => !(await found(client.get<Pod>(types.pods, 'caller', { namespace: NS }))), 60_000, 'the pod to go');
    // Its token volume went with it: no mount, no pod dir, no container left on the host.
    expect(await cluster.leftovers(NS)).toEqual([]);
    expect((await getWithToken(server, '/api', token, ca)).code).toBe(401);
  }, 180_000);
});
