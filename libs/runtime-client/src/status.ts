import { status as Code, Metadata, ServiceError } from '@grpc/grpc-js';
import { BerthError, ErrorReason, FieldCause, isBerthError } from '@berth/errors';

const REASON_KEY = 'berth-reason';
const CAUSES_KEY = 'berth-causes';

const CODE_OF: Record<ErrorReason, Code> = {
  BadRequest: Code.INVALID_ARGUMENT,
  Invalid: Code.INVALID_ARGUMENT,
  Unauthorized: Code.UNAUTHENTICATED,
  Forbidden: Code.PERMISSION_DENIED,
  NotFound: Code.NOT_FOUND,
  MethodNotAllowed: Code.UNIMPLEMENTED,
  NotAcceptable: Code.INVALID_ARGUMENT,
  AlreadyExists: Code.ALREADY_EXISTS,
  Conflict: Code.FAILED_PRECONDITION,
  Gone: Code.NOT_FOUND,
  Compacted: Code.OUT_OF_RANGE,
  RequestEntityTooLarge: Code.RESOURCE_EXHAUSTED,
  UnsupportedMediaType: Code.INVALID_ARGUMENT,
  TooManyRequests: Code.RESOURCE_EXHAUSTED,
  InternalError: Code.INTERNAL,
  ServiceUnavailable: Code.UNAVAILABLE,
  Timeout: Code.DEADLINE_EXCEEDED,
};

/** For a status without our trailer (a proxy's, grpc-js's own). */
const REASON_OF: Partial<Record<Code, ErrorReason>> = {
  [Code.INVALID_ARGUMENT]: 'BadRequest',
  [Code.UNAUTHENTICATED]: 'Unauthorized',
  [Code.PERMISSION_DENIED]: 'Forbidden',
  [Code.NOT_FOUND]: 'NotFound',
  [Code.ALREADY_EXISTS]: 'AlreadyExists',
  [Code.FAILED_PRECONDITION]: 'Conflict',
  [Code.UNAVAILABLE]: 'ServiceUnavailable',
  [Code.DEADLINE_EXCEEDED]: 'Timeout',
  [Code.CANCELLED]: 'Timeout',
  [Code.RESOURCE_EXHAUSTED]: 'TooManyRequests',
};

export interface GrpcStatus {
  code: Code;
  details: string;
  metadata: Metadata;
}

/** The server edge: a thrown error as a gRPC status, with berth's reason and causes as trailers. */
export function toGrpcStatus(err: unknown): GrpcStatus {
  const metadata = new Metadata();
  if (isBerthError(err)) {
    metadata.set(REASON_KEY, err.reason);
    if (err.details.causes?.length) metadata.set(CAUSES_KEY, JSON.stringify(err.details.causes));
    return { code: CODE_OF[err.reason] ?? Code.UNKNOWN, details: err.message, metadata };
  }
  metadata.set(REASON_KEY, 'InternalError');
  return { code: Code.INTERNAL, details: err instanceof Error ? err.message : String(err), metadata };
}

/** The client edge: a gRPC failure back as the BerthError the server threw. */
export function fromGrpcError(err: unknown, socketPath: string): BerthError {
  if (isBerthError(err)) return err;
  const failure = err as Partial<ServiceError>;
  if (typeof failure.code !== 'number') return new BerthError('InternalError', failure.message ?? String(err));
  const reason = failure.metadata?.get(REASON_KEY)[0]?.toString() as ErrorReason | undefined;
  if (!reason && failure.code === Code.UNAVAILABLE) {
    const cause = /connect (E[A-Z]+)/.exec(failure.details ?? '')?.[1] ?? failure.details ?? failure.message;
    return new BerthError('ServiceUnavailable', `cannot reach runtimed at ${socketPath}: ${cause} (is \`berth runtimed\` running?)`);
  }
  const causesText = failure.metadata?.get(CAUSES_KEY)[0]?.toString();
  let causes: FieldCause[] | undefined;
  try {
    causes = causesText ? (JSON.parse(causesText) as FieldCause[]) : undefined;
  } catch {
    causes = undefined;
  }
  return new BerthError(reason ?? REASON_OF[failure.code] ?? 'InternalError', failure.details ?? failure.message ?? 'runtime call failed', causes ? { causes } : {});
}
