import { status as Code, Metadata } from '@grpc/grpc-js';
import { BerthError, errors, field, isBerthError } from '@berth/errors';
import { fromGrpcError, toGrpcStatus } from './status';

/** What a client receives for a status the server sent. */
const received = (status: ReturnType<typeof toGrpcStatus>) => Object.assign(new Error(status.details), status);

describe('runtime error mapping', () => {
  it.each([
    [errors.notFound('containers', 'web'), Code.NOT_FOUND],
    [errors.alreadyExists('volumes', 'data'), Code.ALREADY_EXISTS],
    [errors.conflict('containers', 'web', 'it runs'), Code.FAILED_PRECONDITION],
    [errors.badRequest('bad'), Code.INVALID_ARGUMENT],
    [errors.unavailable('down'), Code.UNAVAILABLE],
    [errors.internal('boom'), Code.INTERNAL],
  ])('round-trips %s through gRPC code %i', (err, code) => {
    const status = toGrpcStatus(err);
    expect(status.code).toBe(code);
    const back = fromGrpcError(received(status), '/run/x.sock');
    expect(back).toBeInstanceOf(BerthError);
    expect(back).toMatchObject({ reason: err.reason, message: err.message });
  });

  it('keeps field causes of an Invalid error', () => {
    const err = errors.invalid('container', 'web', [field.required('image')]);
    const back = fromGrpcError(received(toGrpcStatus(err)), '/run/x.sock');
    expect(isBerthError(back, 'Invalid')).toBe(true);
    expect(back.details.causes).toEqual([field.required('image')]);
  });

  it('reports a plain error as InternalError, and an unreachable daemon as ServiceUnavailable with the socket', () => {
    expect(fromGrpcError(received(toGrpcStatus(new Error('oops'))), '/s')).toMatchObject({ reason: 'InternalError', message: 'oops' });
    const unreachable = Object.assign(new Error('14 UNAVAILABLE'), { code: Code.UNAVAILABLE, details: 'No connection established. Last error: Error: connect ENOENT /s', metadata: new Metadata() });
    expect(fromGrpcError(unreachable, '/s')).toMatchObject({ reason: 'ServiceUnavailable', message: 'cannot reach runtimed at /s: ENOENT (is `berth runtimed` running?)' });
  });
});
