// 100 create/start/remove cycles through runtimed leave nothing: no mounts, runc state, cgroups, shims or files.
import { RuntimedFixture } from './support';

describe('runtimed create/remove cycles', () => {
  const fx = new RuntimedFixture();

  beforeAll(async () => {
    await fx.start();
    await fx.importBusybox();
  });

  afterAll(async () => {
    await fx.cleanup();
  });

  it('leaves nothing behind after 100 cycles', async () => {
    const client = fx.client;
    const CYCLES = 100;
    const PARALLEL = 4;
    let next = 0;
    const worker = async () => {
      while (next < CYCLES) {
        const i = next++;
        const c = await client.createContainer({ image: 'busybox', command: ['true'], mounts: i % 2 ? [{ type: 'tmpfs', destination: '/scratch' }] : [] });
        // Every other one only created, never started: removal must undo both.
        if (i % 2 === 0) {
          await client.startContainer(c.id);
          await client.waitContainer(c.id);
        }
        await client.removeContainer(c.id, { force: true });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    expect(await client.listContainers({ all: true })).toEqual([]);
    expect(fx.leftovers()).toEqual([]);
  }, 120_000);
});
