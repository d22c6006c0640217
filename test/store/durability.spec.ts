import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@berth/testing';
import { SqliteStore } from '@berth/store';
import { bundleScript } from '../support/bundle-script';

/** A write the sqlite store acknowledged must survive kill -9 of the process that made it. */
describe('sqlite store durability', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-durability-'));
    bundleScript(join(__dirname, 'durability-writer.ts'), join(dir, 'writer.js'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged write after kill -9 in mid-stream', async () => {
    const path = join(dir, 'state.db');
    const child = spawn(process.execPath, [join(dir, 'writer.js'), path], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules') },
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const acknowledged = new Map<string, number>();
    try {
      for await (const line of createInterface({ input: child.stdout! })) {
        const [key, revision] = line.split(' ');
        acknowledged.set(key, Number(revision));
        if (acknowledged.size === 300) child.kill('SIGKILL');
      }
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(stderr).toBe('');
    expect(acknowledged.size).toBeGreaterThanOrEqual(300);

    const reopened = new SqliteStore(path);
    try {
      for (const [key, revision] of acknowledged) {
        expect(await reopened.get(key)).toMatchObject({ key, modRevision: revision });
      }
      expect(await reopened.currentRevision()).toBeGreaterThanOrEqual(Math.max(...acknowledged.values()));
      // The write history survived as well: a watch from 0 replays every acknowledged write.
      const replayed = new Set<string>();
      await new Promise<void>((resolve, reject) => {
        void reopened.watch('/durable/', 0, {
          onEvent: (e) => {
            replayed.add(e.kv.key);
            if ([...acknowledged.keys()].every((k) => replayed.has(k))) resolve();
          },
          onError: reject,
        });
      });
    } finally {
      await reopened.close();
    }
  });
});
