import * as grpc from '@grpc/grpc-js';
import { isBerthError } from '@berth/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeClient } from './client';
import { runtimeService, unixAddress } from './proto';

describe('RuntimeClient call deadlines', () => {
  let dir: string;
  let server: grpc.Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-runtime-client-'));
    server = new grpc.Server();
    // A runtimed that takes every call and never answers.
    server.addService(runtimeService().service, { version: () => undefined });
    await new Promise<void>((resolve, reject) => server.bindAsync(unixAddress(join(dir, 'hung.sock')), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  });

  afterAll(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails a call runtimed does not answer in time with Timeout, naming the call', async () => {
    const client = new RuntimeClient(join(dir, 'hung.sock'), { callTimeoutMs: 300 });
    try {
      const failure = await client.version().catch((err: unknown) => err);
      expect(isBerthError(failure, 'Timeout')).toBe(true);
      expect((failure as Error).message).toBe(`runtimed at ${join(dir, 'hung.sock')} did not answer version in 0.3 s`);
    } finally {
      client.close();
    }
  });
});
