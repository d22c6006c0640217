/** `berth server` runs the scheduler in-process: a pod created through the API is bound to a Ready node. */
import { startBerthServer, type TestServer } from '@berth/testing';

describe('berth server with its control loops', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startBerthServer({ controlLoops: true });
  });

  afterAll(async () => {
    await server?.cleanup();
  });

  async function send(method: string, path: string, body?: unknown) {
    const res = await server.fetch(path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
    });
    return { status: res.status, object: JSON.parse(res.body) };
  }

  it('binds a new pod to the only Ready node', async () => {
    expect((await send('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } })).status).toBe(201);
    const status = {
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }],
        allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      },
    };
    expect((await send('PATCH', '/api/v1/nodes/node-a/status', status)).status).toBe(200);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect((await send('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);

    const deadline = Date.now() + 20_000;
    let nodeName: string | undefined;
    while (!nodeName && Date.now() < deadline) {
      nodeName = (await send('GET', '/api/v1/namespaces/default/pods/p')).object.spec.nodeName;
      if (!nodeName) await new Promise((r) => setTimeout(r, 100));
    }
    expect(nodeName).toBe('node-a');
  });
});
