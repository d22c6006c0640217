import type { Event, Node } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { type ControllerManager, startControllerManager } from '@berth/controllers';
import { startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';
import { types } from './cluster';

// Four /24 blocks: enough for three nodes and a fourth, then a full range.
const CLUSTER_CIDR = '10.90.0.0/22';
const BLOCKS = ['10.90.0.0/24', '10.90.1.0/24', '10.90.2.0/24', '10.90.3.0/24'];

describe('node IPAM against a real apiserver', () => {
  let server: TestServer;
  let client: KubeClient;
  let manager: ControllerManager | undefined;

  const startManager = async () => {
    manager = startControllerManager({
      client,
      logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }),
      controllers: ['node-ipam'],
      clusterCIDR: CLUSTER_CIDR,
      nodeCIDRMaskSize: 24,
    });
    await manager.waitForSync(30_000);
  };
  const stopManager = async () => {
    await manager?.stop();
    manager = undefined;
  };

  beforeAll(async () => {
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
  });

  afterAll(async () => {
    await stopManager();
    client?.close();
    await server?.cleanup();
  });

  const addNode = (name: string) => client.create<Node>(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} });
  const podCIDRs = async () => {
    const nodes = (await client.list<Node>(types.nodes)).items;
    return Object.fromEntries(nodes.map((n) => [n.metadata.name!, n.spec?.podCIDR]));
  };
  const assigned = (names: string[]) =>
    waitFor(async () => {
      const cidrs = await podCIDRs();
      return names.every((n) => cidrs[n]) ? cidrs : undefined;
    }, 15_000, `pod CIDRs for ${names.join(', ')}`);

  it('gives nodes distinct blocks, keeps them across a restart, reports a full range and reuses a deleted node\'s block', async () => {
    await startManager();
    for (const name of ['node-a', 'node-b', 'node-c']) await addNode(name);
    const first = await assigned(['node-a', 'node-b', 'node-c']);
    const firstThree = ['node-a', 'node-b', 'node-c'].map((n) => first[n]);
    expect(new Set(firstThree).size).toBe(3);
    for (const cidr of firstThree) expect(BLOCKS).toContain(cidr);
    const nodeA = await client.get<Node>(types.nodes, 'node-a');
    expect(nodeA.spec?.podCIDRs).toEqual([nodeA.spec?.podCIDR]);

    // A restarted controller learns the taken blocks from the nodes: nothing is reassigned.
    await stopManager();
    await addNode('node-d');
    await startManager();
    const second = await assigned(['node-a', 'node-b', 'node-c', 'node-d']);
    for (const name of ['node-a', 'node-b', 'node-c']) expect(second[name]).toBe(first[name]);
    expect(new Set(Object.values(second))).toEqual(new Set(BLOCKS));

    await addNode('node-e');
    const events = await waitFor(async () => {
      const all = (await client.list<Event>(types.events)).items;
      const about = all.filter((e) => e.involvedObject.name === 'node-e' && e.reason === 'CIDRNotAvailable');
      return about.length ? about : undefined;
    }, 15_000, 'CIDRNotAvailable event for node-e');
    expect(events[0].message).toBe('Node node-e status is now: CIDRNotAvailable');
    expect((await podCIDRs())['node-e']).toBeUndefined();

    await client.delete(types.nodes, 'node-b');
    const third = await assigned(['node-e']);
    expect(third['node-e']).toBe(first['node-b']);
  });
});
