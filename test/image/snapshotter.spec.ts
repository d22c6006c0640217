import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImageStore, OverlaySnapshotter, importBusybox, listMounts, tarball } from '@berth/image';

/** Real overlay mounts (needs root). Every mount is under `root` and is undone in afterEach. */
describe('OverlaySnapshotter', () => {
  let root: string;
  let images: ImageStore;
  let snapshotter: OverlaySnapshotter;

  async function mountsUnder(dir: string) {
    return (await listMounts()).filter((m) => m.mountPoint.startsWith(dir) || m.superOptions.includes(dir));
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-snapshots-'));
    images = await ImageStore.open(root);
    snapshotter = await OverlaySnapshotter.open(root, images);
  });

  afterEach(async () => {
    if (snapshotter) for (const snapshot of await snapshotter.list()) await snapshotter.remove(snapshot.containerId);
    for (const mount of (await mountsUnder(root)).reverse()) await snapshotter.unmount(mount.mountPoint);
    await rm(root, { recursive: true, force: true });
  });

  async function rootfsOf(containerId: string, image: string): Promise<string> {
    await snapshotter.prepare(containerId, image);
    const target = join(root, 'rootfs', containerId);
    await mkdir(target, { recursive: true });
    await snapshotter.mount(containerId, target);
    return target;
  }

  it('mounts an imported busybox rootfs and reads /bin/busybox through it', async () => {
    await importBusybox(images);
    const inspected = await images.inspect('busybox');
    expect(inspected.names).toEqual(['docker.io/library/busybox:latest']);
    expect(inspected.config.config?.Cmd).toEqual(['sh']);

    const rootfs = await rootfsOf('c1', 'busybox');
    // Buffer.equals: jest's deep equality walks a 2 MB buffer byte by byte for minutes.
    expect((await readFile(join(rootfs, 'bin/busybox'))).equals(await readFile('/bin/busybox'))).toBe(true);
    expect((await lstat(join(rootfs, 'bin/sh'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    const mount = (await listMounts()).find((m) => m.mountPoint === rootfs);
    expect(mount?.fsType).toBe('overlay');
  });

  it('shares lower dirs between containers, each writing only to its own upper dir', async () => {
    await images.importRootfs(Readable.from(await tarball([{ name: 'etc/motd', content: 'image' }])), 'small');
    const a = await snapshotter.prepare('a', 'small');
    const b = await snapshotter.prepare('b', 'small');
    expect(a.lowerDirs).toEqual(b.lowerDirs);
    expect(await readdir(join(root, 'snapshots/layers'))).toHaveLength(1);

    const rootA = join(root, 'mnt-a');
    const rootB = join(root, 'mnt-b');
    await mkdir(rootA);
    await mkdir(rootB);
    await snapshotter.mount('a', rootA);
    await snapshotter.mount('b', rootB);
    await writeFile(join(rootA, 'etc/motd'), 'changed by a');
    await writeFile(join(rootA, 'only-a'), 'a');
    expect(await readFile(join(rootB, 'etc/motd'), 'utf8')).toBe('image');
    await expect(lstat(join(rootB, 'only-a'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(a.upperDir, 'etc/motd'), 'utf8')).toBe('changed by a');
    expect(await readFile(join(a.lowerDirs[0]!, 'etc/motd'), 'utf8')).toBe('image');
    const usage = await snapshotter.usage();
    expect(usage.layers.count).toBe(1);
    expect(usage.containers.find((c) => c.containerId === 'a')!.size).toBeGreaterThan(0);
    expect(usage.containers.find((c) => c.containerId === 'b')!.size).toBe(0);
  });

  it('applies whiteouts and opaque directories across layers', async () => {
    const bottom = await tarball([
      { name: 'etc/keep', content: 'keep' },
      { name: 'etc/gone', content: 'gone' },
      { name: 'var/cache/a', content: 'a' },
      { name: 'var/cache/old/b', content: 'b' },
    ]);
    const top = await tarball([
      { name: 'etc/.wh.gone', content: '' },
      { name: 'var/cache/.wh..wh..opq', content: '' },
      { name: 'var/cache/fresh', content: 'fresh' },
    ]);
    await images.createImage({ layers: [Readable.from(bottom), Readable.from(top)], names: ['layered'] });
    const rootfs = await rootfsOf('c', 'layered');
    expect((await readdir(join(rootfs, 'etc'))).sort()).toEqual(['keep']);
    expect(await readdir(join(rootfs, 'var/cache'))).toEqual(['fresh']);
    expect(await readFile(join(rootfs, 'etc/keep'), 'utf8')).toBe('keep');
  });

  it('mounts images with more layers than absolute lowerdirs fit in one page of mount options', async () => {
    const layers: Readable[] = [];
    for (let i = 0; i < 60; i++) layers.push(Readable.from(await tarball([{ name: `layer-${i}`, content: String(i) }])));
    await images.createImage({ layers, names: ['deep'] });
    const snapshot = await snapshotter.prepare('deep', 'deep');
    expect(snapshot.mounts[0]!.options.join(',').length).toBeGreaterThan(4096);
    const rootfs = join(root, 'deep-rootfs');
    await mkdir(rootfs);
    await snapshotter.mount('deep', rootfs);
    expect(await readdir(rootfs)).toHaveLength(60);
  });

  it('refuses a malicious layer at import, leaving no blob or snapshot behind', async () => {
    const evil = await tarball([
      { name: 'link', type: 'symlink', linkname: '/' },
      { name: 'link/tmp/berth-pwned', content: 'x' },
    ]);
    await expect(images.importRootfs(Readable.from(evil), 'evil')).rejects.toThrow(/"link\/tmp\/berth-pwned": Forbidden: path goes through the symlink "link"/);
    await expect(snapshotter.prepare('c', 'evil')).rejects.toThrow(/not found/);
    expect(await images.content.list()).toEqual([]);
    expect(await readdir(join(root, 'snapshots/layers'))).toEqual([]);
    expect(await readdir(join(root, 'snapshots/unpacking'))).toEqual([]);
    expect(await readdir(join(root, 'snapshots/containers'))).toEqual([]);
    await expect(lstat('/tmp/berth-pwned')).rejects.toThrow(/ENOENT/);
  });

  it('removes a mounted container without leaving mounts or directories', async () => {
    await images.importRootfs(Readable.from(await tarball([{ name: 'f', content: 'f' }])), 'img');
    await rootfsOf('mounted', 'img');
    await snapshotter.remove('mounted');
    expect(await mountsUnder(root)).toEqual([]);
    expect(await readdir(join(root, 'snapshots/containers'))).toEqual([]);
    expect(await snapshotter.remove('mounted')).toBe(false);
  });

  it('leaves no mounts or directories after 100 prepare/mount/unmount/remove cycles', async () => {
    await images.importRootfs(Readable.from(await tarball([{ name: 'bin/tool', content: 'tool', mode: 0o755 }])), 'cycle');
    const target = join(root, 'cycle-rootfs');
    await mkdir(target);
    for (let i = 0; i < 100; i++) {
      await snapshotter.prepare(`cycle-${i}`, 'cycle');
      await snapshotter.mount(`cycle-${i}`, target);
      await writeFile(join(target, 'scratch'), String(i));
      await snapshotter.unmount(target);
      await snapshotter.remove(`cycle-${i}`);
    }
    expect(await mountsUnder(root)).toEqual([]);
    expect(await readdir(join(root, 'snapshots/containers'))).toEqual([]);
    expect(await readdir(target)).toEqual([]);
  }, 240_000);

  it('prunes unpacked layers no image or container needs', async () => {
    await images.importRootfs(Readable.from(await tarball([{ name: 'f', content: 'f' }])), 'temp');
    await rootfsOf('user', 'temp');
    await images.remove('temp', { force: true });
    expect(await snapshotter.prune()).toEqual({ removedLayers: 0 });
    expect(await snapshotter.imagesInUse()).toEqual(new Set([(await snapshotter.get('user')).image]));
    await snapshotter.remove('user');
    expect(await snapshotter.prune()).toEqual({ removedLayers: 1 });
    expect(await readdir(join(root, 'snapshots/layers'))).toEqual([]);
    expect(await readdir(join(root, 'snapshots/l'))).toEqual([]);
  });
});
