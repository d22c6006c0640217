import { BerthError, errors } from '@berth/errors';
import { errorFromResponse, StatusError } from '@berth/client';
import { formatError, inContext } from './errors';

describe('formatError', () => {
  it('prints server errors with their reason', () => {
    const notFound = errorFromResponse(404, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', message: 'pods "x" not found', code: 404 }));
    expect(formatError(notFound)).toBe('Error from server (NotFound): pods "x" not found');
  });

  it('keeps a reason the vocabulary does not have', () => {
    expect(formatError(new StatusError('Compacted', 'too old resource version: 1 (2)', {}, 410, 'Expired'))).toBe('Error from server (Expired): too old resource version: 1 (2)');
  });

  it('prints connection failures as kubectl does, and client errors after error:', () => {
    expect(formatError(errors.unavailable('The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?'))).toBe(
      'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?',
    );
    expect(formatError(new BerthError('NotFound', 'the server doesn\'t have a resource type "foo"'))).toBe('error: the server doesn\'t have a resource type "foo"');
    expect(formatError(new TypeError('boom'))).toBe('error: boom');
    expect(formatError('odd')).toBe('error: odd');
  });

  it('always gives one line', () => {
    expect(formatError(new Error('first\n  second\n'))).toBe('error: first second');
  });

  it('adds context to server errors only', () => {
    const err = new StatusError('NotFound', 'deployments.apps "web" not found', {}, 404, 'NotFound');
    expect(formatError(inContext(err, 'error when deleting "app.yaml"'))).toBe('Error from server (NotFound): error when deleting "app.yaml": deployments.apps "web" not found');
    const local = new Error('x');
    expect(inContext(local, 'ctx')).toBe(local);
  });
});
