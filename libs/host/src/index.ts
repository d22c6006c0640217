/** The node's host: running its tools, keeping state files that survive a crash whole, its processes and cgroups. */
export { mustRun, runCommand, type CommandOutput, type RunOptions } from './exec';
export { readJsonIfExists, writeJsonAtomic, writeFileAtomicSync } from './files';
export { CGROUP_ROOT, cgroupDirs, cgroupTree, isUnified, removeCgroupTree } from './cgroups';
export { cgroupPids, cgroupProcesses, hostUserNames, MAX_LISTED_PROCESSES, type HostProcess } from './processes';
export { isRecordedProcessAlive, networkNamespaceOf, networkNamespacePath, processStartTime, readProcessRecord, writeProcessRecord, type ProcessRecord } from './process-record';
export { listMounts, mountPointsUnder, unmount, unmountAllUnder, type MountInfo } from './mounts';
export { O_PATH, openAt, openHandleAt, readFileBeneath } from './beneath';
export { KeyedMutex } from './keyed-mutex';
export { primaryIPv4 } from './address';
