import { errors, field, FieldCause } from '@berth/errors';
import type { SpecSeccomp, SpecSyscallArg, SpecSyscallRule } from './types';

const ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
] as const;
type SeccompAction = (typeof ACTIONS)[number];

const OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;

const ARCHITECTURES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
] as const;

const FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] as const;

/**
 * The largest Localhost seccomp profile, in bytes, that the agent reads, the CLI sends and runtimed takes: a
 * profile is read and sent whole, and Docker's default is 20 KiB, so a bigger one is a mistake or an attack.
 */
export const MAX_SECCOMP_PROFILE_BYTES = 1 << 20;

/** The largest errno the kernel returns from a syscall (MAX_ERRNO). */
const MAX_ERRNO = 4095;
const SYSCALL_NAME = /^[a-z0-9_]{1,64}$/;
const MAX_RULES = 4096;

/** Which rules of a profile apply (Docker's `includes` and `excludes`). */
export interface SeccompCondition {
  /** Go's architecture names (amd64, arm64, x86, x32, s390x, ...). */
  arches?: string[];
  /** Capabilities the container must hold (includes: all of them; excludes: any of them). */
  caps?: string[];
  /** A kernel release, `major.minor`. */
  minKernel?: string;
}

export interface DockerSyscallRule {
  /** One name (Docker's older format) or several. */
  name?: string;
  names?: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SpecSyscallArg[];
  comment?: string;
  includes?: SeccompCondition;
  excludes?: SeccompCondition;
}

/**
 * A seccomp profile in Docker's JSON format (moby's profiles/seccomp, which containerd and the kubelet's
 * Localhost profiles use too): the OCI seccomp fields plus per-rule conditions and an architecture map.
 */
export interface DockerSeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** The OCI list, taken as it is (Docker's older format); not together with archMap. */
  architectures?: string[];
  /** Per native architecture, the ABIs the filter also covers. */
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  flags?: string[];
  syscalls?: DockerSyscallRule[];
}

/** What the rules of a profile are evaluated against. */
export interface SeccompContext {
  /** Node's process.arch of the host (x64, arm64, ...). */
  arch: string;
  /** The container's capabilities (the bounding set). */
  capabilities: readonly string[];
  /** The host's kernel release (os.release()). */
  kernel: string;
}

/** Node's architecture names → Go's (which profiles' conditions use) and libseccomp's native architecture. */
const PLATFORMS: Record<string, { go: string; seccomp: string }> = {
  x64: { go: 'amd64', seccomp: 'SCMP_ARCH_X86_64' },
  ia32: { go: '386', seccomp: 'SCMP_ARCH_X86' },
  arm64: { go: 'arm64', seccomp: 'SCMP_ARCH_AARCH64' },
  arm: { go: 'arm', seccomp: 'SCMP_ARCH_ARM' },
  ppc64: { go: 'ppc64le', seccomp: 'SCMP_ARCH_PPC64LE' },
  s390x: { go: 's390x', seccomp: 'SCMP_ARCH_S390X' },
  riscv64: { go: 'riscv64', seccomp: 'SCMP_ARCH_RISCV64' },
  loong64: { go: 'loong64', seccomp: 'SCMP_ARCH_LOONGARCH64' },
  mips64el: { go: 'mips64le', seccomp: 'SCMP_ARCH_MIPSEL64' },
};

/** `major.minor` of a kernel release as one comparable number; NaN when it has none. */
function kernelVersion(text: string): number {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match ? Number(match[1]) * 1000 + Number(match[2]) : NaN;
}

const own = (obj: Record<string, unknown>, key: string): unknown => (Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads an untrusted profile (parsed JSON from a node's file or a client) field by field: every problem
 * becomes a cause, and only the fields berth knows are kept, so nothing odd reaches runc's config.
 */
function readProfile(input: unknown, causes: FieldCause[], path: string): DockerSeccompProfile | undefined {
  if (!isObject(input)) {
    causes.push(field.typeInvalid(path, typeof input, 'must be a JSON object (a seccomp profile in Docker\'s format)'));
    return undefined;
  }
  const oneOf = <T extends string>(p: string, value: unknown, allowed: readonly T[]): value is T => {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return true;
    causes.push(field.notSupported(p, value, allowed));
    return false;
  };
  const errno = (p: string, value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_ERRNO) return value as number;
    causes.push(field.invalid(p, value, `must be an errno from 0 to ${MAX_ERRNO}`));
    return undefined;
  };
  const stringList = (p: string, value: unknown, check: (s: string) => boolean, detail: string): string[] | undefined => {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      causes.push(field.typeInvalid(p, typeof value, 'must be a list of strings'));
      return undefined;
    }
    const bad = value.findIndex((v) => typeof v !== 'string' || !check(v));
    if (bad >= 0) {
      causes.push(field.invalid(`${p}[${bad}]`, value[bad], detail));
      return undefined;
    }
    return [...(value as string[])];
  };
  const condition = (p: string, value: unknown): SeccompCondition | undefined => {
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) {
      causes.push(field.typeInvalid(p, typeof value, 'must be an object'));
      return undefined;
    }
    const result: SeccompCondition = {};
    const arches = stringList(`${p}.arches`, own(value, 'arches'), (s) => s.length <= 32, 'must be an architecture name');
    const caps = stringList(`${p}.caps`, own(value, 'caps'), (s) => /^CAP_[A-Z_]{1,32}$/.test(s), 'must be a capability name (CAP_...)');
    const minKernel = own(value, 'minKernel');
    if (arches) result.arches = arches;
    if (caps) result.caps = caps;
    if (minKernel !== undefined) {
      if (typeof minKernel === 'string' && !Number.isNaN(kernelVersion(minKernel))) result.minKernel = minKernel;
      else causes.push(field.invalid(`${p}.minKernel`, minKernel, 'must be a kernel version like "4.8"'));
    }
    return result;
  };
  const argument = (p: string, value: unknown): SpecSyscallArg | undefined => {
    if (!isObject(value)) {
      causes.push(field.typeInvalid(p, typeof value, 'must be an object'));
      return undefined;
    }
    const index = own(value, 'index');
    const op = own(value, 'op');
    const values = (['value', 'valueTwo'] as const).map((key) => {
      const v = own(value, key);
      if (v === undefined && key === 'valueTwo') return undefined;
      // Above 2^53 a JSON number is rounded on the way in: the filter would compare with another value.
      if (Number.isSafeInteger(v) && (v as number) >= 0) return v as number;
      causes.push(field.invalid(`${p}.${key}`, v, 'must be an integer from 0 to 2^53-1'));
      return null;
    });
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) > 5) causes.push(field.invalid(`${p}.index`, index, 'must be an argument index from 0 to 5'));
    else if (oneOf(`${p}.op`, op, OPERATORS) && values[0] !== null && values[1] !== null) {
      return values[1] === undefined ? { index: index as number, value: values[0]!, op } : { index: index as number, value: values[0]!, valueTwo: values[1], op };
    }
    return undefined;
  };

  const defaultAction = own(input, 'defaultAction');
  oneOf(`${path}.defaultAction`, defaultAction, ACTIONS);
  const profile: DockerSeccompProfile = { defaultAction: defaultAction as SeccompAction, syscalls: [] };
  const defaultErrnoRet = errno(`${path}.defaultErrnoRet`, own(input, 'defaultErrnoRet'));
  if (defaultErrnoRet !== undefined) profile.defaultErrnoRet = defaultErrnoRet;
  const architectures = stringList(`${path}.architectures`, own(input, 'architectures'), (s) => (ARCHITECTURES as readonly string[]).includes(s), 'must be a libseccomp architecture (SCMP_ARCH_...)');
  if (architectures) profile.architectures = architectures;
  const archMap = own(input, 'archMap');
  if (archMap !== undefined && archMap !== null) {
    if (architectures?.length) causes.push(field.forbidden(`${path}.archMap`, "'architectures' and 'archMap' can't both be given"));
    if (!Array.isArray(archMap)) causes.push(field.typeInvalid(`${path}.archMap`, typeof archMap, 'must be a list'));
    else {
      profile.archMap = [];
      archMap.forEach((entry: unknown, i) => {
        const p = `${path}.archMap[${i}]`;
        if (!isObject(entry)) return causes.push(field.typeInvalid(p, typeof entry, 'must be an object'));
        const architecture = own(entry, 'architecture');
        const isArch = (s: string) => (ARCHITECTURES as readonly string[]).includes(s);
        const subArchitectures = stringList(`${p}.subArchitectures`, own(entry, 'subArchitectures'), isArch, 'must be a libseccomp architecture (SCMP_ARCH_...)');
        if (oneOf(`${p}.architecture`, architecture, ARCHITECTURES)) profile.archMap!.push({ architecture, subArchitectures: subArchitectures ?? null });
      });
    }
  }
  const flags = stringList(`${path}.flags`, own(input, 'flags'), (s) => (FLAGS as readonly string[]).includes(s), `must be one of ${FLAGS.join(', ')}`);
  if (flags) profile.flags = flags;
  const syscalls = own(input, 'syscalls');
  if (syscalls === undefined || syscalls === null) return profile;
  if (!Array.isArray(syscalls)) {
    causes.push(field.typeInvalid(`${path}.syscalls`, typeof syscalls, 'must be a list'));
    return profile;
  }
  if (syscalls.length > MAX_RULES) {
    causes.push(field.invalid(`${path}.syscalls`, `${syscalls.length} rules`, `must have at most ${MAX_RULES} rules`));
    return profile;
  }
  syscalls.forEach((entry: unknown, i) => {
    const p = `${path}.syscalls[${i}]`;
    if (!isObject(entry)) return causes.push(field.typeInvalid(p, typeof entry, 'must be an object'));
    const name = own(entry, 'name');
    const rawNames = own(entry, 'names');
    const listed = stringList(`${p}.names`, rawNames, (s) => SYSCALL_NAME.test(s), 'must be a syscall name');
    if (rawNames !== undefined && rawNames !== null && !listed) return undefined;
    if (name !== undefined && listed?.length) return causes.push(field.forbidden(p, "use either 'name' or 'names', not both"));
    if (name !== undefined && (typeof name !== 'string' || !SYSCALL_NAME.test(name))) return causes.push(field.invalid(`${p}.name`, name, 'must be a syscall name'));
    const names = name !== undefined ? [name as string] : (listed ?? []);
    if (!names.length) return causes.push(field.required(`${p}.names`, 'a rule names at least one syscall'));
    const action = own(entry, 'action');
    if (!oneOf(`${p}.action`, action, ACTIONS)) return undefined;
    const rule: DockerSyscallRule = { names, action };
    const errnoRet = errno(`${p}.errnoRet`, own(entry, 'errnoRet'));
    if (errnoRet !== undefined) rule.errnoRet = errnoRet;
    const args = own(entry, 'args');
    if (args !== undefined && args !== null) {
      if (!Array.isArray(args) || args.length > 6) causes.push(field.invalid(`${p}.args`, Array.isArray(args) ? `${args.length} arguments` : typeof args, 'must be a list of at most 6 argument rules'));
      else {
        const read = args.map((a: unknown, j) => argument(`${p}.args[${j}]`, a));
        if (read.every((a) => a)) rule.args = read as SpecSyscallArg[];
      }
    }
    const includes = condition(`${p}.includes`, own(entry, 'includes'));
    const excludes = condition(`${p}.excludes`, own(entry, 'excludes'));
    if (includes) rule.includes = includes;
    if (excludes) rule.excludes = excludes;
    profile.syscalls!.push(rule);
    return undefined;
  });
  return profile;
}

/** Docker's rule selection: includes must all hold, and no excludes may. */
function applies(rule: DockerSyscallRule, goArch: string, ctx: SeccompContext): boolean {
  const kernel = kernelVersion(ctx.kernel);
  const { includes: inc, excludes: exc } = rule;
  if (inc?.arches?.length && !inc.arches.includes(goArch)) return false;
  if (inc?.caps?.some((c) => !ctx.capabilities.includes(c))) return false;
  if (inc?.minKernel && !(kernel >= kernelVersion(inc.minKernel))) return false;
  if (exc?.arches?.includes(goArch)) return false;
  if (exc?.caps?.some((c) => ctx.capabilities.includes(c))) return false;
  if (exc?.minKernel && kernel >= kernelVersion(exc.minKernel)) return false;
  return true;
}

/**
 * A profile in Docker's format (untrusted) as the OCI `linux.seccomp` runc loads, for one container on
 * this host: rules whose conditions don't hold for its capabilities, the host's architecture or kernel
 * are left out, and the architecture map becomes the list of ABIs the filter covers. A malformed profile
 * is Invalid, with a cause per problem under `path`.
 */
export function seccompForContainer(profile: unknown, ctx: SeccompContext, path = 'seccomp'): SpecSeccomp {
  const causes: FieldCause[] = [];
  const spec = evaluateProfile(profile, ctx, causes, path);
  if (!spec) throw errors.invalid('seccomp profile', '', causes);
  return spec;
}

/** seccompForContainer for a caller collecting causes of its own; undefined when the profile has problems. */
export function evaluateProfile(profile: unknown, ctx: SeccompContext, causes: FieldCause[], path: string): SpecSeccomp | undefined {
  const before = causes.length;
  const read = readProfile(profile, causes, path);
  if (!read || causes.length > before) return undefined;
  const platform = PLATFORMS[ctx.arch] ?? { go: ctx.arch, seccomp: '' };
  const spec: SpecSeccomp = { defaultAction: read.defaultAction, syscalls: [] };
  if (read.defaultErrnoRet !== undefined) spec.defaultErrnoRet = read.defaultErrnoRet;
  const native = read.archMap?.find((a) => a.architecture === platform.seccomp);
  const architectures = read.architectures ?? (native ? [native.architecture, ...(native.subArchitectures ?? [])] : []);
  if (architectures.length) spec.architectures = architectures;
  if (read.flags?.length) spec.flags = read.flags;
  for (const rule of read.syscalls ?? []) {
    if (!applies(rule, platform.go, ctx)) continue;
    const out: SpecSyscallRule = { names: rule.names!, action: rule.action };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args?.length) out.args = rule.args.map((a) => ({ ...a }));
    spec.syscalls.push(out);
  }
  return spec;
}
