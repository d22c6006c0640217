import { DEFAULT_CAPABILITIES } from './defaults';
import { seccompForContainer, type SeccompContext } from './seccomp';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-profile';
import { invalidFields } from './spec-support';
import type { SpecSeccomp } from './types';

const X86: SeccompContext = { arch: 'x64', kernel: '6.1.0-18-amd64', capabilities: DEFAULT_CAPABILITIES };

/** The names some rule allows unconditionally (no argument checks). */
function allowed(spec: SpecSeccomp): Set<string> {
  return new Set(spec.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
}

function rulesFor(spec: SpecSeccomp, name: string) {
  return spec.syscalls.filter((r) => r.names.includes(name));
}


describe("the default profile (Docker's policy)", () => {
  it('refuses with EPERM what it does not list, on every ABI the CPU runs', () => {
    const spec = seccompForContainer(DEFAULT_SECCOMP_PROFILE, X86);
    expect(spec).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
    const names = allowed(spec);
    for (const ok of ['read', 'write', 'openat', 'execve', 'fork', 'wait4', 'setuid', 'chown', 'mknod', 'bind', 'futex', 'chroot', 'arch_prctl', 'modify_ldt', 'ptrace']) expect(names).toContain(ok);
    const everyName = new Set(spec.syscalls.flatMap((r) => r.names));
    for (const blocked of ['keyctl', 'add_key', 'request_key', 'mount', 'umount2', 'unshare', 'setns', 'io_uring_setup', 'userfaultfd', 'reboot', 'init_module', 'bpf', 'perf_event_open', 'swapon', 'kexec_load', 'open_by_handle_at', 'settimeofday', 'acct']) {
      expect(everyName).not.toContain(blocked);
    }
    expect(names).not.toContain('arm_fadvise64_64');
  });

  it('lets clone make no namespaces, socket open no AF_ALG or AF_VSOCK, personality change nothing', () => {
    const spec = seccompForContainer(DEFAULT_SECCOMP_PROFILE, X86);
    expect(rulesFor(spec, 'clone')).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(rulesFor(spec, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    expect(rulesFor(spec, 'socket').map((r) => r.args)).toEqual([
      [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }],
      [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }],
      [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }],
    ]);
    expect(rulesFor(spec, 'personality').map((r) => r.args![0]!.value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it('grants what a capability permits only to containers holding it', () => {
    const admin = seccompForContainer(DEFAULT_SECCOMP_PROFILE, { ...X86, capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] });
    for (const name of ['mount', 'unshare', 'setns', 'clone', 'clone3']) expect(allowed(admin)).toContain(name);
    expect(rulesFor(admin, 'clone').some((r) => r.args)).toBe(false);
    expect(rulesFor(admin, 'clone3').some((r) => r.action !== 'SCMP_ACT_ALLOW')).toBe(false);
    const time = seccompForContainer(DEFAULT_SECCOMP_PROFILE, { ...X86, capabilities: ['CAP_SYS_TIME'] });
    expect(allowed(time)).toContain('settimeofday');
    expect(allowed(time)).not.toContain('chroot');
  });

  it("follows the host's architecture and kernel", () => {
    const arm = seccompForContainer(DEFAULT_SECCOMP_PROFILE, { ...X86, arch: 'arm64' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed(arm)).toContain('arm_fadvise64_64');
    expect(allowed(arm)).not.toContain('arch_prctl');
    const old = seccompForContainer(DEFAULT_SECCOMP_PROFILE, { ...X86, kernel: '4.4.0' });
    expect(allowed(old)).not.toContain('ptrace');
  });
});

describe('profiles in Docker format', () => {
  it('takes the older format: one name per rule, an architectures list', () => {
    const spec = seccompForContainer({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, X86);
    expect(spec).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] });
  });

  it('keeps only what it knows of each rule', () => {
    const spec = seccompForContainer({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', comment: 'x', extra: { deep: 1 } }], listenerPath: '/run/evil.sock' }, X86);
    expect(spec).toEqual({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  });

  it('reads hostile JSON as data: prototype keys are plain keys', () => {
    const profile = JSON.parse('{"defaultAction":"SCMP_ACT_ALLOW","__proto__":{"syscalls":[{"names":["x"],"action":"SCMP_ACT_KILL"}]},"syscalls":[]}');
    expect(seccompForContainer(profile, X86)).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] });
    expect(({} as Record<string, unknown>).syscalls).toBeUndefined();
  });

  it.each([null, [], 'SCMP_ACT_ALLOW', 7])('refuses %j as a profile', (profile) => {
    expect(invalidFields(() => seccompForContainer(profile, X86))).toEqual(['seccomp']);
  });

  it('names every bad field', () => {
    const fields = invalidFields(() =>
      seccompForContainer(
        {
          defaultAction: 'SCMP_ACT_NOTIFY',
          defaultErrnoRet: 99999,
          architectures: ['SCMP_ARCH_X86_64'],
          archMap: [{ architecture: 'SCMP_ARCH_VAX', subArchitectures: null }],
          flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'],
          syscalls: [
            { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] },
            { names: ['write'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 64, op: 'SCMP_CMP_EQ' }] },
            { names: ['write'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_SOMETIMES' }] },
            { name: 'open', names: ['openat'], action: 'SCMP_ACT_ALLOW' },
            { names: ['../etc'], action: 'SCMP_ACT_ALLOW' },
            { names: [], action: 'SCMP_ACT_ALLOW' },
            { names: ['kill'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['rm -rf'], minKernel: 'new' } },
            { names: ['dup'], action: 'SCMP_ACT_ALLOW', args: Array.from({ length: 7 }, () => ({ index: 0, value: 0, op: 'SCMP_CMP_EQ' })) },
            'read',
          ],
        },
        X86,
      ),
    );
    expect(fields.sort()).toEqual(
      [
        'seccomp.defaultAction',
        'seccomp.defaultErrnoRet',
        'seccomp.archMap',
        'seccomp.archMap[0].architecture',
        'seccomp.flags[0]',
        'seccomp.syscalls[0].args[0].index',
        'seccomp.syscalls[1].args[0].value',
        'seccomp.syscalls[2].args[0].op',
        'seccomp.syscalls[3]',
        'seccomp.syscalls[4].names[0]',
        'seccomp.syscalls[5].names',
        'seccomp.syscalls[6].includes.caps[0]',
        'seccomp.syscalls[6].includes.minKernel',
        'seccomp.syscalls[7].args',
        'seccomp.syscalls[8]',
      ].sort(),
    );
  });
});
