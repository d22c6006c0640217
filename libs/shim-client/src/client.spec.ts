import { isBerthError } from '@berth/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { ShimClient } from './client';
import { findInCheckout } from '@berth/checkout';

const root = protobuf.loadSync(findInCheckout('proto/shim/v1/shim.proto')!);
const Request = root.lookupType('berth.shim.v1.Request');
const Response = root.lookupType('berth.shim.v1.Response');

/** A stand-in shim: answers each request frame with what `answer` returns (undefined: hang up). */
async function fakeShim(dir: string, answer: (request: Record<string, any>) => Record<string, unknown> | 'hold' | undefined): Promise<{ server: Server; socket: string; seen: Array<Record<string, any>> }> {
  const socket = join(dir, 'fake.sock');
  const seen: Array<Record<string, any>> = [];
  const server = createServer((conn: Socket) => {
    let buf = Buffer.alloc(0);
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
      const request = Request.toObject(Request.decode(buf.subarray(4, 4 + buf.readUInt32BE(0))), { oneofs: true, defaults: true });
      seen.push(request);
      const response = answer(request);
      if (response === 'hold') return;
      if (!response) return conn.destroy();
      const body = Response.encode(Response.fromObject(response)).finish();
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      conn.end(Buffer.concat([len, body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { server, socket, seen };
}

describe('ShimClient', () => {
  let dir: string;
  let server: Server | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-shim-client-'));
  });

  afterEach(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('encodes calls and decodes answers', async () => {
    const fake = await fakeShim(dir, (req) =>
      req.call === 'state'
        ? { state: { id: 'c1', bundle: '/b', status: 3, exit: { exitCode: 137, exitedAt: 't', reason: 'OOMKilled' }, shimPid: 9 } }
        : { ok: {} },
    );
    server = fake.server;
    const client = new ShimClient(fake.socket);
    expect(await client.state()).toEqual({
      id: 'c1',
      bundle: '/b',
      status: 'stopped',
      pid: 0,
      exit: { exitCode: 137, exitedAt: 't', reason: 'OOMKilled' },
      terminal: false,
      stdin: '',
      shimPid: 9,
    });
    await client.kill('SIGTERM', { all: true });
    await client.exec({ execId: 'e', process: { args: ['x'] }, terminal: true, stdout: '/f' }).catch(() => undefined);
    expect(fake.seen[1]).toMatchObject({ call: 'kill', kill: { signal: 15, all: true } });
    expect(fake.seen[2].exec).toMatchObject({ execId: 'e', terminal: true, stdout: '/f' });
    expect(JSON.parse(fake.seen[2].exec.processJson)).toEqual({ args: ['x'], terminal: true });
  });

  it.each([
    [1, 'NotFound'],
    [2, 'BadRequest'],
    [3, 'Conflict'],
    [4, 'AlreadyExists'],
    [5, 'InternalError'],
  ] as const)('maps error code %i to %s', async (code, reason) => {
    const fake = await fakeShim(dir, () => ({ error: { code, message: 'told so' } }));
    server = fake.server;
    const err = await new ShimClient(fake.socket).execState('x').catch((e: unknown) => e);
    expect(isBerthError(err, reason)).toBe(true);
    expect((err as Error).message).toBe('told so');
  });

  it('is Unavailable when nothing serves the socket or the shim hangs up', async () => {
    await expect(new ShimClient(join(dir, 'none.sock')).state()).rejects.toMatchObject({ reason: 'ServiceUnavailable' });
    const fake = await fakeShim(dir, () => undefined);
    server = fake.server;
    await expect(new ShimClient(fake.socket).state()).rejects.toMatchObject({ reason: 'ServiceUnavailable' });
  });

  it('gives up a blocking wait when its signal aborts', async () => {
    const fake = await fakeShim(dir, () => 'hold');
    server = fake.server;
    await expect(new ShimClient(fake.socket).wait({ signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ reason: 'Timeout' });
  });

  it('refuses an answer of the wrong kind', async () => {
    const fake = await fakeShim(dir, () => ({ ok: {} }));
    server = fake.server;
    await expect(new ShimClient(fake.socket).wait()).rejects.toMatchObject({ reason: 'InternalError' });
  });
});
