import type { Pod } from '@berth/api';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreparedVolume } from './container-spec';
import { applyFsGroup } from './fs-group';

describe('applyFsGroup (kubelet SetVolumeOwnership)', () => {
  let dir: string;
  let prepared: Map<string, PreparedVolume>;
  const pod = (securityContext: NonNullable<Pod['spec']>['securityContext']): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', uid: 'u' },
    spec: {
      containers: [],
      securityContext,
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'config', configMap: { name: 'cm' } },
        { name: 'host', hostPath: { path: '/unused' } },
      ],
    },
  });
  const mode = (...path: string[]) => statSync(join(dir, ...path)).mode & 0o7777;
  const gid = (...path: string[]) => statSync(join(dir, ...path)).gid;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-fsgroup-'));
    for (const sub of ['scratch/deep', 'config', 'host']) mkdirSync(join(dir, sub), { recursive: true });
    chmodSync(join(dir, 'scratch'), 0o777);
    writeFileSync(join(dir, 'scratch', 'deep', 'file'), 'x', { mode: 0o600 });
    symlinkSync('/etc/passwd', join(dir, 'scratch', 'link'));
    writeFileSync(join(dir, 'config', 'key'), 'v', { mode: 0o644 });
    writeFileSync(join(dir, 'host', 'mine'), 'h', { mode: 0o600 });
    prepared = new Map([
      ['scratch', { hostPath: join(dir, 'scratch'), readOnly: false }],
      ['config', { hostPath: join(dir, 'config'), readOnly: true }],
      ['host', { hostPath: join(dir, 'host'), readOnly: false }],
    ]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every file the group, group access, and directories setgid; hostPath volumes stay as they are', async () => {
    await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
    expect([gid('scratch'), mode('scratch')]).toEqual([2000, 0o2777]);
    expect([gid('scratch', 'deep'), mode('scratch', 'deep')]).toEqual([2000, 0o2775]);
    expect([gid('scratch', 'deep', 'file'), mode('scratch', 'deep', 'file')]).toEqual([2000, 0o660]);
    expect([gid('config', 'key'), mode('config', 'key')]).toEqual([2000, 0o644]);
    expect(statSync('/etc/passwd').gid).toBe(0);
    expect([gid('host', 'mine'), mode('host', 'mine')]).toEqual([0, 0o600]);
  });

  it('leaves writable volumes alone after their first setup, and everything alone without fsGroup', async () => {
    await applyFsGroup(pod({}), prepared, true);
    expect(gid('scratch', 'deep', 'file')).toBe(0);
    await applyFsGroup(pod({ fsGroup: 2000 }), prepared, false);
    expect(gid('scratch', 'deep', 'file')).toBe(0);
    expect(gid('config', 'key')).toBe(2000);
  });

  it('looks only at the root with OnRootMismatch', async () => {
    await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
    writeFileSync(join(dir, 'scratch', 'later'), '', { mode: 0o600 });
    await applyFsGroup(pod({ fsGroup: 2000, fsGroupChangePolicy: 'OnRootMismatch' }), prepared, true);
    expect(mode('scratch', 'later')).toBe(0o600);
    await applyFsGroup(pod({ fsGroup: 2000, fsGroupChangePolicy: 'Always' }), prepared, true);
    expect(mode('scratch', 'later')).toBe(0o660);
  });
});
