/**
 * berth's one error vocabulary. Code everywhere throws these; only the edges (HTTP in the apiserver,
 * gRPC in runtimed, exit codes in the CLI) translate a reason into their own codes.
 */
export type ErrorReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  /** A read or watch from a revision that compaction removed; clients relist. */
  | 'Compacted'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

/** One problem with one field, named by its path as Kubernetes does (`spec.containers[0].image`). */
export interface FieldCause {
  /** Kubernetes cause types: FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueTypeInvalid, FieldValueForbidden, FieldValueTooLong, FieldValueUnknown */
  reason: string;
  message: string;
  field?: string;
}

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: FieldCause[];
  retryAfterSeconds?: number;
  /** For Unauthorized: the `WWW-Authenticate` challenge an HTTP edge sends with its 401 (`Basic realm="..."`, `Bearer realm=...`). */
  challenge?: string;
}

export class BerthError extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'BerthError';
  }
}

export function isBerthError(err: unknown, reason?: ErrorReason): err is BerthError {
  return err instanceof BerthError && (reason === undefined || err.reason === reason);
}

/** `kind` here is the resource name Kubernetes prints in messages (plural, with group: `deployments.apps`). */
function qualified(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const errors = {
  badRequest: (message: string) => new BerthError('BadRequest', message),
  unauthorized: (message = 'Unauthorized', challenge?: string) =>
    new BerthError('Unauthorized', message, challenge === undefined ? {} : { challenge }),
  forbidden: (message: string) => new BerthError('Forbidden', message),
  notFound: (resource: string, name: string, group?: string) =>
    new BerthError('NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource }),
  alreadyExists: (resource: string, name: string, group?: string) =>
    new BerthError('AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource }),
  conflict: (resource: string, name: string, why: string, group?: string) =>
    new BerthError(
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`,
      { name, group, kind: resource },
    ),
  gone: (message: string) => new BerthError('Gone', message),
  compacted: (requested: number, compactedAt: number) =>
    new BerthError('Compacted', `too old resource version: ${requested} (${compactedAt})`),
  invalid: (kind: string, name: string, causes: FieldCause[], group?: string) =>
    new BerthError(
      'Invalid',
      `${kind} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
      { name, group, kind, causes },
    ),
  methodNotAllowed: (message: string) => new BerthError('MethodNotAllowed', message),
  unsupportedMediaType: (contentType: string) =>
    new BerthError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "${contentType}")`),
  tooLarge: (limitBytes: number) =>
    new BerthError('RequestEntityTooLarge', `the request body is larger than the ${limitBytes} byte limit`),
  /** Kubernetes' answer to a client over a limit: 429, retry after this many seconds. */
  tooManyRequests: (message: string, retryAfterSeconds = 1) => new BerthError('TooManyRequests', message, { retryAfterSeconds }),
  internal: (message: string) => new BerthError('InternalError', message),
  unavailable: (message: string) => new BerthError('ServiceUnavailable', message),
  timeout: (message: string) => new BerthError('Timeout', message),
};

/** Field-cause builders, worded like Kubernetes' field.ErrorList. */
export const field = {
  required: (path: string, detail = ''): FieldCause => ({
    reason: 'FieldValueRequired',
    field: path,
    message: detail ? `Required value: ${detail}` : 'Required value',
  }),
  invalid: (path: string, value: unknown, detail: string): FieldCause => ({
    reason: 'FieldValueInvalid',
    field: path,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
  notSupported: (path: string, value: unknown, allowed: readonly string[]): FieldCause => ({
    reason: 'FieldValueNotSupported',
    field: path,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
  }),
  duplicate: (path: string, value: unknown): FieldCause => ({
    reason: 'FieldValueDuplicate',
    field: path,
    message: `Duplicate value: ${JSON.stringify(value)}`,
  }),
  typeInvalid: (path: string, value: unknown, detail: string): FieldCause => ({
    reason: 'FieldValueTypeInvalid',
    field: path,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
  forbidden: (path: string, detail: string): FieldCause => ({
    reason: 'FieldValueForbidden',
    field: path,
    message: `Forbidden: ${detail}`,
  }),
  unknown: (path: string): FieldCause => ({
    reason: 'FieldValueUnknown',
    field: path,
    message: `unknown field "${path}"`,
  }),
};
