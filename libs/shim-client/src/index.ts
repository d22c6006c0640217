export { ShimClient, connectShim } from './client';
export type { CallOptions } from './client';
export { startShim, shimBinaryPath, findRunc } from './start';
export type { StartShimOptions } from './start';
export { startExec, openFifoWriter } from './exec-io';
export type { StartExecOptions, ExecSession } from './exec-io';
export { readProcessMemory, measureShimMemory } from './memory';
export type { ProcessMemory } from './memory';
export type { ShimStatus, ShimState, ExitStatus, ExecState, ExecOptions } from './types';
