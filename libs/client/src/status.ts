import { BerthError, ErrorDetails, ErrorReason } from '@berth/errors';

/** metav1.Status as the API server sends it on failures (and on some deletes). */
export interface Status {
  kind: 'Status';
  apiVersion: string;
  metadata?: Record<string, unknown>;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: ErrorDetails;
  code?: number;
}

const KNOWN_REASONS: ReadonlySet<string> = new Set<ErrorReason>([
  'BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'MethodNotAllowed', 'NotAcceptable', 'AlreadyExists',
  'Conflict', 'Gone', 'Compacted', 'RequestEntityTooLarge', 'UnsupportedMediaType', 'Invalid', 'TooManyRequests',
  'InternalError', 'ServiceUnavailable', 'Timeout',
]);

/** Kubernetes reasons outside berth's vocabulary that mean one of its words. */
const REASON_ALIASES: Record<string, ErrorReason> = {
  // 410 "too old resource version": the watch start was compacted away; the caller relists.
  Expired: 'Compacted',
  ServerTimeout: 'Timeout',
};

const REASON_BY_CODE: Record<number, ErrorReason> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** Kubernetes' wording for an error response that carries no Status. */
const MESSAGE_BY_CODE: Record<number, string> = {
  401: 'the server has asked for the client to provide credentials',
  403: 'Forbidden',
  404: 'the server could not find the requested resource',
  405: 'the server does not allow this method on the requested resource',
  409: 'the server reported a conflict',
  410: 'the requested resource is no longer available',
  415: 'the server does not support this media type',
  429: 'the server has received too many requests and has asked us to try again later',
  503: 'the server is currently unable to handle the request',
  504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
};

/** An error the API server answered with; `statusReason` is its reason word as sent. */
export class StatusError extends BerthError {
  constructor(
    reason: ErrorReason,
    message: string,
    details: ErrorDetails,
    readonly code: number,
    readonly statusReason: string,
  ) {
    super(reason, message, details);
  }
}

export function isStatus(value: unknown): value is Status {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

function reasonFor(statusReason: string | undefined, code: number): ErrorReason {
  if (statusReason && KNOWN_REASONS.has(statusReason)) return statusReason as ErrorReason;
  if (statusReason && REASON_ALIASES[statusReason]) return REASON_ALIASES[statusReason];
  return REASON_BY_CODE[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
}

/** The BerthError for a Status object (from an error response or a watch ERROR event). */
export function errorFromStatus(status: Status, httpCode?: number): StatusError {
  const code = status.code ?? httpCode ?? 500;
  const reason = reasonFor(status.reason, code);
  const message = status.message ?? MESSAGE_BY_CODE[code] ?? `the server responded with status ${code}`;
  return new StatusError(reason, message, status.details ?? {}, code, status.reason || reason);
}

/** The BerthError for a non-2xx HTTP response, whatever its body. */
export function errorFromResponse(code: number, body: string): StatusError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) return errorFromStatus(parsed, code);
  const reason = reasonFor(undefined, code);
  const text = body.trim();
  const message =
    MESSAGE_BY_CODE[code] ??
    (text ? `an error on the server (${JSON.stringify(text.slice(0, 200))}) has prevented the request from succeeding` : `the server responded with status ${code}`);
  return new StatusError(reason, message, {}, code, reason);
}
