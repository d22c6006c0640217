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
 * - portforward: one TCP connection to the pod's port, its bytes as binary messages both ways; an empty
 *   binary message says its sender has no more to send (a half-close).
 * Either side closing the socket ends the request on the other.
 */
export function nodeTunnelPath(node: string): string {
  return `/api/v1/nodes/${encodeURIComponent(node)}/tunnel`;
}

export const TUNNEL_REQUEST_PARAM = 'request';

export type TunnelKind = 'log' | 'exec' | 'attach' | 'stats' | 'portforward';

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
