import type { DockerSeccompProfile } from './seccomp';

/**
 * The syscalls every container may make, whatever its capabilities: Docker's default allowlist, grouped
 * by what they do. Everything not listed (and not allowed by a rule below) fails with EPERM: among
 * them keyctl/add_key/request_key (the kernel keyring is not namespaced), io_uring_* (its own attack
 * surface, blocked by Docker since 2025), userfaultfd, kexec_*, swapon/swapoff, the obsolete uselib,
 * ustat, sysfs, nfsservctl, vm86, and the namespace and mount calls that CAP_SYS_ADMIN unlocks below.
 * Names a kernel or libseccomp doesn't know are skipped by runc, so newer calls can be listed early.
 */
const ALWAYS_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  'files: open, read, write, seek, sync': [
    '_llseek', 'cachestat', 'close', 'close_range', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'fadvise64', 'fadvise64_64',
    'fallocate', 'fcntl', 'fcntl64', 'fdatasync', 'flock', 'fsync', 'ftruncate', 'ftruncate64', 'ioctl', 'lseek', 'open', 'openat',
    'openat2', 'pipe', 'pipe2', 'pread64', 'preadv', 'preadv2', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readv',
    'sendfile', 'sendfile64', 'splice', 'sync', 'sync_file_range', 'syncfs', 'tee', 'truncate', 'truncate64', 'umask', 'vmsplice',
    'write', 'writev',
  ],
  'files: metadata, directories, links': [
    'access', 'chdir', 'chmod', 'chown', 'chown32', 'faccessat', 'faccessat2', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown',
    'fchown32', 'fchownat', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'futimesat', 'getcwd', 'getdents', 'getdents64',
    'lchown', 'lchown32', 'link', 'linkat', 'listmount', 'lstat', 'lstat64', 'mkdir', 'mkdirat', 'mknod', 'mknodat',
    'name_to_handle_at', 'newfstatat', 'readlink', 'readlinkat', 'rename', 'renameat', 'renameat2', 'rmdir', 'stat', 'stat64',
    'statfs', 'statfs64', 'statmount', 'statx', 'symlink', 'symlinkat', 'unlink', 'unlinkat', 'utime', 'utimensat',
    'utimensat_time64', 'utimes',
  ],
  'files: extended attributes': [
    'fgetxattr', 'flistxattr', 'fremovexattr', 'fsetxattr', 'getxattr', 'getxattrat', 'lgetxattr', 'listxattr', 'listxattrat',
    'llistxattr', 'lremovexattr', 'lsetxattr', 'removexattr', 'removexattrat', 'setxattr', 'setxattrat',
  ],
  'files: change notification': ['fanotify_mark', 'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch'],
  'asynchronous I/O (not io_uring)': [
    'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'io_setup', 'io_submit', 'ioprio_get',
    'ioprio_set',
  ],
  'polling and events': [
    '_newselect', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait',
    'epoll_wait_old', 'eventfd', 'eventfd2', 'poll', 'ppoll', 'ppoll_time64', 'pselect6', 'pselect6_time64', 'select', 'signalfd',
    'signalfd4', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64',
  ],
  memory: [
    'brk', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mlock', 'mlock2', 'mlockall',
    'mmap', 'mmap2', 'mprotect', 'mremap', 'mseal', 'msync', 'munlock', 'munlockall', 'munmap', 'pkey_alloc', 'pkey_free',
    'pkey_mprotect', 'remap_file_pages',
  ],
  'processes and threads': [
    'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait',
    'futex_waitv', 'futex_wake', 'get_robust_list', 'get_thread_area', 'getcpu', 'getpgid', 'getpgrp', 'getpid', 'getppid',
    'getrandom', 'getrlimit', 'getrusage', 'getsid', 'gettid', 'landlock_add_rule', 'landlock_create_ruleset',
    'landlock_restrict_self', 'pidfd_open', 'pidfd_send_signal', 'prctl', 'prlimit64', 'process_mrelease', 'restart_syscall',
    'riscv_hwprobe', 'rseq', 'seccomp', 'set_robust_list', 'set_thread_area', 'set_tid_address', 'setpgid', 'setrlimit', 'setsid',
    'sysinfo', 'times', 'ugetrlimit', 'uname', 'uretprobe', 'vfork', 'wait4', 'waitid', 'waitpid',
  ],
  'users and groups': [
    'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getresgid', 'getresgid32',
    'getresuid', 'getresuid32', 'getuid', 'getuid32', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32',
    'setgroups', 'setgroups32', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid',
    'setreuid32', 'setuid', 'setuid32',
  ],
  signals: [
    'alarm', 'kill', 'pause', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend',
    'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo', 'sigaltstack', 'sigprocmask', 'sigreturn', 'tgkill', 'tkill',
  ],
  // adjtimex and clock_adjtime only read the clock without CAP_SYS_TIME.
  time: [
    'adjtimex', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64',
    'clock_nanosleep', 'clock_nanosleep_time64', 'getitimer', 'gettimeofday', 'nanosleep', 'setitimer', 'time', 'timer_create',
    'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
  ],
  scheduling: [
    'getpriority', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr', 'sched_getparam',
    'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity', 'sched_setattr',
    'sched_setparam', 'sched_setscheduler', 'sched_yield', 'setpriority',
  ],
  // socket itself is allowed below for every family but AF_ALG and AF_VSOCK.
  networking: [
    'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'listen', 'recv', 'recvfrom', 'recvmmsg',
    'recvmmsg_time64', 'recvmsg', 'send', 'sendmmsg', 'sendmsg', 'sendto', 'setsockopt', 'shutdown', 'socketcall', 'socketpair',
  ],
  'System V and POSIX IPC (namespaced)': [
    'ipc', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend',
    'mq_timedsend_time64', 'mq_unlink', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'semctl', 'semget', 'semop', 'semtimedop',
    'semtimedop_time64', 'shmat', 'shmctl', 'shmdt', 'shmget',
  ],
};

const AF_ALG = 38;
const AF_VSOCK = 40;

/** personality(2) values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26 and the query 0xffffffff. */
const HARMLESS_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/**
 * The namespace flags of clone(2) (CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET):
 * without CAP_SYS_ADMIN a container may clone only with none of them set.
 */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
const ENOSYS = 38;

/** Calls a capability already permits, allowed only when the container holds it (Docker's `includes.caps`). */
const BY_CAPABILITY: ReadonlyArray<[capability: string, names: readonly string[]]> = [
  ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
  [
    'CAP_SYS_ADMIN',
    [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'lsm_get_self_attr',
      'lsm_list_modules', 'lsm_set_self_attr', 'mount', 'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'quotactl',
      'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
    ],
  ],
  ['CAP_SYS_BOOT', ['reboot']],
  ['CAP_SYS_CHROOT', ['chroot']],
  ['CAP_SYS_MODULE', ['delete_module', 'init_module', 'finit_module']],
  ['CAP_SYS_PACCT', ['acct']],
  ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']],
  ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
  ['CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']],
  ['CAP_SYS_TTY_CONFIG', ['vhangup']],
  ['CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
  ['CAP_SYSLOG', ['syslog']],
  ['CAP_BPF', ['bpf']],
  ['CAP_PERFMON', ['perf_event_open']],
];

/** Calls only some architectures have (Docker's `includes.arches`, in Go's architecture names). */
const BY_ARCHITECTURE: ReadonlyArray<[arches: string[], names: string[]]> = [
  [['amd64', 'x32'], ['arch_prctl']],
  [['amd64', 'x32', 'x86'], ['modify_ldt']],
  [['arm', 'arm64'], ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls']],
  [['ppc64le'], ['sync_file_range2', 'swapcontext']],
  [['s390', 's390x'], ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr']],
  [['riscv64'], ['riscv_flush_icache']],
];

/**
 * berth's default seccomp profile, the one `RuntimeDefault` (and no choice at all) means: Docker's default
 * policy, written in Docker's profile format so that it goes through the same evaluation as a node's
 * Localhost profiles. Unlisted calls fail with EPERM; the rules grant more only to containers holding
 * the capability that already permits a call, and argument rules keep clone from creating namespaces
 * and personality from switching execution domains. The architecture map lets a 64-bit filter also
 * cover the 32-bit ABIs the CPU can run (x86 and x32 on x86_64, arm on aarch64), so a container can't
 * slip past it through the other ABI's syscall numbers.
 */
export const DEFAULT_SECCOMP_PROFILE: DockerSeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null },
    { architecture: 'SCMP_ARCH_LOONGARCH64', subArchitectures: null },
  ],
  syscalls: [
    { names: Object.values(ALWAYS_ALLOWED).flat(), action: 'SCMP_ACT_ALLOW' },
    // Tracing another process of the container was unsafe before 4.8 (seccomp could be bypassed with it).
    { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' }] },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }] },
    ...HARMLESS_PERSONALITIES.map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, value, op: 'SCMP_CMP_EQ' as const }] })),
    ...BY_ARCHITECTURE.map(([arches, names]) => ({ names, action: 'SCMP_ACT_ALLOW' as const, includes: { arches } })),
    ...BY_CAPABILITY.map(([capability, names]) => ({ names: [...names], action: 'SCMP_ACT_ALLOW' as const, includes: { caps: [capability] } })),
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    },
    // s390 passes clone's flags second.
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    },
    // clone3 passes its flags in memory, where seccomp can't look: ENOSYS makes libc fall back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  ],
};
