import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './defaults';
import { buildRuntimeSpec } from './spec';
import { invalidFields } from './spec-support';

describe('buildRuntimeSpec', () => {
  it("applies Docker's defaults", () => {
    const spec = buildRuntimeSpec({ args: ['echo', 'hi'], hostname: 'web-1' });
    expect(spec.ociVersion).toBe('1.0.2');
    expect(spec.process).toMatchObject({
      args: ['echo', 'hi'],
      cwd: '/',
      terminal: false,
      user: { uid: 0, gid: 0 },
      noNewPrivileges: false,
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    });
    expect(spec.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    for (const set of ['bounding', 'effective', 'permitted'] as const) {
      expect(spec.process.capabilities[set]).toEqual(DEFAULT_CAPABILITIES);
    }
    expect(spec.process.capabilities.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(spec.root).toEqual({ path: 'rootfs', readonly: false });
    expect(spec.hostname).toBe('web-1');
    expect(spec.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(spec.mounts.find((m) => m.destination === '/sys')!.options).toContain('ro');
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.linux.namespaces.every((n) => n.path === undefined)).toBe(true);
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux.readonlyPaths).toContain('/proc/sys');
    expect(spec.linux.resources.devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(spec.linux.resources.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(spec.linux.resources.memory).toBeUndefined();
    expect(spec.linux.seccomp).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 });
    expect(spec.linux.seccomp!.syscalls.flatMap((r) => r.names)).not.toContain('unshare');
    expect(spec.linux.devices).toBeUndefined();
    expect(spec.linux.sysctl).toBeUndefined();
  });

  it('chooses seccomp rules for the capabilities the container ends up with', () => {
    const names = (opts: Parameters<typeof buildRuntimeSpec>[0]) => new Set(buildRuntimeSpec(opts).linux.seccomp!.syscalls.filter((r) => !r.args).flatMap((r) => r.names));
    expect(names({ args: ['x'] })).not.toContain('mount');
    expect(names({ args: ['x'], capAdd: ['SYS_ADMIN'] })).toContain('mount');
    expect(names({ args: ['x'], capDrop: ['SYS_CHROOT'] })).not.toContain('chroot');
    expect(names({ args: ['x'], seccomp: { type: 'RuntimeDefault' } })).toContain('chroot');
  });

  it('runs without a filter when Unconfined, and with a Localhost profile as given', () => {
    expect(buildRuntimeSpec({ args: ['x'], seccomp: { type: 'Unconfined' } }).linux.seccomp).toBeUndefined();
    const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    expect(buildRuntimeSpec({ args: ['x'], seccomp: { type: 'Localhost', profile } }).linux.seccomp).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    expect(invalidFields(() => buildRuntimeSpec({ args: ['x'], seccomp: { type: 'Localhost', profile: { defaultAction: 'ALLOW_ALL' } } }))).toEqual(['seccomp.profile.defaultAction']);
  });

  it('lifts every restriction when privileged, as docker run --privileged', () => {
    const device = { path: '/dev/kmsg', type: 'c' as const, major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 };
    const spec = buildRuntimeSpec({ args: ['x'], privileged: true, capDrop: ['ALL'], seccomp: { type: 'RuntimeDefault' }, hostDevices: [device], grantableCapabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] });
    expect(spec.process.capabilities.effective).toEqual(['CAP_CHOWN', 'CAP_SYS_ADMIN']);
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.linux.maskedPaths).toEqual([]);
    expect(spec.linux.readonlyPaths).toEqual([]);
    expect(spec.linux.devices).toEqual([device]);
    expect(spec.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(spec.mounts.find((m) => m.destination === '/sys')!.options).not.toContain('ro');
    expect(spec.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options).not.toContain('ro');
    expect(buildRuntimeSpec({ args: ['x'], privileged: true }).process.capabilities.bounding).toEqual(ALL_CAPABILITIES);
  });

  it('sets no_new_privs only when asked', () => {
    expect(buildRuntimeSpec({ args: ['x'], noNewPrivileges: true }).process.noNewPrivileges).toBe(true);
  });

  it('sets namespaced kernel parameters, and refuses the rest', () => {
    const spec = buildRuntimeSpec({ args: ['x'], sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel/shm_rmid_forced': '1', 'fs.mqueue.msg_max': '20' } });
    expect(spec.linux.sysctl).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', 'fs.mqueue.msg_max': '20' });
    expect(invalidFields(() => buildRuntimeSpec({ args: ['x'], sysctls: { 'kernel.hostname': 'x', 'vm.swappiness': '1', '../../etc/passwd': 'x', 'net.core.somaxconn': 'a\nb' } }))).toEqual([
      'sysctls[kernel.hostname]',
      'sysctls[vm.swappiness]',
      'sysctls[../../etc/passwd]',
      'sysctls[net.core.somaxconn]',
    ]);
    expect(invalidFields(() => buildRuntimeSpec({ args: ['x'], namespaces: { network: 'host', ipc: 'host' }, sysctls: { 'net.ipv4.tcp_syncookies': '1', 'kernel.sem': '1 2 3 4' } }))).toEqual([
      'sysctls[net.ipv4.tcp_syncookies]',
      'sysctls[kernel.sem]',
    ]);
  });

  it('keeps a PATH the caller gives', () => {
    expect(buildRuntimeSpec({ args: ['x'], env: ['PATH=/bin', 'A=b=c'] }).process.env).toEqual(['PATH=/bin', 'A=b=c']);
  });

  it('joins a sandbox: network, ipc and uts by path, no hostname of its own', () => {
    const spec = buildRuntimeSpec({
      args: ['x'],
      namespaces: { network: '/var/run/netns/pod-1', ipc: '/proc/42/ns/ipc', uts: '/proc/42/ns/uts' },
    });
    expect(spec.linux.namespaces).toEqual([
      { type: 'pid' },
      { type: 'ipc', path: '/proc/42/ns/ipc' },
      { type: 'uts', path: '/proc/42/ns/uts' },
      { type: 'network', path: '/var/run/netns/pod-1' },
      { type: 'mount' },
    ]);
    expect(invalidFields(() => buildRuntimeSpec({ args: ['x'], hostname: 'h', namespaces: { uts: '/proc/42/ns/uts' } }))).toEqual(['hostname']);
  });

  it("shares the host's namespace when asked", () => {
    const spec = buildRuntimeSpec({ args: ['x'], namespaces: { pid: 'host', network: 'host' } });
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(['ipc', 'uts', 'mount']);
  });

  it('turns limits into cgroup resources', () => {
    const spec = buildRuntimeSpec({ args: ['x'], resources: { memoryBytes: 64 << 20, cpus: 1.5, cpuShares: 512, pidsLimit: 100 }, cgroupsPath: '/berth/c1' });
    expect(spec.linux.resources).toMatchObject({
      memory: { limit: 64 << 20 },
      cpu: { quota: 150_000, period: 100_000, shares: 512 },
      pids: { limit: 100 },
    });
    expect(spec.linux.cgroupsPath).toBe('/berth/c1');
  });

  it('adds bind, volume and tmpfs mounts, read-only when asked, replacing a default at the same place', () => {
    const spec = buildRuntimeSpec({
      args: ['x'],
      readonlyRootfs: true,
      mounts: [
        { type: 'bind', source: '/srv/data', destination: '/data', readOnly: true },
        { type: 'volume', source: '/var/lib/berth/volumes/v1/_data', destination: '/var/lib/db/' },
        { type: 'tmpfs', destination: '/dev/shm', sizeBytes: 1 << 20, mode: 0o1777 },
      ],
    });
    expect(spec.root.readonly).toBe(true);
    expect(spec.mounts.filter((m) => m.destination === '/dev/shm')).toEqual([
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'rw', 'mode=1777', 'size=1048576'] },
    ]);
    expect(spec.mounts).toContainEqual({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate', 'ro'] });
    expect(spec.mounts).toContainEqual({ destination: '/var/lib/db', type: 'bind', source: '/var/lib/berth/volumes/v1/_data', options: ['rbind', 'rprivate', 'rw'] });
  });

  it('adds and drops capabilities', () => {
    const caps = buildRuntimeSpec({ args: ['x'], capAdd: ['sys_admin'], capDrop: ['CAP_NET_RAW', 'chown'] }).process.capabilities.bounding;
    expect(caps).toContain('CAP_SYS_ADMIN');
    expect(caps).not.toContain('CAP_NET_RAW');
    expect(caps).not.toContain('CAP_CHOWN');
    expect(buildRuntimeSpec({ args: ['x'], capDrop: ['ALL'], capAdd: ['KILL'] }).process.capabilities.effective).toEqual(['CAP_KILL']);
  });

  it('reports every bad field at once', () => {
    const fields = invalidFields(() =>
      buildRuntimeSpec({
        name: 'web',
        args: [],
        env: ['NOEQUALS', '=x'],
        cwd: 'relative',
        user: { uid: -1, gid: 1.5 },
        hostname: 'bad_host',
        mounts: [
          { type: 'bind', source: 'relative', destination: '/a' },
          { type: 'tmpfs', destination: '/' },
          { type: 'tmpfs', destination: '/t', sizeBytes: 0 },
          { type: 'nfs' as 'bind', source: '/x', destination: '/b' },
          { type: 'bind', source: '/x', destination: '/dup' },
          { type: 'bind', source: '/y', destination: '/dup/' },
        ],
        namespaces: { network: 'netns-name' },
        resources: { memoryBytes: 1024, cpus: 0, cpuShares: 1, pidsLimit: 0 },
        capAdd: ['CAP_NOT_A_THING'],
        cgroupsPath: 'berth/c1',
      }),
    );
    expect(fields.sort()).toEqual(
      [
        'args',
        'env[0]',
        'env[1]',
        'cwd',
        'user.uid',
        'user.gid',
        'hostname',
        'mounts[0].source',
        'mounts[1].destination',
        'mounts[2].sizeBytes',
        'mounts[3].type',
        'mounts[5].destination',
        'namespaces.network',
        'resources.memoryBytes',
        'resources.cpus',
        'resources.cpuShares',
        'resources.pidsLimit',
        'capAdd[0]',
        'cgroupsPath',
      ].sort(),
    );
  });
});
