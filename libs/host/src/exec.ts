import { BerthError } from '@berth/errors';
import { spawn } from 'node:child_process';

export interface CommandOutput {
  /** The exit code; null when a signal ended the tool (also after a timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The tool ran longer than its timeout and was killed. */
  timedOut: boolean;
}

export interface RunOptions {
  /** Written to the tool's stdin, which is then closed. */
  input?: string;
  cwd?: string;
  /** The tool's whole environment; the caller's when omitted. */
  env?: NodeJS.ProcessEnv;
  /** The tool is killed after this long; default 30 s, 0 for never. */
  timeoutMs?: number;
  /** mustRun's errors name this step (`mounting overlay on /x`) rather than the command line, when that is long or says little. */
  what?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Enough of a tool's complaint to act on, without a screenful of it in one error line. */
const MAX_OUTPUT_IN_ERROR = 2000;

/**
 * Runs a host tool (ip, nft, mount, unshare, runc...) and collects its output; never rejects for a
 * non-zero exit (callers that expect some failures look at `code`). A string `options` is stdin.
 */
export function runCommand(command: string, args: readonly string[], options: RunOptions | string = {}): Promise<CommandOutput> {
  const { input, cwd, env, timeoutMs = DEFAULT_TIMEOUT_MS } = runOptions(options);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A tool that exits without reading its stdin must not fail the run with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new BerthError('InternalError', `${command} could not start: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** Like runCommand, but resolves to stdout only when the tool succeeded; otherwise a BerthError naming the command and what it printed. */
export async function mustRun(command: string, args: readonly string[], options: RunOptions | string = {}): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) throw commandFailure(runOptions(options).what ?? `${command} ${args.join(' ')}`, result);
  return result.stdout;
}

function runOptions(options: RunOptions | string): RunOptions {
  return typeof options === 'string' ? { input: options } : options;
}

function commandFailure(what: string, result: CommandOutput): BerthError {
  const output = (result.stderr.trim() || result.stdout.trim() || 'no output').slice(0, MAX_OUTPUT_IN_ERROR);
  const how = result.timedOut ? 'was killed after its timeout' : `failed with exit ${result.code ?? 'by signal'}`;
  return new BerthError('InternalError', `${what} ${how}: ${output}`);
}
