import { isBerthError } from '@berth/errors';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalidFields } from './spec-support';
import { resolveGroups, resolveUser } from './user';

describe('resolveUser', () => {
  let rootfs: string;

  beforeEach(() => {
    rootfs = mkdtempSync(join(tmpdir(), 'berth-oci-user-'));
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:app,other\nstaff:x:50:\n');
  });

  afterEach(() => rmSync(rootfs, { recursive: true, force: true }));

  it('resolves names and numbers like docker --user', () => {
    expect(resolveUser(rootfs, 'app')).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(resolveUser(rootfs, 'app:staff')).toEqual({ uid: 1000, gid: 50 });
    expect(resolveUser(rootfs, '1000')).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(resolveUser(rootfs, '4242:4343')).toEqual({ uid: 4242, gid: 4343 });
    expect(resolveUser(rootfs, '4242')).toEqual({ uid: 4242, gid: 0 });
  });

  it('refuses unknown names', () => {
    for (const user of ['nobody', 'app:nogroup', '']) {
      expect(() => resolveUser(rootfs, user)).toThrow(expect.objectContaining({ reason: 'Invalid' }));
    }
  });

  it('does not follow a symlink out of the rootfs', () => {
    rmSync(join(rootfs, 'etc', 'passwd'));
    symlinkSync('/etc/passwd', join(rootfs, 'etc', 'passwd'));
    let err: unknown;
    try {
      resolveUser(rootfs, 'root');
    } catch (e) {
      err = e;
    }
    expect(isBerthError(err, 'Invalid')).toBe(true);
  });

  it('resolves --group-add groups by number or by name', () => {
    expect(resolveGroups(rootfs, ['wheel', '4242', 'staff'])).toEqual([10, 4242, 50]);
    expect(resolveGroups(rootfs, [])).toEqual([]);
    expect(invalidFields(() => resolveGroups(rootfs, ['nogroup', '99999999999', 'wheel'], 'security.supplementalGroups'))).toEqual(['security.supplementalGroups[0]', 'security.supplementalGroups[1]']);
  });
});
