/**
 * Kubernetes' streaming channel protocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`) for exec and attach over
 * a WebSocket: every binary message is one channel byte followed by that channel's data.
 */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export type ChannelProtocol = (typeof CHANNEL_PROTOCOLS)[number];

export const CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  /** The outcome, a metav1.Status JSON. */
  status: 3,
  /** Terminal size, `{"Width":80,"Height":24}`. */
  resize: 4,
  /** v5: the sender closed the channel named by the payload's first byte (stdin from the client). */
  close: 255,
} as const;

export interface ChannelFrame {
  channel: number;
  data: Buffer;
}

export function encodeFrame(channel: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const frame = Buffer.allocUnsafe(payload.length + 1);
  frame[0] = channel;
  payload.copy(frame, 1);
  return frame;
}

/** One message's channel and data; an empty message (which carries no channel) is undefined. */
export function decodeFrame(message: Buffer): ChannelFrame | undefined {
  if (message.length === 0) return undefined;
  return { channel: message[0]!, data: message.subarray(1) };
}

/** The status a process's end is reported with on channel 3, as the kubelet words it. */
export interface ChannelStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason: string; message: string }> };
  code?: number;
}

export function exitStatus(exitCode: number, command: string[] = []): ChannelStatus {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function failureStatus(message: string): ChannelStatus {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** The exit code a status reports: 0 for Success, the ExitCode cause for NonZeroExitCode, else undefined. */
export function exitCodeOf(status: ChannelStatus): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : undefined;
}

/** A resize message's terminal size, if it is one. */
export function parseResize(data: Buffer): { width: number; height: number } | undefined {
  try {
    const size = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const width = Number(size.Width);
    const height = Number(size.Height);
    return Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
