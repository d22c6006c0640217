// Two berth servers on a three-node NATS cluster (--store nats://A,B,C --store-replicas 3): the buckets have
// three replicas, and losing one NATS node loses neither an acknowledged write nor the API.
import { kubectlFor, startBerthServer, startNatsCluster, waitFor, type Kubectl, type TestNatsCluster, type TestServer } from '@berth/testing';
import { connect } from 'nats';

let nats: TestNatsCluster | undefined;
const servers: TestServer[] = [];
const kubectls: Kubectl[] = [];

beforeAll(async () => {
  nats = await startNatsCluster(3);
});

afterAll(async () => {
  for (const k of kubectls) k.cleanup();
  for (const s of servers) await s.cleanup();
  await nats?.stop();
});

test('the buckets have three replicas, and a NATS node killed loses no acknowledged write', async () => {
  const store = `${nats!.url}?bucket=replicated`;
  const args = ['--store-replicas', '3', '--token', 'replicated-store-token'];
  servers.push(await startBerthServer({ store, extraArgs: args }));
  servers.push(await startBerthServer({ store, extraArgs: args }));
  const [first, second] = servers;

  const nc = await connect({ servers: nats!.url.slice('nats://'.length).split(',') });
  try {
    const jsm = await nc.jetstreamManager();
    for (const stream of ['KV_replicated', 'KV_replicated-meta']) expect((await jsm.streams.info(stream)).config.num_replicas).toBe(3);
  } finally {
    await nc.close();
  }

  const kubectl = kubectlFor(first);
  kubectls.push(kubectl);
  await kubectl.ok(['create', 'configmap', 'before-kill', '--from-literal=a=1']);
  await nats!.nodes[0].kill9();
  // The servers' NATS clients move to the nodes left; the streams keep a quorum of two.
  await waitFor(async () => (await kubectl.run(['--server', second.url, 'create', 'configmap', 'after-kill'])).code === 0, 30_000, 'a write via the second server');
  expect(await kubectl.ok(['--server', second.url, 'get', 'configmap', 'before-kill', '-o', 'jsonpath={.data.a}'])).toBe('1');
  await waitFor(async () => (await kubectl.run(['get', 'configmap', 'after-kill'])).code === 0, 30_000, 'the second server\'s write via the first');
  await nats!.nodes[0].restart();
});
