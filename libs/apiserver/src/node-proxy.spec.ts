import type { Pod } from '@berth/api';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { parseMetricsPath } from './node-metrics';
import { containerOf, execOptions, splice } from './node-proxy';

function pod(containers: string[], initContainers: string[] = []): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: containers.map((name) => ({ name, image: 'busybox' })), initContainers: initContainers.map((name) => ({ name, image: 'busybox' })) },
  };
}

describe('containerOf', () => {
  it('defaults to the only container and accepts any named one, init containers too', () => {
    expect(containerOf(pod(['main']), null)).toBe('main');
    expect(containerOf(pod(['main', 'side'], ['setup']), 'side')).toBe('side');
    expect(containerOf(pod(['main', 'side'], ['setup']), 'setup')).toBe('setup');
  });

  it('words its refusals as the Kubernetes apiserver does', () => {
    expect(() => containerOf(pod(['main']), 'x')).toThrow('container "x" is not valid for pod "p"');
    expect(() => containerOf(pod(['a', 'b']), null)).toThrow('a container name must be specified for pod p, choose one of: [a b]');
    expect(() => containerOf(pod(['a', 'b'], ['i']), '')).toThrow('a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]');
  });
});

describe('execOptions', () => {
  const q = (query: string) => new URLSearchParams(query);

  it("leaves kubectl's query as it is, and reads berth's env, workingDir and user", () => {
    expect(execOptions('exec', q('command=ls&container=c&stdout=true'))).toEqual({});
    expect(execOptions('exec', q('command=env&env=A%3D1&env=B%3Dx%3Dy&workingDir=%2Ftmp&user=nobody%3Anogroup'))).toEqual({ env: ['A=1', 'B=x=y'], workingDir: '/tmp', user: 'nobody:nogroup' });
  });

  it('answers 400 to a bad one, and to any on attach', () => {
    for (const bad of ['env=NOEQUALS', 'env=%3Dx', 'env=A%3D%00', 'workingDir=relative', 'workingDir=%2Fa%00b', 'user=-rf', 'user=a%3Ab%3Ac', `env=${'A=1&env='.repeat(300)}A=1`]) {
      expect(() => execOptions('exec', q(bad))).toThrow(expect.objectContaining({ reason: 'BadRequest', message: expect.stringMatching(/^invalid exec options: /) }));
    }
    expect(() => execOptions('attach', q('user=nobody'))).toThrow('env, workingDir and user are options of exec, not of attach');
  });
});

describe('parseMetricsPath', () => {
  it('reads the metrics.k8s.io paths kubectl top uses', () => {
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/nodes')).toEqual({ resource: 'nodes', name: undefined });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/nodes/n1')).toEqual({ resource: 'nodes', name: 'n1' });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/pods')).toEqual({ resource: 'pods' });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods')).toEqual({ resource: 'pods', namespace: 'default', name: undefined });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web')).toEqual({ resource: 'pods', namespace: 'default', name: 'web' });
  });

  it('leaves every other path alone', () => {
    for (const path of ['/apis/metrics.k8s.io/v1beta1', '/apis/metrics.k8s.io/v1beta1/widgets', '/apis/metrics.k8s.io/v1beta1/namespaces/a/pods/b/c', '/api/v1/pods', '/apis/metrics.k8s.io/v1/nodes']) {
      expect(parseMetricsPath(path)).toBeUndefined();
    }
  });
});

describe('splice', () => {
  it('stops taking a node\'s output while the client does not read it, so it does not pile up on the server', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const accepted: WebSocket[] = [];
    server.on('connection', (ws) => accepted.push(ws));
    const client = new WebSocket(url);
    const node = new WebSocket(url);
    await Promise.all([once(client, 'open'), once(node, 'open')]);
    while (accepted.length < 2) await new Promise((r) => setImmediate(r));
    const [clientEnd, nodeEnd] = accepted as [WebSocket, WebSocket];
    try {
      splice(clientEnd, nodeEnd);
      // The client reads nothing; the node sends 24 MiB, far more than the sockets' kernel buffers hold.
      (client as unknown as { _socket: Socket })._socket.pause();
      const chunk = Buffer.alloc(64 * 1024);
      for (let i = 0; i < 384; i++) node.send(chunk);
      await new Promise((r) => setTimeout(r, 1500));
      expect(clientEnd.bufferedAmount).toBeLessThan(2 * 1024 * 1024);
      // What the client has not read waits on the node's side, not here.
      expect(node.bufferedAmount).toBeGreaterThan(0);
    } finally {
      for (const ws of [client, node, ...accepted]) ws.terminate();
      await new Promise((r) => server.close(r));
    }
  });
});
