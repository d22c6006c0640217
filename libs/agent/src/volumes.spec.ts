import type { ConfigMap, Pod } from '@berth/api';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectSource } from './container-spec';
import { podDir, preparePodVolumes, removePodDir } from './volumes';

describe('preparePodVolumes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-volumes-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  let data: Record<string, string> = {};
  const objects: ObjectSource = {
    configMap: async (_ns, name) => (name === 'cm' ? ({ metadata: { name }, data } as ConfigMap) : undefined),
    secret: async () => undefined,
  };
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u1' },
    spec: {
      containers: [],
      volumes: [
        { name: 'config', configMap: { name: 'cm' } },
        { name: 'picked', configMap: { name: 'cm', items: [{ key: 'a', path: 'deep/renamed', mode: 0o600 }] } },
        { name: 'scratch', emptyDir: {} },
        { name: 'host', hostPath: { path: join(dataDir, 'host'), type: 'DirectoryOrCreate' } },
        { name: 'maybe', secret: { secretName: 'absent', optional: true } },
      ],
    },
  };

  it('writes ConfigMap keys as read-only volumes and makes emptyDir and hostPath directories', async () => {
    data = { a: 'one', b: 'two' };
    const volumes = await preparePodVolumes(dataDir, pod, objects);
    const root = join(podDir(dataDir, 'u1'), 'volumes');
    expect(Object.fromEntries(volumes)).toEqual({
      config: { hostPath: join(root, 'config'), readOnly: true },
      picked: { hostPath: join(root, 'picked'), readOnly: true },
      scratch: { hostPath: join(root, 'scratch'), readOnly: false },
      host: { hostPath: join(dataDir, 'host'), readOnly: false },
      maybe: { hostPath: join(root, 'maybe'), readOnly: true },
    });
    expect(readdirSync(join(root, 'config')).sort()).toEqual(['a', 'b']);
    expect(readFileSync(join(root, 'picked', 'deep', 'renamed'), 'utf8')).toBe('one');
    expect(statSync(join(root, 'picked', 'deep', 'renamed')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'host')).isDirectory()).toBe(true);
    // Writable by whatever user the containers run as, as kubelet's emptyDir.
    expect(statSync(join(root, 'scratch')).mode & 0o7777).toBe(0o777);
  });

  it('rewrites files in place when the ConfigMap changes, keeping the directory containers have mounted', async () => {
    const dir = join(podDir(dataDir, 'u1'), 'volumes', 'config');
    const inode = statSync(dir).ino;
    data = { a: 'uno', c: 'three' };
    await preparePodVolumes(dataDir, pod, objects);
    expect(statSync(dir).ino).toBe(inode);
    expect(readdirSync(dir).sort()).toEqual(['a', 'c']);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('uno');
  });

  it('fails on a missing ConfigMap that is not optional, and removes the pod directory on request', async () => {
    await expect(preparePodVolumes(dataDir, { ...pod, spec: { containers: [], volumes: [{ name: 'x', configMap: { name: 'gone' } }] } }, objects)).rejects.toThrow('configmaps "gone" not found');
    await removePodDir(dataDir, 'u1');
    expect(() => statSync(podDir(dataDir, 'u1'))).toThrow();
  });
});
