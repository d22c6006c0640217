import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostDevices, ownCapabilities } from './host';

describe('the host as a privileged container sees it', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-oci-host-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("lists the host's device nodes, not ptys, symlinks, the console or plain files", () => {
    mkdirSync(join(dir, 'net'));
    mkdirSync(join(dir, 'pts'));
    execFileSync('mknod', ['-m', '0660', join(dir, 'net', 'tun'), 'c', '10', '200']);
    execFileSync('mknod', ['-m', '0640', join(dir, 'loop9'), 'b', '7', '9']);
    execFileSync('mknod', [join(dir, 'pts', '0'), 'c', '136', '0']);
    execFileSync('mknod', [join(dir, 'console'), 'c', '5', '1']);
    execFileSync('mknod', [join(dir, 'big'), 'c', '511', '70000']);
    symlinkSync('net/tun', join(dir, 'tun-link'));
    writeFileSync(join(dir, 'file'), '');
    expect(hostDevices(dir).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: join(dir, 'big'), type: 'c', major: 511, minor: 70000, fileMode: 0o644, uid: 0, gid: 0 },
      { path: join(dir, 'loop9'), type: 'b', major: 7, minor: 9, fileMode: 0o640, uid: 0, gid: 0 },
      { path: join(dir, 'net', 'tun'), type: 'c', major: 10, minor: 200, fileMode: 0o660, uid: 0, gid: 0 },
    ]);
    expect(hostDevices(join(dir, 'missing'))).toEqual([]);
  });

  it('reads the capabilities a process holds from its status', () => {
    const status = join(dir, 'status');
    writeFileSync(status, 'Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\nCapBnd:\t000001ffffffffff\n');
    expect(ownCapabilities(status).sort()).toEqual(
      ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'].sort(),
    );
    writeFileSync(status, 'CapEff:\t000001fffeffffff\n');
    expect(ownCapabilities(status)).not.toContain('CAP_SYS_RESOURCE');
    expect(ownCapabilities(status)).toContain('CAP_CHECKPOINT_RESTORE');
  });
});
