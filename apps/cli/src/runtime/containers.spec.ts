import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseTmpfsFlag, parseVolumeFlag, securityConfig } from './containers';

describe('docker -v and --tmpfs flags', () => {
  it('tells anonymous volumes, named volumes and bind mounts apart', () => {
    expect(parseVolumeFlag('/data')).toEqual({ type: 'volume', destination: '/data', readOnly: false });
    expect(parseVolumeFlag('db:/var/lib/db')).toEqual({ type: 'volume', source: 'db', destination: '/var/lib/db', readOnly: false });
    expect(parseVolumeFlag('db:/var/lib/db:ro')).toEqual({ type: 'volume', source: 'db', destination: '/var/lib/db', readOnly: true });
    expect(parseVolumeFlag('/srv/www:/usr/share/www:ro')).toEqual({ type: 'bind', source: '/srv/www', destination: '/usr/share/www', readOnly: true });
    expect(parseVolumeFlag('./site:/site')).toEqual({ type: 'bind', source: resolve('site'), destination: '/site', readOnly: false });
  });

  it.each(['', 'db:relative', '/a:/b:rx', 'a:b:c:d', '/a::/b'])('refuses %j', (flag) => {
    expect(() => parseVolumeFlag(flag)).toThrow(/volume specification/);
  });

  it('reads tmpfs size, mode and ro', () => {
    expect(parseTmpfsFlag('/run')).toEqual({ type: 'tmpfs', destination: '/run' });
    expect(parseTmpfsFlag('/run:size=64m,mode=1770,ro')).toEqual({ type: 'tmpfs', destination: '/run', sizeBytes: 64 * 1024 * 1024, mode: 0o1770, readOnly: true });
    expect(() => parseTmpfsFlag('run')).toThrow(/absolute/);
    expect(() => parseTmpfsFlag('/run:exec')).toThrow(/invalid --tmpfs option/);
  });
});

describe('docker security flags', () => {
  const flags = (o: Partial<Parameters<typeof securityConfig>[0]>) => securityConfig({ capAdd: [], capDrop: [], securityOpt: [], sysctl: [], groupAdd: [], ...o });
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'berth-cli-seccomp-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes privileged, capabilities, groups and sysctls on', () => {
    expect(flags({ privileged: true, capAdd: ['NET_ADMIN'], capDrop: ['ALL'], groupAdd: ['audio', '5000'], sysctl: ['net.ipv4.ip_unprivileged_port_start=0', 'kernel.sem=1 2 3 4'] })).toEqual({
      privileged: true,
      capAdd: ['NET_ADMIN'],
      capDrop: ['ALL'],
      supplementalGroups: ['audio', '5000'],
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.sem': '1 2 3 4' },
    });
    expect(Object.getPrototypeOf(flags({ sysctl: ['__proto__=x'] }).sysctls)).toBe(Object.prototype);
  });

  it('reads --security-opt as docker does', () => {
    const profile = join(dir, 'profile.json');
    writeFileSync(profile, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    expect(flags({ securityOpt: ['seccomp=unconfined', 'no-new-privileges'] })).toMatchObject({ seccomp: { type: 'Unconfined' }, noNewPrivileges: true });
    expect(flags({ securityOpt: ['seccomp:unconfined', 'no-new-privileges=false'] })).toMatchObject({ seccomp: { type: 'Unconfined' }, noNewPrivileges: false });
    expect(flags({ securityOpt: [`seccomp=${profile}`] }).seccomp).toEqual({ type: 'Localhost', profileJson: '{"defaultAction":"SCMP_ACT_ALLOW"}' });
  });

  it.each(['apparmor=unconfined', 'seccomp=', 'seccomp', 'no-new-privileges=yes', 'no-new-privileges=', 'no-new-privileges=toString', 'label=disable'])('refuses --security-opt %j', (option) => {
    expect(() => flags({ securityOpt: [option] })).toThrow(`invalid --security-opt '${option}'`);
  });

  it('refuses a profile it cannot read and a malformed sysctl', () => {
    expect(() => flags({ securityOpt: [`seccomp=${join(dir, 'missing.json')}`] })).toThrow(/cannot read the profile: ENOENT/);
    expect(() => flags({ sysctl: ['net.core.somaxconn'] })).toThrow("invalid --sysctl 'net.core.somaxconn': use KEY=VALUE");
  });
});
