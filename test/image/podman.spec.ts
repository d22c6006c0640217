import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ARCHIVE_FORMATS, ImageStore, OverlaySnapshotter, importBusybox, listMounts, tarball, type ArchiveFormat, type ImageDetails } from '@berth/image';
import { PrivatePodman, podmanAvailable } from '../bench/podman';

const execFileAsync = promisify(execFile);
const PODMAN_BUSYBOX = 'localhost/podman/busybox:1';
const PODMAN_SMALL = 'localhost/podman/small:1';

interface PodmanImage {
  Config: { Cmd?: string[]; Env?: string[] };
  RootFS: { Layers: string[] };
}

/**
 * Archive interop with podman, both ways: what podman saves, berth loads and runs from; what berth
 * saves, podman loads and runs. One private podman storage for the whole file (see test/bench/podman.ts).
 */
describe('podman image interop', () => {
  let dir: string;
  let podman: PrivatePodman;
  let berth: ImageStore;
  let busybox: ImageDetails;
  let podmanBusyboxId: string;

  beforeAll(async () => {
    if (!podmanAvailable()) throw new Error('podman is not installed (or not root): run deploy/setup.sh');
    dir = await mkdtemp(join(tmpdir(), 'berth-podman-interop-'));
    podman = await PrivatePodman.create();
    berth = await ImageStore.open(join(dir, 'berth'));
    busybox = await importBusybox(berth);
    podmanBusyboxId = await podman.importBusybox(PODMAN_BUSYBOX);
    const small = join(dir, 'small.tar');
    await writeFile(small, await tarball([{ name: 'small', content: 'small' }]));
    await podman.run('import', '--change', 'CMD ["/small"]', small, PODMAN_SMALL);
  });

  afterAll(async () => {
    try {
      // Fails if podman left a mount in its dir.
      await podman?.destroy();
    } finally {
      if (dir) {
        // berth's snapshot mounts, which every test undoes.
        const mounts = (await listMounts()).filter((m) => m.mountPoint.startsWith(`${dir}/`));
        if (mounts.length === 0) await rm(dir, { recursive: true, force: true });
        expect(mounts).toEqual([]);
      }
    }
  });

  async function podmanInspect(ref: string): Promise<PodmanImage> {
    const [image] = JSON.parse(await podman.run('image', 'inspect', ref)) as PodmanImage[];
    return image!;
  }

  /** Mounts the image's rootfs with berth's snapshotter for `check`, then unmounts and removes it. */
  async function withRootfs(store: ImageStore, storeRoot: string, ref: string, check: (rootfs: string) => Promise<void>): Promise<void> {
    const snapshotter = await OverlaySnapshotter.open(storeRoot, store);
    const rootfs = join(storeRoot, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await snapshotter.prepare('check', ref);
    try {
      await snapshotter.mount('check', rootfs);
      await check(rootfs);
    } finally {
      await snapshotter.remove('check');
    }
  }

  async function expectBusyboxBinary(rootfs: string): Promise<void> {
    // Buffer.equals: jest's deep equality walks a 2 MB buffer byte by byte.
    expect((await readFile(join(rootfs, 'bin/busybox'))).equals(await readFile('/bin/busybox'))).toBe(true);
  }

  it.each(ARCHIVE_FORMATS)('loads the %s podman saves: names, config and a rootfs that runs busybox', async (format) => {
    const archive = join(dir, `podman-${format}.tar`);
    await podman.run('save', '--format', format, '-o', archive, PODMAN_BUSYBOX);
    const storeRoot = join(dir, `from-podman-${format}`);
    const store = await ImageStore.open(storeRoot);
    const [loaded, ...more] = await store.load(archive);
    expect(more).toEqual([]);
    expect(loaded!.names).toEqual([PODMAN_BUSYBOX]);

    const image = await store.inspect(PODMAN_BUSYBOX);
    // Both formats carry podman's config blob unchanged, so the image ID is podman's.
    expect(image.id).toBe(podmanBusyboxId);
    expect(image.config.config?.Cmd).toEqual(['sh']);
    expect(image.config.config?.Env).toEqual(busybox.config.config?.Env);
    expect(image.config.rootfs.diff_ids).toEqual(busybox.config.rootfs.diff_ids);
    await withRootfs(store, storeRoot, PODMAN_BUSYBOX, expectBusyboxBinary);
  });

  it('loads a multi-image docker-archive (podman save -m)', async () => {
    const archive = join(dir, 'podman-multi.tar');
    await podman.run('save', '--format', 'docker-archive', '-m', '-o', archive, PODMAN_BUSYBOX, PODMAN_SMALL);
    const store = await ImageStore.open(join(dir, 'from-podman-multi'));
    const loaded = await store.load(archive);
    expect(loaded.map((image) => image.names).sort()).toEqual([[PODMAN_BUSYBOX], [PODMAN_SMALL]]);
    expect((await store.inspect(PODMAN_SMALL)).config.config?.Cmd).toEqual(['/small']);
    expect((await store.inspect(PODMAN_BUSYBOX)).id).toBe(podmanBusyboxId);
  });

  it.each(ARCHIVE_FORMATS)('saves a %s podman loads and runs, and skopeo inspects', async (format: ArchiveFormat) => {
    const name = `example.com/berth/${format}:1`;
    await berth.tag('busybox', name);
    const archive = join(dir, `berth-${format}.tar`);
    await berth.save([name], archive, { format });

    const inspected = JSON.parse((await execFileAsync('skopeo', ['--insecure-policy', 'inspect', `${format}:${archive}`])).stdout) as { Env: string[]; Layers: string[] };
    expect(inspected.Env).toEqual(busybox.config.config?.Env);
    expect(inspected.Layers).toHaveLength(1);

    expect(await podman.run('load', '-i', archive)).toContain(`Loaded image: ${name}`);
    const image = await podmanInspect(name);
    expect(image.Config.Cmd).toEqual(['sh']);
    expect(image.Config.Env).toEqual(busybox.config.config?.Env);
    expect(image.RootFS.Layers).toEqual(busybox.config.rootfs.diff_ids);
    expect(await podman.run('run', '--rm', ...podman.runArgs, name, '/bin/busybox', 'echo', 'hi')).toBe('hi\n');
  });

  it('keeps the whiteouts and opaque directories of a layer podman commits, and podman runs it back from berth', async () => {
    // overlay records the deleted file as a whiteout and the re-created directory as opaque; podman exports both.
    const container = (
      await podman.run('create', ...podman.runArgs, PODMAN_BUSYBOX, '/bin/busybox', 'sh', '-c', 'rm /etc/group && rm -r /usr/sbin && mkdir /usr/sbin && echo podman > /usr/sbin/only')
    ).trim();
    await podman.run('start', '--attach', container);
    await podman.run('commit', '--quiet', container, 'localhost/podman/committed:1');
    await podman.run('rm', container);
    const archive = join(dir, 'podman-committed.tar');
    await podman.run('save', '--format', 'oci-archive', '-o', archive, 'localhost/podman/committed:1');

    const storeRoot = join(dir, 'from-podman-committed');
    const store = await ImageStore.open(storeRoot);
    await store.load(archive);
    expect((await store.inspect('localhost/podman/committed:1')).manifest.layers).toHaveLength(2);
    await withRootfs(store, storeRoot, 'localhost/podman/committed:1', async (rootfs) => {
      await expectBusyboxBinary(rootfs);
      expect(await readFile(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^root:/);
      await expect(lstat(join(rootfs, 'etc/group'))).rejects.toThrow(/ENOENT/);
      expect(await readdir(join(rootfs, 'usr/sbin'))).toEqual(['only']);
    });

    const back = join(dir, 'berth-committed.tar');
    await store.save(['localhost/podman/committed:1'], back, { format: 'docker-archive' });
    await podman.run('rmi', 'localhost/podman/committed:1');
    await podman.run('load', '-i', back);
    const listing = 'ls /usr/sbin && if [ -e /etc/group ]; then echo group; else echo no group; fi';
    expect(await podman.run('run', '--rm', ...podman.runArgs, 'localhost/podman/committed:1', '/bin/busybox', 'sh', '-c', listing)).toBe('only\nno group\n');
  });
});
