import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mustRun, runCommand } from './exec';

const internalError = (message: string | RegExp) => expect.objectContaining({ reason: 'InternalError', message: typeof message === 'string' ? message : expect.stringMatching(message) });

describe('host tools', () => {
  it('feeds stdin and collects both outputs and the exit code, without rejecting a failure', async () => {
    const result = await runCommand('sh', ['-c', 'cat; echo oops >&2; exit 3'], 'hello');
    expect(result).toEqual({ code: 3, stdout: 'hello', stderr: 'oops\n', timedOut: false });
  });

  it('resolves to stdout when the tool succeeds, in the directory and environment asked for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-host-'));
    try {
      expect(await mustRun('pwd', [], { cwd: dir })).toBe(`${dir}\n`);
      expect(await mustRun('cat', [], { input: 'in' })).toBe('in');
      expect(await mustRun('sh', ['-c', 'echo "$ONLY_THIS"; echo "${HOME:-no home}"'], { env: { ONLY_THIS: 'set', PATH: process.env.PATH } })).toBe('set\nno home\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with the command (or the step named) and its stderr, else stdout, as an InternalError', async () => {
    await expect(mustRun('sh', ['-c', 'echo "no such device" >&2; exit 2'])).rejects.toEqual(internalError('sh -c echo "no such device" >&2; exit 2 failed with exit 2: no such device'));
    await expect(mustRun('sh', ['-c', 'echo only-stdout; exit 1'])).rejects.toEqual(internalError(/failed with exit 1: only-stdout$/));
    await expect(mustRun('sh', ['-c', 'exit 4', 'long', 'arguments'], { what: 'doing the step' })).rejects.toEqual(internalError('doing the step failed with exit 4: no output'));
  });

  it('kills a tool that outlives its timeout and says so', async () => {
    expect(await runCommand('sleep', ['30'], { timeoutMs: 50 })).toMatchObject({ code: null, timedOut: true });
    await expect(mustRun('sleep', ['30'], { timeoutMs: 50 })).rejects.toEqual(internalError('sleep 30 was killed after its timeout: no output'));
  });

  it('rejects a tool that does not exist as an InternalError', async () => {
    await expect(runCommand('berth-no-such-tool', [])).rejects.toEqual(internalError(/^berth-no-such-tool could not start: .*ENOENT/));
  });
});
