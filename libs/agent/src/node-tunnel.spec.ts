import { CHANNEL, decodeFrame, encodeFrame, KubeClient, type TunnelAnswer, type TunnelRequest } from '@berth/client';
import type { Container, LogEntry, ProcessSession } from '@berth/runtime-client';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { LABELS } from './labels';
import { NodeTunnel, nodeTunnelFor } from './node-tunnel';
import type { TunnelRuntime } from './node-tunnel-serve';

const TOKEN = 'node-secret';
const NODE = 'node-a';

async function waitUntil(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A dial-back socket as the server sees it, with everything the node sent on it. */
interface DialBack {
  ws: WebSocket;
  messages: Array<{ data: Buffer; binary: boolean }>;
  closed: Promise<void>;
}

/** The API server's side of the tunnel, reduced to what the agent talks to. */
class FakeApiServer {
  readonly controls: WebSocket[] = [];
  readonly dialBacks = new Map<string, DialBack>();
  readonly refused: string[] = [];
  /** The bearer tokens the server takes, and the Authorization header of each control socket it took. */
  readonly tokens = new Set([TOKEN]);
  readonly controlAuthorizations: string[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly http: Server = createServer((_req, res) => res.writeHead(404).end());

  constructor() {
    this.http.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (![...this.tokens].some((token) => req.headers.authorization === `Bearer ${token}`) || url.pathname !== `/api/v1/nodes/${NODE}/tunnel`) {
        this.refused.push(url.pathname);
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const request = url.searchParams.get('request');
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (!request) {
          this.controlAuthorizations.push(req.headers.authorization!);
          return void this.controls.push(ws);
        }
        const messages: DialBack['messages'] = [];
        ws.on('message', (data: Buffer, binary: boolean) => messages.push({ data, binary }));
        this.dialBacks.set(request, { ws, messages, closed: once(ws, 'close').then(() => undefined) });
      });
    });
  }

  async listen(): Promise<string> {
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  get control(): WebSocket | undefined {
    return this.controls.filter((ws) => ws.readyState === WebSocket.OPEN).at(-1);
  }

  /** Sends a request on the control socket and waits for the node to dial back and answer it. */
  async request(request: TunnelRequest): Promise<{ dialBack: DialBack; answer: TunnelAnswer }> {
    await waitUntil('a control socket', () => !!this.control);
    this.control!.send(JSON.stringify(request));
    await waitUntil('the dial-back', () => (this.dialBacks.get(request.id)?.messages.length ?? 0) > 0);
    const dialBack = this.dialBacks.get(request.id)!;
    return { dialBack, answer: JSON.parse(dialBack.messages[0]!.data.toString()) as TunnelAnswer };
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.http.closeAllConnections();
    await new Promise((r) => this.http.close(r));
  }
}

function container(id: string, name: string, attempt: number, state: Container['state'] = 'running', labels: Record<string, string> = {}): Container {
  return { id, state, config: { labels: { [LABELS.podUid]: 'uid-1', [LABELS.containerName]: name, [LABELS.attempt]: String(attempt), ...labels } } } as unknown as Container;
}

/** A process whose output, stdin and exit the test drives. */
function fakeSession() {
  let exit!: (code: number) => void;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const session = {
    stdout,
    stderr,
    exit: new Promise<{ exitCode: number; exitedAt: string; reason: string }>((resolve) => {
      exit = (exitCode) => {
        stdout.end();
        stderr.end();
        resolve({ exitCode, exitedAt: new Date().toISOString(), reason: '' });
      };
    }),
    stdin: [] as string[],
    stdinClosed: false,
    cancelled: false,
    write(data: Buffer) {
      session.stdin.push(data.toString());
    },
    closeStdin() {
      session.stdinClosed = true;
    },
    resize() {},
    cancel() {
      session.cancelled = true;
    },
  };
  return { session, exit };
}

describe('the node tunnel (agent side)', () => {
  let api: FakeApiServer;
  let tunnel: NodeTunnel | undefined;
  const logsAborted: string[] = [];
  let session = fakeSession();
  const runtime: TunnelRuntime = {
    listContainers: async (options: { labels?: Record<string, string> }) =>
      [container('old', 'main', 0, 'exited'), container('cur', 'main', 1), container('once', 'once', 0, 'running', { [LABELS.stdinOnce]: 'true' })].filter((c) => Object.entries(options?.labels ?? {}).every(([k, v]) => c.config.labels[k] === v)),
    async *logs(id: string, options: { follow?: boolean } = {}, signal?: AbortSignal): AsyncGenerator<LogEntry> {
      yield { time: '2026-01-01T00:00:00.000000001Z', stream: 'stdout', data: Buffer.from(`${id} line\n`) };
      if (!options.follow) return;
      await new Promise((resolve) => signal?.addEventListener('abort', resolve));
      logsAborted.push(id);
    },
    exec: () => session.session as unknown as ProcessSession,
    attach: () => session.session as unknown as ProcessSession,
    stats: async () => [],
    top: async (id: string) => ({ processes: [{ pid: 42, ppid: 7, uid: 0, user: 'root', startTimeMs: 0, cpuTimeMs: 0, tty: '?', comm: 'sleep', args: ['sleep', id] }], omitted: 0 }),
    listPodSandboxes: async () => [],
  } as unknown as TunnelRuntime;

  async function startTunnel(): Promise<NodeTunnel> {
    const server = await api.listen();
    tunnel = new NodeTunnel({
      nodeName: NODE,
      runtime,
      logger: pino({ level: 'silent' }),
      connection: { server, token: TOKEN, insecureSkipTLSVerify: false },
      reconnect: { initialMs: 10, maxMs: 40 },
      readHost: async () => ({ cpuNanos: 0, atMs: Date.now(), memoryBytes: 0 }),
    });
    tunnel.start();
    return tunnel;
  }

  beforeEach(() => {
    api = new FakeApiServer();
    session = fakeSession();
  });

  afterEach(async () => {
    tunnel?.stop();
    tunnel = undefined;
    await api.close();
  });

  it('redials a control socket that drops', async () => {
    const t = await startTunnel();
    await waitUntil('the first connection', () => t.connections === 1 && !!api.control);
    api.control!.terminate();
    await waitUntil('the second connection', () => t.connections === 2 && api.controls.filter((ws) => ws.readyState === WebSocket.OPEN).length === 1);
    expect(t.connected).toBe(true);
  });

  it("redials with the credential the agent's client was updated to, without dropping the open socket", async () => {
    const server = await api.listen();
    api.tokens.add('renewed-secret');
    const client = new KubeClient({ server, token: TOKEN, insecureSkipTLSVerify: false });
    try {
      const t = nodeTunnelFor(client, runtime, { nodeName: NODE, logger: pino({ level: 'silent' }), reconnect: { initialMs: 10, maxMs: 40 } })!;
      tunnel = t;
      t.start();
      await waitUntil('the first connection', () => t.connections === 1 && !!api.control);
      const first = api.control!;
      client.updateCredentials({ token: 'renewed-secret' });
      const { answer } = await api.request({ id: 'req-0', kind: 'log', params: { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'main', follow: false, timestamps: false, previous: false } });
      expect(answer).toEqual({ ok: true });
      expect(first.readyState).toBe(WebSocket.OPEN);
      first.terminate();
      await waitUntil('the second connection', () => t.connections === 2 && !!api.control);
      expect(api.controlAuthorizations).toEqual([`Bearer ${TOKEN}`, 'Bearer renewed-secret']);
    } finally {
      client.close();
    }
  });

  it('gives up a control socket whose server went silent (cut off, not closed) and redials through the next server', async () => {
    const first = await api.listen();
    const next = new FakeApiServer();
    const nextUrl = await next.listen();
    const client = new KubeClient({ server: first, servers: [first, nextUrl], token: TOKEN, insecureSkipTLSVerify: false });
    const silenced: Array<string | undefined> = [];
    try {
      const t = nodeTunnelFor(client, runtime, {
        nodeName: NODE,
        logger: pino({ level: 'silent' }),
        reconnect: { initialMs: 10, maxMs: 40 },
        silenceMs: 600,
        onSilence: (server) => silenced.push(server),
      })!;
      tunnel = t;
      t.start();
      await waitUntil('the first connection', () => t.connections === 1 && !!api.control);
      // Our own pings keep a live server's socket up well past the bound.
      await new Promise((r) => setTimeout(r, 1500));
      expect(t.connections).toBe(1);
      // The first server's host is cut off: its socket reads nothing more and answers no ping, and nothing closes.
      (api.control as unknown as { _socket: { pause(): void } })._socket.pause();
      await waitUntil('the connection through the next server', () => t.connections === 2 && !!next.control, 5000);
      expect(silenced).toEqual([first]);
      expect(client.server).toBe(nextUrl);
    } finally {
      client.close();
      await next.close();
    }
  });

  it('serves a log on the dial-back socket of its request id, and stops following when the server lets go', async () => {
    await startTunnel();
    const params = { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'main', follow: true, timestamps: true, previous: false };
    const { dialBack, answer } = await api.request({ id: 'req-1', kind: 'log', params });
    expect(answer).toEqual({ ok: true });
    await waitUntil('the log line', () => dialBack.messages.length === 2);
    expect(dialBack.messages[1]!.data.toString()).toBe('2026-01-01T00:00:00.000000001Z cur line\n');
    expect(logsAborted).toEqual([]);
    dialBack.ws.terminate();
    await waitUntil('the runtime log stream to be released', () => logsAborted.includes('cur'));

    const previous = await api.request({ id: 'req-2', kind: 'log', params: { ...params, follow: false, timestamps: false, previous: true } });
    await previous.dialBack.closed;
    expect(previous.dialBack.messages.slice(1).map((m) => m.data.toString())).toEqual(['old line\n']);
  });

  it('answers a request it cannot serve with the reason', async () => {
    await startTunnel();
    const { dialBack, answer } = await api.request({
      id: 'req-3',
      kind: 'log',
      params: { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'other', follow: false, timestamps: false, previous: false },
    });
    expect(answer).toEqual({ ok: false, reason: 'BadRequest', message: 'container "other" in pod "p" is waiting to start: ContainerCreating' });
    await dialBack.closed;
  });

  it('relays exec frames both ways and ends with the exit status on channel 3', async () => {
    await startTunnel();
    const params = { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'main', command: ['sh'], stdin: true, stdout: true, stderr: true, tty: false };
    const { dialBack, answer } = await api.request({ id: 'req-4', kind: 'exec', params });
    expect(answer).toEqual({ ok: true });
    dialBack.ws.send(encodeFrame(CHANNEL.stdin, 'input'));
    dialBack.ws.send(encodeFrame(CHANNEL.close, Buffer.from([CHANNEL.stdin])));
    await waitUntil('stdin to be written and closed', () => session.session.stdinClosed);
    expect(session.session.stdin).toEqual(['input']);
    session.session.stdout.write('out');
    session.session.stderr.write('err');
    session.exit(3);
    await dialBack.closed;
    const frames = dialBack.messages.slice(1).map((m) => decodeFrame(m.data)!);
    expect(frames.filter((f) => f.channel !== CHANNEL.status).map((f) => [f.channel, f.data.toString()]).sort()).toEqual([
      [1, 'out'],
      [2, 'err'],
    ]);
    const status = frames.at(-1)!;
    expect(status.channel).toBe(CHANNEL.status);
    expect(JSON.parse(status.data.toString())).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  it('lets go of the process when the client goes away', async () => {
    await startTunnel();
    const params = { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'main', command: ['sh'], stdin: true, stdout: true, stderr: false, tty: false };
    const { dialBack } = await api.request({ id: 'req-5', kind: 'exec', params });
    dialBack.ws.terminate();
    await waitUntil('the session to be cancelled', () => session.session.cancelled);
    expect(session.session.stdinClosed).toBe(true);
  });

  it("leaves an attached container's stdin open for the next attach unless the container says stdinOnce", async () => {
    await startTunnel();
    const params = { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'main', command: [], stdin: true, stdout: true, stderr: false, tty: false };
    const kept = await api.request({ id: 'req-6', kind: 'attach', params });
    kept.dialBack.ws.send(encodeFrame(CHANNEL.close, Buffer.from([CHANNEL.stdin])));
    kept.dialBack.ws.terminate();
    await waitUntil('the attach to be let go', () => session.session.cancelled);
    expect(session.session.stdinClosed).toBe(false);

    session = fakeSession();
    const once = await api.request({ id: 'req-7', kind: 'attach', params: { ...params, container: 'once' } });
    once.dialBack.ws.terminate();
    await waitUntil('the attach to be let go', () => session.session.cancelled);
    expect(session.session.stdinClosed).toBe(true);
  });

  it("lists the processes of the container's running run as one message, and refuses a container that is not running", async () => {
    await startTunnel();
    const ref = { namespace: 'default', pod: 'p', uid: 'uid-1', container: 'main' };
    const { dialBack, answer } = await api.request({ id: 'req-8', kind: 'top', params: ref });
    expect(answer).toEqual({ ok: true });
    await dialBack.closed;
    const [listed] = dialBack.messages.slice(1).map((m) => JSON.parse(m.data.toString()));
    expect(listed).toEqual({ processes: [expect.objectContaining({ pid: 42, ppid: 7, user: 'root', cmd: ['sleep', 'cur'] })], omitted: 0 });

    const missing = await api.request({ id: 'req-9', kind: 'top', params: { ...ref, container: 'other' } });
    expect(missing.answer).toEqual({ ok: false, reason: 'BadRequest', message: 'container "other" in pod "p" is not running' });
    await missing.dialBack.closed;
  });
});
