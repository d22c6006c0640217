export { buildRuntimeSpec, capabilityName, dottedSysctl, SYSCTL_NAME, SYSCTL_NAME_PATTERN } from './spec';
export { resolveGroups, resolveUser } from './user';
export type { ResolvedUser } from './user';
export { MAX_SECCOMP_PROFILE_BYTES, seccompForContainer } from './seccomp';
export type { DockerSeccompProfile, DockerSyscallRule, SeccompCondition, SeccompContext } from './seccomp';
export { DEFAULT_SECCOMP_PROFILE } from './seccomp-profile';
export { hostDevices, ownCapabilities } from './host';
export {
  DEFAULT_CAPABILITIES,
  ALL_CAPABILITIES,
  DEFAULT_MOUNTS,
  MASKED_PATHS,
  READONLY_PATHS,
  DEFAULT_PATH,
  CPU_PERIOD_US,
} from './defaults';
export type {
  RuntimeSpec,
  RuntimeSpecOptions,
  MountOption,
  NamespaceChoice,
  SeccompChoice,
  SpecProcess,
  SpecMount,
  SpecNamespace,
  SpecLinux,
  SpecDeviceRule,
  SpecDevice,
  SpecSeccomp,
  SpecSyscallRule,
  SpecSyscallArg,
} from './types';
