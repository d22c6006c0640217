import { processStartTime } from '@berth/host';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRuntimeSocket, forgetLocalNode, recordLocalNode } from './local-node';

describe('the local node record', () => {
  let dir: string;
  let record: string;
  const saved = { record: process.env.BERTH_LOCAL_NODE_RECORD, socket: process.env.BERTH_RUNTIME_SOCKET };
  const servers: Server[] = [];
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-local-node-'));
    record = join(dir, 'run', 'local-node.json');
    mkdirSync(join(dir, 'run'));
    process.env.BERTH_LOCAL_NODE_RECORD = record;
    delete process.env.BERTH_RUNTIME_SOCKET;
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.env.BERTH_LOCAL_NODE_RECORD = saved.record;
    if (saved.socket === undefined) delete process.env.BERTH_RUNTIME_SOCKET;
    else process.env.BERTH_RUNTIME_SOCKET = saved.socket;
  });

  const listening = async (name: string): Promise<string> => {
    const socket = join(dir, name);
    const server = createServer((c) => c.destroy());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return socket;
  };
  /** A record another live process (a `sleep`) wrote for its node. */
  const recordOfAnotherNode = async (socket: string) => {
    const child = spawn('sleep', ['60']);
    children.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    writeFileSync(record, JSON.stringify({ socket, dataDir: '/var/lib/other', pid: child.pid, startTime: processStartTime(child.pid!), netns: '' }));
  };
  const recorded = () => JSON.parse(readFileSync(record, 'utf8')) as { socket: string; pid: number };

  it('is written by a node (its directory made), read by node-local commands, and removed by its writer', async () => {
    rmSync(join(dir, 'run'), { recursive: true });
    const socket = await listening('a.sock');
    const forget = await recordLocalNode({ socket, dataDir: '/tmp/a', defaultDataDir: false });
    expect(recorded()).toMatchObject({ socket, dataDir: '/tmp/a', pid: process.pid });
    expect(await findRuntimeSocket(undefined, [])).toBe(socket);
    await forget();
    expect(existsSync(record)).toBe(false);
  });

  it("never takes a live node's place unless its own data dir is the default; a dead node's it does", async () => {
    const mine = await listening('mine.sock');
    await recordOfAnotherNode('/tmp/theirs.sock');
    const forget = await recordLocalNode({ socket: mine, dataDir: '/tmp/test-node', defaultDataDir: false });
    expect(recorded().socket).toBe('/tmp/theirs.sock');
    // Nor does it remove theirs when it stops.
    await forget();
    expect(recorded().socket).toBe('/tmp/theirs.sock');

    await recordLocalNode({ socket: mine, dataDir: '/var/lib/berth', defaultDataDir: true });
    expect(recorded()).toMatchObject({ socket: mine, pid: process.pid });

    writeFileSync(record, JSON.stringify({ socket: '/tmp/dead.sock', dataDir: '/x', pid: 2 ** 22 + 1, startTime: 1, netns: '' }));
    await recordLocalNode({ socket: mine, dataDir: '/tmp/test-node', defaultDataDir: false });
    expect(recorded().socket).toBe(mine);
  });

  it('is forgotten by a reset of its node only', async () => {
    await recordLocalNode({ socket: '/tmp/a.sock', dataDir: '/tmp/a', defaultDataDir: false });
    expect(await forgetLocalNode('/tmp/b')).toBe(false);
    expect(existsSync(record)).toBe(true);
    expect(await forgetLocalNode('/tmp/a')).toBe(true);
    expect(existsSync(record)).toBe(false);
  });

  it('is off when $BERTH_LOCAL_NODE_RECORD is empty', async () => {
    process.env.BERTH_LOCAL_NODE_RECORD = '';
    await (await recordLocalNode({ socket: '/tmp/a.sock', dataDir: '/tmp/a', defaultDataDir: true }))();
    expect(existsSync(record)).toBe(false);
  });
});

describe('findRuntimeSocket', () => {
  let dir: string;
  const saved = { record: process.env.BERTH_LOCAL_NODE_RECORD, socket: process.env.BERTH_RUNTIME_SOCKET };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-find-socket-'));
    process.env.BERTH_LOCAL_NODE_RECORD = join(dir, 'local-node.json');
    delete process.env.BERTH_RUNTIME_SOCKET;
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    process.env.BERTH_LOCAL_NODE_RECORD = saved.record;
    if (saved.socket === undefined) delete process.env.BERTH_RUNTIME_SOCKET;
    else process.env.BERTH_RUNTIME_SOCKET = saved.socket;
  });

  it('takes --runtime-socket, then $BERTH_RUNTIME_SOCKET, as given', async () => {
    process.env.BERTH_RUNTIME_SOCKET = '/from/env.sock';
    expect(await findRuntimeSocket('/from/flag.sock')).toBe('/from/flag.sock');
    expect(await findRuntimeSocket()).toBe('/from/env.sock');
  });

  it('falls back to the first default that answers', async () => {
    const socket = join(dir, 'default.sock');
    const server = createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      expect(await findRuntimeSocket(undefined, [join(dir, 'missing.sock'), socket])).toBe(socket);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('says in one line where it looked when nothing answers', async () => {
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    await expect(findRuntimeSocket(undefined, [join(dir, 'missing.sock'), stale])).rejects.toThrow(
      `no runtimed answers on this host; looked at --runtime-socket and $BERTH_RUNTIME_SOCKET (not given), ${dir}/local-node.json (no running node recorded), ${dir}/missing.sock: no such socket, ${stale}: nothing listening: start a node (berth server, berth agent) or name its socket with --runtime-socket`,
    );
  });
});
