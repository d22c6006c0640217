import { errors } from '@berth/errors';
import { execFile } from 'node:child_process';

/** Runs a host command; its stderr becomes the error's message. */
export function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(errors.internal(`${command} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}
