/** Status of the container's main process or of an exec'd process (proto enum Status). */
export type ShimStatus = 'unknown' | 'created' | 'running' | 'stopped';

export const STATUS_NAMES: readonly ShimStatus[] = ['unknown', 'created', 'running', 'stopped'];

export interface ExitStatus {
  /** The exit code, or 128 + signal number when a signal ended the process. */
  exitCode: number;
  /** RFC 3339 with nanoseconds, UTC. */
  exitedAt: string;
  /** 'Completed' (code 0), 'Error', or 'OOMKilled'. */
  reason: string;
}

export interface ShimState {
  id: string;
  bundle: string;
  status: ShimStatus;
  /** The container's init in the host pid namespace; 0 once stopped. */
  pid: number;
  exit?: ExitStatus;
  terminal: boolean;
  /** The stdin FIFO in the bundle when the shim keeps stdin open, '' otherwise. */
  stdin: string;
  shimPid: number;
}

export interface ExecState {
  execId: string;
  status: ShimStatus;
  pid: number;
  exit?: ExitStatus;
}

export interface ExecOptions {
  /** [A-Za-z0-9_.-]{1,64}, unique for the shim's life. */
  execId: string;
  /** The OCI process (config.json "process"); `terminal` is set from the option below. */
  process: Record<string, unknown>;
  terminal?: boolean;
  /**
   * FIFOs the caller created (see createExecFifos). The caller opens stdout/stderr for reading
   * before calling exec; the shim holds stdin open until closeStdin(execId).
   */
  stdin?: string;
  stdout?: string;
  stderr?: string;
}
