// The node's registry client against the cluster registry of a real `berth server`: the token flow with
// the admin token as the password for a push, anonymous pulls, the cluster CA from ConfigureRegistries.
import { ImageStore, RegistriesConfig, RegistryClient, RegistryResolver, tarball } from '@berth/image';
import { freePort, startBerthServer, type TestServer } from '@berth/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

describe("the registry client against berth server's registry", () => {
  let server: TestServer | undefined;
  let dir: string;
  let host: string;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    const port = await freePort();
    server = await startBerthServer({ registryPort: port });
    host = `127.0.0.1:${port}`;
    dir = await mkdtemp(join(tmpdir(), 'berth-cluster-pull-'));
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A node of its own: an image store in a temp dir, trusting the cluster CA as the agent makes runtimed do. */
  async function node(name: string): Promise<{ store: ImageStore; client: RegistryClient }> {
    const store = await ImageStore.open(join(dir, name));
    const client = new RegistryClient(store, new RegistryResolver(RegistriesConfig.empty, [{ host, caPem: server!.ca }]));
    clients.push(client);
    return { store, client };
  }

  it('pushes with the admin token through the token flow, and another node pulls anonymously', async () => {
    const pusher = await node('pusher');
    const layers = [await tarball([{ name: 'one', content: '1\n' }]), await tarball([{ name: 'two', content: '2\n'.repeat(100_000) }])];
    await pusher.store.createImage({ layers: layers.map((l) => Readable.from([l])), names: [`${host}/team/app:1`], config: { Cmd: ['cat', '/one'] } });
    const anonymous = await pusher.client.push(`${host}/team/app:1`).catch((e: Error) => e);
    expect((anonymous as Error).message).toMatch(/DENIED|denied/);
    const pushed = await pusher.client.push(`${host}/team/app:1`, { auth: { username: 'anyone', password: server!.token } });

    const puller = await node('puller');
    const pulled = await puller.client.pull(`${host}/team/app:1`);
    expect(pulled.digest).toBe(pushed.digest);
    expect(pulled.image.names).toEqual([`${host}/team/app:1`]);
    expect((await puller.store.inspect(`${host}/team/app@${pushed.digest}`)).config.config).toEqual({ Cmd: ['cat', '/one'] });
    await expect(puller.client.pull(`${host}/team/app:1`, { auth: { username: 'anyone', password: 'not-the-token' } })).rejects.toThrow(/incorrect username or password/);
  });
});
