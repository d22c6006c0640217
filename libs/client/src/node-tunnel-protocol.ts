import { userNameErrors } from '@berth/api';
import type { ErrorReason } from '@berth/errors';

/**
 * The node tunnel between an agent and the API server (as k3s's): nodes are never dialled. Each agent
 * keeps a control WebSocket open at `nodeTunnelPath(node)`; for a pod's log, exec, attach, stats or
 * forwarded port the server sends a {@link TunnelRequest} on it, and the agent opens a fresh WebSocket back at
 * `nodeTunnelPath(node)?request=<id>`, both with the agent's ordinary API credential. On that socket the
 * agent first sends a {@link TunnelAnswer} (text), then serves the request:
 * - log: binary messages of log text, then a normal close;
 * - exec/attach: binary channel-protocol frames both ways (v5.channel.k8s.io), status on channel 3;
 * - stats: one text message, a {@link NodeStatsReport}.
 * - top: one text message, a {@link ContainerProcesses} (the container's processes as its host sees them).
 * - portforward: one TCP connection to the pod's port, its bytes as binary messages both ways; an empty
 *   binary message says its sender has no more to send (a half-close).
 * Either side closing the socket ends the request on the other.
 */
export function nodeTunnelPath(node: string): string {
  return `/api/v1/nodes/${encodeURIComponent(node)}/tunnel`;
}

export const TUNNEL_REQUEST_PARAM = 'request';

export type TunnelKind = 'log' | 'exec' | 'attach' | 'stats' | 'portforward' | 'top';

/** Which of a pod's containers a request is about. */
export interface ContainerRef {
  namespace: string;
  pod: string;
  /** The pod object's uid: containers of an earlier pod of the same name are not it. */
  uid: string;
  container: string;
}

export interface LogParams extends ContainerRef {
  follow: boolean;
  /** The last N lines; all when absent. */
  tailLines?: number;
  timestamps: boolean;
  /** RFC 3339: only lines at or after it (sinceSeconds is turned into this by the server). */
  sinceTime?: string;
  /** The container's previous (terminated) run. */
  previous: boolean;
  limitBytes?: number;
}

export interface ExecParams extends ContainerRef {
  /** Empty for attach. */
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /**
   * berth's own pods/exec query parameters (`env=K%3DV` repeated, `workingDir=`, `user=`), which kubectl
   * never sends: `docker exec -e/-w/-u`, over the container's own settings. Exec only.
   */
  env?: string[];
  workingDir?: string;
  user?: string;
}

/** Bounds of the exec options: as many variables and bytes as a command line would reasonably carry. */
export const MAX_EXEC_ENV = 256;
export const MAX_EXEC_ENV_BYTES = 32 * 1024;
export const MAX_EXEC_PATH_BYTES = 4096;

/**
 * Why an exec's env, workingDir and user cannot be used, one line each ([] when they can): `NAME=VALUE`
 * with a name and no NUL, an absolute directory, a user as docker exec -u takes it.
 */
export function execOptionErrors(params: Pick<ExecParams, 'env' | 'workingDir' | 'user'>): string[] {
  const problems: string[] = [];
  const env = params.env ?? [];
  if (env.length > MAX_EXEC_ENV) problems.push(`env: at most ${MAX_EXEC_ENV} variables`);
  else {
    for (const entry of env) {
      const eq = entry.indexOf('=');
      if (eq <= 0 || entry.includes('\0') || Buffer.byteLength(entry) > MAX_EXEC_ENV_BYTES) {
        problems.push(`env: ${JSON.stringify(entry.slice(0, 64))} must be NAME=VALUE (a name, no NUL, at most ${MAX_EXEC_ENV_BYTES} bytes)`);
      }
    }
  }
  const dir = params.workingDir;
  if (dir !== undefined && (!dir.startsWith('/') || dir.includes('\0') || Buffer.byteLength(dir) > MAX_EXEC_PATH_BYTES)) {
    problems.push(`workingDir: ${JSON.stringify(dir.slice(0, 64))} must be an absolute path (no NUL, at most ${MAX_EXEC_PATH_BYTES} bytes)`);
  }
  if (params.user !== undefined) problems.push(...userNameErrors(params.user).map((detail) => `user: ${JSON.stringify(params.user!.slice(0, 64))} ${detail}`));
  return problems;
}

/** A connection to one port of the pod, made on its node from inside the pod's network namespace. */
export interface PortForwardParams {
  namespace: string;
  pod: string;
  uid: string;
  port: number;
}

export type TunnelRequest =
  | { id: string; kind: 'log'; params: LogParams }
  | { id: string; kind: 'exec' | 'attach'; params: ExecParams }
  | { id: string; kind: 'stats'; params: Record<string, never> }
  | { id: string; kind: 'top'; params: ContainerRef }
  | { id: string; kind: 'portforward'; params: PortForwardParams };

/** The first message on a dial-back socket: go ahead, or why not (the API's error vocabulary). */
export type TunnelAnswer = { ok: true } | { ok: false; reason: ErrorReason; message: string };

export interface ResourceUsage {
  /** CPU use over the window, in nanocores. */
  cpuNanoCores: number;
  /** Memory in use (the working set as the runtime reports it), bytes. */
  memoryBytes: number;
}

export interface PodStats {
  namespace: string;
  name: string;
  /** When the later of the two samples was taken, RFC 3339. */
  timestamp: string;
  windowSeconds: number;
  containers: Array<ResourceUsage & { name: string }>;
}

export interface NodeStatsReport {
  timestamp: string;
  windowSeconds: number;
  node: ResourceUsage;
  pods: PodStats[];
}

/** One process of a pod's container as its node's host sees it: the facts of `ps -ef`'s columns. */
export interface PodProcess {
  /** The effective uid, and the host's name for it ('' when the host has none). */
  uid: number;
  user: string;
  /** Host pids. */
  pid: number;
  ppid: number;
  /** CPU used over its life, percent of one CPU (ps's C is its integer part). */
  cpuPercent: number;
  /** When it started, RFC 3339. */
  startTime: string;
  /** Its controlling terminal as ps names it (`pts/0`), `?` for none. */
  tty: string;
  /** CPU time used (user + system), seconds. */
  cpuTimeSeconds: number;
  /** Its command line; for a process without one (a zombie), the kernel's name of it in brackets, as ps shows it. */
  cmd: string[];
}

/** What a node answers for a top request, in pid order. */
export interface ContainerProcesses {
  processes: PodProcess[];
  /** Processes beyond those listed (a node lists at most a few thousand). */
  omitted: number;
}

/** `GET pods/{name}/top?container=C`: the container's processes, and where they run. */
export interface PodProcessList extends ContainerProcesses {
  namespace: string;
  pod: string;
  container: string;
  node: string;
}
