import { BerthError, ErrorReason, isBerthError } from '@berth/errors';
import type { Duplex } from 'node:stream';

/** How each reason of the error vocabulary reads on the wire: HTTP code and Kubernetes Status reason. */
const WIRE: Record<ErrorReason, { code: number; reason: string }> = {
  BadRequest: { code: 400, reason: 'BadRequest' },
  Unauthorized: { code: 401, reason: 'Unauthorized' },
  Forbidden: { code: 403, reason: 'Forbidden' },
  NotFound: { code: 404, reason: 'NotFound' },
  MethodNotAllowed: { code: 405, reason: 'MethodNotAllowed' },
  NotAcceptable: { code: 406, reason: 'NotAcceptable' },
  AlreadyExists: { code: 409, reason: 'AlreadyExists' },
  Conflict: { code: 409, reason: 'Conflict' },
  Gone: { code: 410, reason: 'Gone' },
  Compacted: { code: 410, reason: 'Expired' },
  RequestEntityTooLarge: { code: 413, reason: 'RequestEntityTooLarge' },
  UnsupportedMediaType: { code: 415, reason: 'UnsupportedMediaType' },
  Invalid: { code: 422, reason: 'Invalid' },
  TooManyRequests: { code: 429, reason: 'TooManyRequests' },
  InternalError: { code: 500, reason: 'InternalError' },
  ServiceUnavailable: { code: 503, reason: 'ServiceUnavailable' },
  Timeout: { code: 504, reason: 'Timeout' },
};

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  code: number;
}

/** The Kubernetes Status body and HTTP code for a thrown value; anything not a BerthError is a 500. */
export function statusFor(err: unknown): KubeStatus {
  const known = isBerthError(err) && Object.prototype.hasOwnProperty.call(WIRE, err.reason);
  // A reason outside the vocabulary (a node's answer relayed as it came) is the server's failure too.
  const berth: BerthError = known ? err : new BerthError('InternalError', 'an error on the server has prevented the request from succeeding');
  const wire = WIRE[berth.reason];
  const details = Object.fromEntries(Object.entries(berth.details ?? {}).filter(([, v]) => v !== undefined));
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: berth.message,
    reason: wire.reason,
    ...(Object.keys(details).length ? { details } : {}),
    code: wire.code,
  };
}

export function successStatus(details?: Record<string, unknown>, code = 200): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code };
}

/**
 * Answers on a bare connection (an upgrade that will not be upgraded, a request node's parser refused)
 * with the Status for `err`, and closes it.
 */
export function endWithStatus(socket: Duplex, err: unknown): void {
  if (!socket.writable) return void socket.destroy();
  const status = statusFor(err);
  const body = JSON.stringify(status);
  socket.end(`HTTP/1.1 ${status.code} ${status.reason ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
