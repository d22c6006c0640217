// Each node holds only its own rights: the real kubectl, with a node's own credential (the kubeconfig its
// join wrote), against a berth server. Every allowed and refused case of the Node authorizer and
// NodeRestriction, the join token that only joins, a node's tunnel, and the admin, all-powerful.
import { ensureNodeCredential, nodeCredentialPath, NodeCredentialRenewer } from '@berth/agent';
import { connectionFromFile, KubeClient, kubeconfigYaml, nodeTunnelPath, parseJoinToken } from '@berth/client';
import { resolveResourceName } from '@berth/api';
import { kubectlFor, startBerthServer, type Kubectl, type TestServer } from '@berth/testing';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWebSocket } from '@berth/client';

const OBJECTS = `
apiVersion: v1
kind: Secret
metadata: {name: used-by-a}
stringData: {k: a}
---
apiVersion: v1
kind: Secret
metadata: {name: used-by-b}
stringData: {k: b}
---
apiVersion: v1
kind: Secret
metadata: {name: unused}
stringData: {k: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: env-of-a}
data: {k: a}
---
apiVersion: v1
kind: Pod
metadata: {name: pa}
spec:
  nodeName: a
  containers: [{name: c, image: busybox, envFrom: [{configMapRef: {name: env-of-a}}]}]
  volumes: [{name: s, secret: {secretName: used-by-a}}]
---
apiVersion: v1
kind: Pod
metadata: {name: pb}
spec:
  nodeName: b
  containers: [{name: c, image: busybox}]
  volumes: [{name: s, secret: {secretName: used-by-b}}]
`;

const nodeManifest = (name: string) => `{"apiVersion":"v1","kind":"Node","metadata":{"name":"${name}","labels":{"kubernetes.io/hostname":"${name}"}}}`;
const leaseManifest = (name: string) => `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"${name}","namespace":"kube-node-lease"},"spec":{"holderIdentity":"${name}"}}`;

describe('node authorization, with kubectl and a node credential', () => {
  let server: TestServer;
  let root: string;
  let joinSecret: string;
  let admin: Kubectl;
  let nodeA: Kubectl;
  let nodeB: Kubectl;
  let joiner: Kubectl;
  const kubectls: Kubectl[] = [];

  /** A host's join: its own key and certificate, in a kubeconfig under its data dir. */
  const joinAs = async (nodeName: string, dataDir = join(root, nodeName)) => {
    await ensureNodeCredential({ dataDir, nodeName, server: { server: server.url, ca: server.ca, insecureSkipTLSVerify: false, token: joinSecret } });
    return nodeCredentialPath(dataDir);
  };
  const kubectlWith = (kubeconfig: string) => {
    const kubectl = kubectlFor({ kubeconfigPath: kubeconfig });
    kubectls.push(kubectl);
    return kubectl;
  };
  /** kubectl's exit code and what it printed, on one line each, for exact comparisons. */
  const run = async (kubectl: Kubectl, args: string[], input?: string) => {
    const result = await kubectl.run(args, { input, timeoutMs: 30_000 });
    return { code: result.code, out: result.stdout.trim(), err: result.stderr.trim() };
  };
  const refused = (message: string) => ({ code: 1, err: `Error from server (Forbidden): ${message}` });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-node-authz-'));
    server = await startBerthServer();
    joinSecret = parseJoinToken(readFileSync(join(server.dataDir, 'token'), 'utf8').trim())!.secret;
    admin = kubectlWith(server.kubeconfigPath);
    nodeA = kubectlWith(await joinAs('a'));
    nodeB = kubectlWith(await joinAs('b'));
    const joinKubeconfig = join(root, 'join-token.kubeconfig');
    writeFileSync(joinKubeconfig, kubeconfigYaml({ server: server.url, ca: server.ca, insecureSkipTLSVerify: false, token: joinSecret }, { cluster: 'berth', user: 'join' }), { mode: 0o600 });
    joiner = kubectlWith(joinKubeconfig);
    // Each node registers itself, as an agent does.
    expect(await run(nodeA, ['create', '-f', '-'], nodeManifest('a'))).toMatchObject({ code: 0 });
    expect(await run(nodeB, ['create', '-f', '-'], nodeManifest('b'))).toMatchObject({ code: 0 });
    expect(await run(admin, ['apply', '-f', '-'], OBJECTS)).toMatchObject({ code: 0 });
  }, 120_000);

  afterAll(async () => {
    for (const kubectl of kubectls) kubectl.cleanup();
    await server?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('lets the join token join and do nothing else', async () => {
    const bootstrap = 'User "system:bootstrap:join-token"';
    const why = 'the join token only joins a host to the cluster';
    expect(await run(joiner, ['get', '--raw', '/api/v1/namespaces/default/secrets'])).toMatchObject(
      refused(`secrets is forbidden: ${bootstrap} cannot list resource "secrets" in API group "" in the namespace "default": ${why}`),
    );
    expect(await run(joiner, ['get', '--raw', '/api'])).toMatchObject(refused(`forbidden: ${bootstrap} cannot get path "/api": ${why}`));
    expect(await run(joiner, ['create', '--raw', '/api/v1/nodes', '-f', '-'], nodeManifest('intruder'))).toMatchObject(
      refused(`nodes is forbidden: ${bootstrap} cannot create resource "nodes" in API group "" at the cluster scope: ${why}`),
    );
    expect((await run(admin, ['get', 'node', 'intruder'])).code).toBe(1);
  });

  it("lets a node read every Node and write its own, never another's", async () => {
    expect(await run(nodeA, ['get', 'nodes', '-o', 'name'])).toEqual({ code: 0, out: 'node/a\nnode/b', err: '' });
    expect(await run(nodeA, ['label', 'node', 'a', 'team=one'])).toMatchObject({ code: 0, out: 'node/a labeled' });
    expect(await run(nodeA, ['label', 'node', 'b', 'team=one'])).toMatchObject(refused('nodes "b" is forbidden: node "a" cannot modify node "b"'));
    const status = ['--subresource=status', '--type=merge', '-p', '{"status":{"nodeInfo":{"kernelVersion":"6.1"}}}'];
    expect(await run(nodeA, ['patch', 'node', 'a', ...status])).toMatchObject({ code: 0 });
    expect(await run(nodeA, ['patch', 'node', 'b', ...status])).toMatchObject(refused('nodes "b" is forbidden: node "a" cannot modify node "b"'));
    expect(await run(nodeA, ['delete', 'node', 'b'])).toMatchObject(
      refused('nodes "b" is forbidden: User "system:node:a" cannot delete resource "nodes" in API group "" at the cluster scope'),
    );
    // Its taints and role are the cluster's to set.
    expect(await run(nodeA, ['taint', 'node', 'a', 'k=v:NoSchedule'])).toMatchObject(refused('nodes "a" is forbidden: node "a" is not allowed to modify taints'));
    expect(await run(nodeA, ['label', 'node', 'a', 'node-role.kubernetes.io/control-plane='])).toMatchObject(
      refused('nodes "a" is forbidden: node "a" is not allowed to modify labels: node-role.kubernetes.io/control-plane'),
    );
  });

  it('lets a node read its own pods and write their status, and nothing of the other pods', async () => {
    expect(await run(nodeA, ['get', 'pods', '-A', '-o', 'name'])).toMatchObject(
      refused('pods is forbidden: User "system:node:a" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector'),
    );
    expect(await run(nodeA, ['get', 'pods', '-A', '--field-selector', 'spec.nodeName=a', '-o', 'name'])).toEqual({ code: 0, out: 'pod/pa', err: '' });
    expect(await run(nodeA, ['get', 'pod', 'pa', '-o', 'name'])).toEqual({ code: 0, out: 'pod/pa', err: '' });
    expect(await run(nodeA, ['get', 'pod', 'pb'])).toMatchObject(
      refused(`pods "pb" is forbidden: User "system:node:a" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'a' and this object`),
    );
    const status = ['--subresource=status', '--type=merge', '-p', '{"status":{"message":"seen by a"}}'];
    expect(await run(nodeA, ['patch', 'pod', 'pa', ...status])).toMatchObject({ code: 0, err: '' });
    expect(await run(admin, ['get', 'pod', 'pa', '-o', 'jsonpath={.status.message}'])).toMatchObject({ code: 0, out: 'seen by a' });
    expect(await run(nodeA, ['patch', 'pod', 'pb', ...status])).toMatchObject(
      refused(`pods "pb" is forbidden: User "system:node:a" cannot get resource "pods/status" in API group "" in the namespace "default": no relationship found between node 'a' and this object`),
    );
    // Written blind (PUT, as an agent does), the other node's pod status is refused by NodeRestriction.
    const pb = JSON.parse((await run(admin, ['get', 'pod', 'pb', '-o', 'json'])).out);
    const forged = JSON.stringify({ ...pb, status: { ...pb.status, phase: 'Failed' } });
    expect(await run(nodeA, ['replace', '--raw', '/api/v1/namespaces/default/pods/pb/status', '-f', '-'], forged)).toMatchObject(
      refused('pods "pb" is forbidden: node "a" can only update pod status for pods with spec.nodeName set to itself'),
    );
    expect(await run(admin, ['get', 'pod', 'pb', '-o', 'jsonpath={.status.phase}'])).toMatchObject({ code: 0, out: 'Pending' });
    expect(await run(nodeA, ['label', 'pod', 'pa', 'x=y'])).toMatchObject({ code: 1 });
    expect(await run(nodeA, ['delete', 'pod', 'pb'])).toMatchObject(refused('pods "pb" is forbidden: node "a" can only delete pods with spec.nodeName set to itself'));
    const exec = await run(nodeA, ['exec', 'pa', '--', 'true']);
    expect(exec.code).toBe(1);
    expect(exec.err).toContain('Forbidden');
  });

  it('lets a node read the Secrets and ConfigMaps its own pods use, one by one, and watch them; nothing else', async () => {
    expect(await run(nodeA, ['get', 'secret', 'used-by-a', '-o', 'jsonpath={.data.k}'])).toEqual({ code: 0, out: Buffer.from('a').toString('base64'), err: '' });
    expect(await run(nodeA, ['get', 'configmap', 'env-of-a', '-o', 'name'])).toEqual({ code: 0, out: 'configmap/env-of-a', err: '' });
    for (const name of ['used-by-b', 'unused']) {
      expect(await run(nodeA, ['get', 'secret', name])).toMatchObject(
        refused(`secrets "${name}" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'a' and this object`),
      );
    }
    expect(await run(nodeB, ['get', 'secret', 'used-by-b', '-o', 'name'])).toEqual({ code: 0, out: 'secret/used-by-b', err: '' });
    expect(await run(nodeA, ['get', 'secrets'])).toMatchObject(
      refused('secrets is forbidden: User "system:node:a" cannot list resource "secrets" in API group "" in the namespace "default": a node can only read named objects its pods use'),
    );
    // Watches are authorized as lists are: one Secret of its own pods, not all of them.
    const ownWatch = await run(nodeA, ['get', '--raw', '/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dused-by-a']);
    expect(ownWatch.code).toBe(0);
    expect(JSON.parse(ownWatch.out.split('\n')[0]!)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'used-by-a' } } });
    expect(await run(nodeA, ['get', '--raw', '/api/v1/secrets?watch=1&timeoutSeconds=1'])).toMatchObject(
      refused('secrets is forbidden: User "system:node:a" cannot watch resource "secrets" in API group "" at the cluster scope: a node can only read named objects its pods use'),
    );
    expect(await run(nodeA, ['get', '--raw', '/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dused-by-b'])).toMatchObject(
      refused(`secrets is forbidden: User "system:node:a" cannot watch resource "secrets" in API group "" in the namespace "default": no relationship found between node 'a' and this object`),
    );
    expect(await run(nodeA, ['create', 'secret', 'generic', 'mine', '--from-literal=k=v'])).toMatchObject({ code: 1 });
  });

  it('lets a node hold its own lease only', async () => {
    expect(await run(nodeA, ['create', '-f', '-'], leaseManifest('a'))).toMatchObject({ code: 0 });
    expect(await run(nodeA, ['create', '-f', '-'], leaseManifest('b'))).toMatchObject(
      refused('error when creating "STDIN": leases.coordination.k8s.io "b" is forbidden: can only access node lease with the same name as the requesting node'),
    );
    expect(await run(nodeA, ['get', 'lease', '-n', 'kube-node-lease', 'a', '-o', 'name'])).toEqual({ code: 0, out: 'lease.coordination.k8s.io/a', err: '' });
  });

  it("lets a node open its own tunnel only: another node's stays out of its reach", async () => {
    const a = connectionFromFile(nodeCredentialPath(join(root, 'a')));
    const own = await openWebSocket(a, nodeTunnelPath('a'), { handshakeTimeoutMs: 10_000 });
    own.close();
    await expect(openWebSocket(a, nodeTunnelPath('b'), { handshakeTimeoutMs: 10_000 })).rejects.toMatchObject({
      reason: 'Forbidden',
      message: 'nodes "b" is forbidden: node "a" cannot open the tunnel of node "b"',
    });
  });

  it('leaves the admin all-powerful', async () => {
    expect(await run(admin, ['get', 'secrets', '-o', 'name'])).toMatchObject({ code: 0, out: 'secret/unused\nsecret/used-by-a\nsecret/used-by-b' });
    expect(await run(admin, ['label', 'node', 'b', 'role=web'])).toMatchObject({ code: 0 });
    expect(await run(admin, ['taint', 'node', 'a', 'k=v:NoSchedule'])).toMatchObject({ code: 0 });
    expect(await run(admin, ['get', 'pods', '-A', '-o', 'name'])).toMatchObject({ code: 0, out: 'pod/pa\npod/pb' });
  });

  it("refuses a second host the name of a node that exists, until the admin deletes that Node", async () => {
    const c = kubectlWith(await joinAs('c'));
    expect(await run(c, ['create', '-f', '-'], nodeManifest('c'))).toMatchObject({ code: 0 });
    const impostor = join(root, 'c-impostor');
    await expect(joinAs('c', impostor)).rejects.toThrow(
      'nodes "c" is forbidden: node "c" is registered by another host (with another key); delete the Node (kubectl delete node c) to give its name to a new host',
    );
    // The first host, restarting without a token, still holds its name.
    expect(await run(c, ['get', 'node', 'c', '-o', 'name'])).toEqual({ code: 0, out: 'node/c', err: '' });
    expect(await run(admin, ['delete', 'node', 'c'])).toMatchObject({ code: 0 });
    expect(await joinAs('c', impostor)).toBe(nodeCredentialPath(impostor));
  });

  it('lets a running node renew its certificate with itself, with a new key, and go on with its own rights', async () => {
    const dataDir = join(root, 'renewing');
    await joinAs('renewing', dataDir);
    const joined = connectionFromFile(nodeCredentialPath(dataDir));
    const client = new KubeClient(joined, { requestTimeoutMs: 30_000 });
    const nodes = resolveResourceName('nodes')!;
    try {
      await client.create(nodes, JSON.parse(nodeManifest('renewing')));
      const cert = new X509Certificate(joined.clientCert!);
      const renewer = new NodeCredentialRenewer({
        dataDir,
        nodeName: 'renewing',
        connection: joined,
        client,
        // Three quarters of the certificate's life gone, and its renewal due at the start of the jitter window
        // (2/3): with a random share of it (up to 2/3 + 1/10) it was due after 3/4 one run in six.
        now: () => new Date((3 * Date.parse(cert.validTo) + Date.parse(cert.validFrom)) / 4),
        random: () => 0,
      });
      expect(await renewer.check()).toBe(true);
      await renewer.stop();
      const renewed = new X509Certificate(client.connection.clientCert!);
      expect(renewed.subject).toBe(cert.subject);
      expect(renewed.serialNumber).not.toBe(cert.serialNumber);
      expect(renewed.publicKey.export({ type: 'spki', format: 'pem' })).not.toBe(cert.publicKey.export({ type: 'spki', format: 'pem' }));
      expect(connectionFromFile(nodeCredentialPath(dataDir)).clientCert).toBe(client.connection.clientCert);
      await client.patch(nodes, 'renewing', { metadata: { labels: { renewed: 'yes' } } }, { type: 'merge' });
      await expect(client.patch(nodes, 'a', { metadata: { labels: { renewed: 'yes' } } }, { type: 'merge' })).rejects.toMatchObject({ reason: 'Forbidden' });
    } finally {
      client.close();
    }
  });
});
