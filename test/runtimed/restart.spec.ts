// kill -9 of runtimed while containers run: they keep running, and a restarted runtimed finds them
// from their bundles, serves their logs and exec, and reports the exit of one that ended meanwhile.
import { openFifoWriter } from '@berth/shim-client';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimedFixture, waitFor } from './support';

describe('runtimed restart', () => {
  const fx = new RuntimedFixture();

  beforeAll(async () => {
    await fx.start();
    await fx.importBusybox();
  });

  afterAll(async () => {
    await fx.cleanup();
  });

  it('reconnects to live shims after kill -9 and reports exits that happened while it was down', async () => {
    const client = fx.client;
    const steady = await client.createContainer({ image: 'busybox', name: 'steady', command: ['sh', '-c', 'echo started; sleep 600'] });
    await client.startContainer(steady.id);
    const leaving = await client.createContainer({ image: 'busybox', name: 'leaving', command: ['sh', '-c', 'read x; echo bye $x; exit 42'], openStdin: true });
    await client.startContainer(leaving.id);
    await waitFor('steady to log', async () => (await client.logs(steady.id).next()).value);

    await fx.kill9();
    // While runtimed is down, the second container gets its input (straight into the shim's FIFO) and exits.
    const stdin = openFifoWriter(join(leaving.bundle, 'stdin'));
    await new Promise<void>((resolve) => stdin.end('now\n', resolve));
    await waitFor('the exit file', () => existsSync(join(leaving.bundle, 'exit')));
    await fx.start();

    expect(await client.containerStatus('steady')).toMatchObject({ state: 'running', pid: expect.any(Number), shimPid: steady.shimPid });
    expect(await client.containerStatus('leaving')).toMatchObject({ state: 'exited', exit: { exitCode: 42, reason: 'Error' } });
    expect(await client.waitContainer('leaving')).toMatchObject({ exitCode: 42 });
    let logs = '';
    for await (const entry of client.logs('leaving')) logs += entry.data;
    expect(logs).toBe('bye now\n');
    const exec = client.exec('steady', { args: ['echo', 'still here'] });
    let out = '';
    exec.stdout.on('data', (d) => (out += d));
    expect((await exec.exit).exitCode).toBe(0);
    expect(out).toBe('still here\n');
    expect((await client.stopContainer('steady', 0)).exit).toMatchObject({ exitCode: 137 });
    await client.removeContainer('steady');
    await client.removeContainer('leaving');
    expect(fx.leftovers()).toEqual([]);
  });
});
