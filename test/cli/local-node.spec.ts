/**
 * Node-local commands (`berth images`, `berth runtime ...`) find the local node's runtimed by themselves:
 * `berth server` records where its node's socket is (`<data dir>/runtimed.sock`), and takes the record
 * away when it stops. The record here is a file of the test's own, never the machine's.
 */
import { runBerth, startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(120_000);

describe("the local node's runtimed socket", () => {
  let dir: string;
  let server: TestServer | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-local-node-'));
  });

  afterAll(async () => {
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is found by node-local commands from what berth server records, until it stops', async () => {
    const record = join(dir, 'local-node.json');
    server = await startBerthServer({ agent: true, simulatedHost: true, env: { BERTH_LOCAL_NODE_RECORD: record } });
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_LOCAL_NODE_RECORD: record };
    delete env.BERTH_RUNTIME_SOCKET;

    const images = await waitFor(async () => {
      const result = await runBerth(['images'], { env, timeoutMs: 30_000 });
      return result.code === 0 ? result : undefined;
    }, 60_000, `berth images to find the node's runtimed:\n${server.output()}`);
    expect(images.stdout).toMatch(/^REPOSITORY +TAG +IMAGE ID/);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({ socket: join(server.dataDir, 'runtimed.sock'), dataDir: server.dataDir });

    await server.stop();
    expect(existsSync(record)).toBe(false);
  });
});
