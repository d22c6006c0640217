import type { ConfigMap, Pod, Secret } from '@berth/api';
import { mountPointsUnder } from '@berth/host';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectSource } from './container-spec';
import { podDir, preparePodVolumes, removePodDir } from './volumes';

const allocatable = { cpu: 4, memory: 8 * 2 ** 30 };

describe('preparePodVolumes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-volumes-'));
  afterAll(async () => {
    await removePodDir(dataDir, 'u1');
    rmSync(dataDir, { recursive: true, force: true });
  });

  let data: Record<string, string> = {};
  const objects: ObjectSource = {
    configMap: async (_ns, name) => (name === 'cm' ? ({ metadata: { name }, data } as ConfigMap) : undefined),
    secret: async (_ns, name) => (name === 's' ? ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { token: Buffer.from('t0k').toString('base64') } } as Secret) : undefined),
  };
  const pod = (labels: Record<string, string> = { app: 'web' }): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels, annotations: { note: 'say "hi"\n' } },
    spec: {
      containers: [{ name: 'web', resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } } }],
      volumes: [
        { name: 'config', configMap: { name: 'cm' } },
        { name: 'picked', configMap: { name: 'cm', items: [{ key: 'a', path: 'deep/renamed', mode: 0o600 }] } },
        { name: 'scratch', emptyDir: {} },
        { name: 'host', hostPath: { path: join(dataDir, 'host'), type: 'DirectoryOrCreate' } },
        { name: 'maybe', secret: { secretName: 'absent', optional: true } },
        {
          name: 'info',
          downwardAPI: {
            defaultMode: 0o400,
            items: [
              { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
              { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
              { path: 'meta/name', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o644 },
              { path: 'app', fieldRef: { fieldPath: "metadata.labels['app']" } },
              { path: 'mem', resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } },
              { path: 'cpu', resourceFieldRef: { containerName: 'web', resource: 'limits.cpu', divisor: '1m' } },
              { path: 'cpu-request', resourceFieldRef: { containerName: 'web', resource: 'requests.cpu', divisor: '1m' } },
            ],
          },
        },
        {
          name: 'all',
          projected: {
            defaultMode: 0o440,
            sources: [
              { configMap: { name: 'cm', items: [{ key: 'a', path: 'config/a' }] } },
              { secret: { name: 's' } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
    },
  });
  const root = join(podDir(dataDir, 'u1'), 'volumes');
  const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');
  const mode = (...path: string[]) => statSync(join(root, ...path)).mode & 0o777;

  it('writes ConfigMap, Secret, downwardAPI and projected volumes as read-only volumes and makes emptyDir and hostPath directories', async () => {
    data = { a: 'one', b: 'two' };
    const volumes = await preparePodVolumes(dataDir, pod(), objects, allocatable);
    expect(volumes.get('config')).toEqual({ hostPath: join(root, 'config'), readOnly: true });
    expect(volumes.get('scratch')).toEqual({ hostPath: join(root, 'scratch'), readOnly: false });
    expect(volumes.get('host')).toEqual({ hostPath: join(dataDir, 'host'), readOnly: false });
    expect(volumes.get('info')).toEqual({ hostPath: join(root, 'info'), readOnly: true });
    expect(volumes.get('all')).toEqual({ hostPath: join(root, 'all'), readOnly: true });
    expect(read('config', 'a')).toBe('one');
    expect(read('picked', 'deep', 'renamed')).toBe('one');
    expect(mode('picked', 'deep', 'renamed')).toBe(0o600);
    // Writable by whatever user the containers run as, as kubelet's emptyDir.
    expect(statSync(join(root, 'scratch')).mode & 0o7777).toBe(0o777);
    expect(statSync(join(dataDir, 'host')).isDirectory()).toBe(true);
    expect(readdirSync(join(root, 'maybe')).filter((n) => !n.startsWith('..'))).toEqual([]);
    expect(read('info', 'labels')).toBe('app="web"');
    expect(read('info', 'annotations')).toBe('note="say \\"hi\\"\\n"');
    expect(read('info', 'meta', 'name')).toBe('p');
    expect(read('info', 'app')).toBe('web');
    expect(read('info', 'mem')).toBe('64');
    // No cpu limit: the node's allocatable cores, in millicores.
    expect(read('info', 'cpu')).toBe('4000');
    expect(read('info', 'cpu-request')).toBe('250');
    expect(mode('info', 'labels')).toBe(0o400);
    expect(mode('info', 'meta', 'name')).toBe(0o644);
    expect(read('all', 'config', 'a')).toBe('one');
    expect(read('all', 'token')).toBe('t0k');
    expect(read('all', 'namespace')).toBe('ns');
    expect(mode('all', 'token')).toBe(0o440);
  });

  it("shows files through a `..data` link that is swapped whole, as kubelet's atomic writer", () => {
    const dir = join(root, 'config');
    expect(readlinkSync(join(dir, 'a'))).toBe('..data/a');
    expect(readlinkSync(join(dir, '..data'))).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
    expect(readdirSync(dir).sort()).toEqual(['..data', readlinkSync(join(dir, '..data')), 'a', 'b'].sort());
  });

  it('follows the ConfigMap and the pod: changed keys and labels are swapped in, removed keys go, the directory stays', async () => {
    const dir = join(root, 'config');
    const inode = statSync(dir).ino;
    const before = readlinkSync(join(dir, '..data'));
    data = { a: 'uno', c: 'three' };
    await preparePodVolumes(dataDir, pod({ app: 'web', tier: 'front' }), objects, allocatable);
    expect(statSync(dir).ino).toBe(inode);
    expect(readlinkSync(join(dir, '..data'))).not.toBe(before);
    expect(readdirSync(dir).filter((n) => !n.startsWith('..')).sort()).toEqual(['a', 'c']);
    expect(readdirSync(dir).filter((n) => n.startsWith('..2'))).toHaveLength(1);
    expect(read('config', 'a')).toBe('uno');
    expect(read('info', 'labels')).toBe('app="web"\ntier="front"');
  });

  it("gives the files of a volume it writes fsGroup's group before they are swapped in, also later ones", async () => {
    const grouped: Pod = { ...pod(), metadata: { ...pod().metadata, uid: 'u-fsgroup' }, spec: { containers: [], securityContext: { fsGroup: 2345, fsGroupChangePolicy: 'OnRootMismatch' }, volumes: [{ name: 'c', configMap: { name: 'cm', defaultMode: 0o400 } }] } };
    const dir = join(podDir(dataDir, 'u-fsgroup'), 'volumes', 'c');
    try {
      for (const value of ['first', 'second']) {
        data = { a: value };
        await preparePodVolumes(dataDir, grouped, objects, allocatable);
        const file = statSync(join(dir, 'a'));
        expect([readFileSync(join(dir, 'a'), 'utf8'), file.gid, file.mode & 0o777]).toEqual([value, 2345, 0o440]);
      }
      // Only the group bits fsGroup added differ from the payload's mode: nothing is rewritten.
      const link = readlinkSync(join(dir, '..data'));
      await preparePodVolumes(dataDir, grouped, objects, allocatable);
      expect(readlinkSync(join(dir, '..data'))).toBe(link);
    } finally {
      data = { a: 'uno', c: 'three' };
      await removePodDir(dataDir, 'u-fsgroup');
    }
  });

  it('writes nothing when nothing changed', async () => {
    const link = readlinkSync(join(root, 'info', '..data'));
    await preparePodVolumes(dataDir, pod({ app: 'web', tier: 'front' }), objects, allocatable);
    expect(readlinkSync(join(root, 'info', '..data'))).toBe(link);
  });

  it('replaces the files an earlier agent wrote in place', async () => {
    const dir = join(root, 'config');
    rmSync(dir, { recursive: true });
    mkdirSync(join(dir, 'old'), { recursive: true });
    writeFileSync(join(dir, 'a'), 'stale');
    await preparePodVolumes(dataDir, pod(), objects, allocatable);
    expect(lstatSync(join(dir, 'a')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'old'))).toBe(false);
    expect(read('config', 'a')).toBe('uno');
  });

  it('fails on a missing ConfigMap or key that is not optional, in kubelet words', async () => {
    const only = (volume: NonNullable<NonNullable<Pod['spec']>['volumes']>[number]): Pod => ({ ...pod(), spec: { containers: [], volumes: [volume] } });
    await expect(preparePodVolumes(dataDir, only({ name: 'x', configMap: { name: 'gone' } }), objects, allocatable)).rejects.toThrow('configmaps "gone" not found');
    await expect(preparePodVolumes(dataDir, only({ name: 'x', configMap: { name: 'cm', items: [{ key: 'zzz', path: 'z' }] } }), objects, allocatable)).rejects.toThrow('configmap references non-existent config key: zzz');
    await expect(preparePodVolumes(dataDir, only({ name: 'x', projected: { sources: [{ secret: { name: 's', items: [{ key: 'nope', path: 'n' }] } }] } }), objects, allocatable)).rejects.toThrow('secret references non-existent secret key: nope');
  });

  it('refuses item paths that leave the volume, whatever the API let through', async () => {
    const escaping = (path: string): Pod => ({ ...pod(), spec: { containers: [], volumes: [{ name: 'x', configMap: { name: 'cm', items: [{ key: 'a', path }] } }] } });
    for (const path of ['../../escape', '/etc/x', '..data/a', 'a/../../b']) {
      await expect(preparePodVolumes(dataDir, escaping(path), objects, allocatable)).rejects.toThrow('must be a relative path inside the volume');
    }
    expect(existsSync(join(podDir(dataDir, 'u1'), 'escape'))).toBe(false);
  });

  it('refuses item paths no file on the node could have', async () => {
    const named = (path: string): Pod => ({ ...pod(), spec: { containers: [], volumes: [{ name: 'x', configMap: { name: 'cm', items: [{ key: 'a', path }] } }] } });
    for (const path of ['', 'a//b', './a', 'a/.', 'x'.repeat(256), `${'d/'.repeat(2048)}a`]) {
      await expect(preparePodVolumes(dataDir, named(path), objects, allocatable)).rejects.toThrow('must be a relative path inside the volume');
    }
  });

  it('checks hostPath types, creating what the ...OrCreate types ask for', async () => {
    const host = (path: string, type: string): Pod => ({ ...pod(), spec: { containers: [], volumes: [{ name: 'h', hostPath: { path, type: type as 'File' } }] } });
    const file = join(dataDir, 'made-file');
    await preparePodVolumes(dataDir, host(file, 'FileOrCreate'), objects, allocatable);
    expect(statSync(file).isFile()).toBe(true);
    await expect(preparePodVolumes(dataDir, host(file, 'Directory'), objects, allocatable)).rejects.toThrow(`hostPath type check failed: ${file} is not a directory`);
    await expect(preparePodVolumes(dataDir, host(join(dataDir, 'host'), 'File'), objects, allocatable)).rejects.toThrow('is not a file');
    await expect(preparePodVolumes(dataDir, host(join(dataDir, 'nothing'), 'Socket'), objects, allocatable)).rejects.toThrow('does not exist');
    await expect(preparePodVolumes(dataDir, host('/dev/null', 'CharDevice'), objects, allocatable)).resolves.toBeDefined();
  });

  it('mounts a memory-backed emptyDir as a tmpfs of its size limit, and unmounts it with the pod', async () => {
    const memory: Pod = { ...pod(), metadata: { ...pod().metadata, uid: 'u-mem' }, spec: { containers: [], volumes: [{ name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '4Mi' } }] } };
    const dir = join(podDir(dataDir, 'u-mem'), 'volumes', 'm');
    try {
      await preparePodVolumes(dataDir, memory, objects, allocatable);
      await preparePodVolumes(dataDir, memory, objects, allocatable);
      expect(await mountPointsUnder(dir)).toEqual([dir]);
      const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((line) => line.split(' ')[4] === dir)!;
      expect(mount).toMatch(/ - tmpfs tmpfs .*size=4096k/);
      expect(mode('..', '..', 'u-mem', 'volumes', 'm')).toBe(0o777);
    } finally {
      await removePodDir(dataDir, 'u-mem');
    }
    expect(await mountPointsUnder(dir)).toEqual([]);
    expect(existsSync(podDir(dataDir, 'u-mem'))).toBe(false);
  });
});
