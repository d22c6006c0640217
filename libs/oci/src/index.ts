export { buildRuntimeSpec } from './spec';
export { resolveUser } from './user';
export type { ResolvedUser } from './user';
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
  SpecProcess,
  SpecMount,
  SpecNamespace,
  SpecLinux,
  SpecDeviceRule,
} from './types';
