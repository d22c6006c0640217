import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalRuntimed } from './local-runtimed';
import { nodePaths } from './node-paths';

describe('ensureLocalRuntimed', () => {
  let dir: string;
  let hung: Server;
  const sockets: Socket[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'local-runtimed-'));
    // Something holds the socket, accepts connections and never answers: a hung runtimed.
    hung = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(nodePaths(dir).runtimedSocket, resolve));
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hung.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not wait for good on a runtimed that never answers: the start fails with one clear error', async () => {
    const exits = join(dir, 'exits.js');
    writeFileSync(exits, 'process.exit(3)\n');
    await expect(ensureLocalRuntimed({ dataDir: dir, runtimedMain: exits })).rejects.toThrow(/runtimed exited while starting \(exit 3\)/);
  }, 30_000);
});
