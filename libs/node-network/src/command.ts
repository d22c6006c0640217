import { BerthError } from '@berth/errors';
import { spawn } from 'node:child_process';

export interface CommandOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TIMEOUT_MS = 30_000;

/** Runs a host tool (nft, ip) with optional stdin and collects its output; never rejects for a non-zero exit. */
export function runCommand(command: string, args: readonly string[], input?: string): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new BerthError('InternalError', `${command} could not start: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like runCommand, but a failure is a BerthError naming the command and what it printed. */
export async function mustRun(command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await runCommand(command, args, input);
  if (result.code !== 0) {
    const output = (result.stderr.trim() || result.stdout.trim() || 'no output').slice(0, 2000);
    throw new BerthError('InternalError', `${command} ${args.join(' ')} failed with exit ${result.code ?? 'by signal'}: ${output}`);
  }
  return result.stdout;
}
