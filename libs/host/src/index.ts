/** The node's host: running its tools and keeping state files that survive a crash whole. */
export { mustRun, runCommand, type CommandOutput, type RunOptions } from './exec';
export { readJsonIfExists, writeJsonAtomic, writeFileAtomicSync } from './files';
export { listMounts, mountPointsUnder, unmount, unmountAllUnder, type MountInfo } from './mounts';
export { O_PATH, openAt, readFileBeneath } from './beneath';
