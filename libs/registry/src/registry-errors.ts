import { errors, field, isBerthError } from '@berth/errors';

/** The error codes of the distribution spec (v1.1, "Error Codes"), as the registry writes them. */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOO_MANY_REQUESTS'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

/**
 * The registry's failures, built from the one vocabulary (`errors.*` of @berth/errors). What tells the
 * spec's codes apart is the berth reason plus `details.kind`, the thing concerned; `wireError` reads them
 * back at the HTTP edge, and nothing else needs to know the spec's codes.
 */
export const registryErrors = {
  blobUnknown: (digest: string) => errors.notFound('blob', digest),
  manifestUnknown: (reference: string) => errors.notFound('manifest', reference),
  nameUnknown: (name: string) => errors.notFound('repository', name),
  uploadUnknown: (id: string) => errors.notFound('upload', id),
  nameInvalid: (name: string, why: string) => errors.invalid('name', name, [field.invalid('name', name, why)]),
  tagInvalid: (tag: string, why: string) => errors.invalid('tag', tag, [field.invalid('reference', tag, why)]),
  digestInvalid: (digest: string, why: string) => errors.invalid('digest', digest, [field.invalid('digest', digest, why)]),
  manifestInvalid: (reference: string, why: string) => errors.invalid('manifest', reference, [field.invalid('manifest', reference, why)]),
  manifestBlobUnknown: (digest: string) =>
    errors.invalid('manifest blob', digest, [field.invalid('manifest', digest, 'blob unknown to registry')]),
  manifestTooLarge: (limitBytes: number) => errors.tooLarge(limitBytes),
  uploadInvalid: (id: string, why: string) => errors.invalid('upload', id, [field.invalid('upload', id, why)]),
  /** A chunk that does not start where the upload ends (416 Range Not Satisfiable). */
  rangeInvalid: (id: string, why: string) => errors.invalid('range', id, [field.invalid('Content-Range', id, why)]),
  sizeInvalid: (why: string) => errors.invalid('size', '', [field.invalid('Content-Length', '', why)]),
  unsupported: (message: string) => errors.methodNotAllowed(message),
};

export interface WireError {
  status: number;
  code: RegistryErrorCode;
  message: string;
  detail?: unknown;
  headers: Record<string, string>;
}

const NOT_FOUND: Record<string, { code: RegistryErrorCode; message: string }> = {
  blob: { code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' },
  manifest: { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' },
  repository: { code: 'NAME_UNKNOWN', message: 'repository name not known to registry' },
  upload: { code: 'BLOB_UPLOAD_UNKNOWN', message: 'blob upload unknown to registry' },
};

// Names and tags that break the spec's rules never reach a handler in distribution 2.8: its router answers
// 404. berth answers the same status, with the spec's code in the body.
const INVALID: Record<string, { status: number; code: RegistryErrorCode; message: string }> = {
  name: { status: 404, code: 'NAME_INVALID', message: 'invalid repository name' },
  tag: { status: 404, code: 'TAG_INVALID', message: 'manifest tag did not match URI' },
  digest: { status: 400, code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' },
  manifest: { status: 400, code: 'MANIFEST_INVALID', message: 'manifest invalid' },
  'manifest blob': { status: 400, code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry' },
  upload: { status: 400, code: 'BLOB_UPLOAD_INVALID', message: 'blob upload invalid' },
  range: { status: 416, code: 'BLOB_UPLOAD_INVALID', message: 'blob upload invalid' },
  size: { status: 400, code: 'SIZE_INVALID', message: 'provided length did not match content length' },
};

/** The spec's status, code and JSON for a thrown value; anything not a registry-shaped berth error is a 500 UNKNOWN. */
export function wireError(err: unknown): WireError {
  if (!isBerthError(err)) return { status: 500, code: 'UNKNOWN', message: 'unknown error', headers: {} };
  const kind = err.details.kind ?? '';
  const detail = err.details.causes?.[0]?.message ?? err.message;
  switch (err.reason) {
    case 'NotFound': {
      const known = Object.prototype.hasOwnProperty.call(NOT_FOUND, kind) ? NOT_FOUND[kind] : undefined;
      if (known) return { status: 404, ...known, detail: err.details.name, headers: {} };
      break;
    }
    case 'Invalid': {
      const known = Object.prototype.hasOwnProperty.call(INVALID, kind) ? INVALID[kind] : undefined;
      if (known) return { ...known, detail, headers: {} };
      break;
    }
    case 'BadRequest':
      return { status: 400, code: 'UNKNOWN', message: err.message, headers: {} };
    case 'RequestEntityTooLarge':
      return { status: 413, code: 'SIZE_INVALID', message: err.message, headers: {} };
    case 'Unauthorized':
      return {
        status: 401,
        code: 'UNAUTHORIZED',
        message: 'authentication required',
        detail: err.message,
        headers: err.details.challenge ? { 'WWW-Authenticate': err.details.challenge } : {},
      };
    case 'Forbidden':
      return { status: 403, code: 'DENIED', message: 'requested access to the resource is denied', detail: err.message, headers: {} };
    case 'MethodNotAllowed':
      return { status: 405, code: 'UNSUPPORTED', message: 'The operation is unsupported.', detail: err.message, headers: {} };
    case 'TooManyRequests':
      return {
        status: 429,
        code: 'TOO_MANY_REQUESTS',
        message: 'too many requests',
        detail: err.message,
        headers: { 'Retry-After': String(err.details.retryAfterSeconds ?? 1) },
      };
    case 'ServiceUnavailable':
      return { status: 503, code: 'UNAVAILABLE', message: err.message, headers: {} };
    default:
      break;
  }
  return { status: 500, code: 'UNKNOWN', message: 'unknown error', headers: {} };
}
