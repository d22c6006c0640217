import { execQuery, exitCodeFromStatus } from './exec';
import { logQuery } from './logs';

describe('logs query', () => {
  it('is what kubectl sends for its flags', () => {
    expect(logQuery('c', { follow: true, tail: 2, since: '1h', timestamps: true, previous: true })).toEqual({
      container: 'c', follow: true, previous: true, sinceSeconds: 3600, tailLines: 2, timestamps: true,
    });
    expect(logQuery('c', { tail: -1 })).toEqual({ container: 'c' });
    expect(logQuery('c', { since: '1500ms' }).sinceSeconds).toBe(2);
  });
});

describe('exec', () => {
  it('asks for one command parameter per argument, and no stderr with a terminal', () => {
    expect(execQuery(['sh', '-c', 'ls'], 'main', {})).toEqual({ command: ['sh', '-c', 'ls'], container: 'main', stdout: true, stderr: true });
    expect(execQuery(['sh'], 'main', { stdin: true, tty: true })).toEqual({ command: ['sh'], container: 'main', stdin: true, stdout: true, tty: true });
  });

  it("adds berth's env, workingDir and user parameters only when given (kubectl's query otherwise)", () => {
    expect(execQuery(['env'], 'main', { env: ['A=1', 'B=2'], workingDir: '/tmp', user: 'nobody' })).toEqual({
      command: ['env'], container: 'main', stdout: true, stderr: true, env: ['A=1', 'B=2'], workingDir: '/tmp', user: 'nobody',
    });
    expect(Object.keys(execQuery(['env'], 'main', { env: [] }))).toEqual(['command', 'container', 'stdin', 'stdout', 'stderr', 'tty']);
  });

  it('exits with the code of the channel-3 status', () => {
    expect(exitCodeFromStatus(undefined)).toBe(0);
    expect(exitCodeFromStatus({ metadata: {}, status: 'Success' })).toBe(0);
    expect(exitCodeFromStatus({ metadata: {}, status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } })).toBe(3);
    expect(() => exitCodeFromStatus({ metadata: {}, status: 'Failure', reason: 'InternalError', message: 'no such container' })).toThrow('no such container');
  });
});
