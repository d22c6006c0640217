import { BerthError } from '@berth/errors';
import { toJson, toYaml } from '../printers';
import type { Session } from '../session';

/** The CLI's own version: berth's release, shown as kubectl shows its client. */
export const CLIENT_VERSION = { gitVersion: 'v0.1.0-berth', major: '0', minor: '1', platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}` };

export interface VersionOptions {
  client?: boolean;
  output?: string;
}

/** `berth version`: the client's version and the server's `/version`. */
export async function version(session: Session, options: VersionOptions): Promise<void> {
  if (options.output !== undefined && !['json', 'yaml'].includes(options.output)) {
    throw new BerthError('BadRequest', `--output must be 'yaml' or 'json'`);
  }
  let serverVersion: Record<string, unknown> | undefined;
  let serverError: unknown;
  if (!options.client) {
    try {
      const answer = await session.client.request({ method: 'GET', path: '/version' });
      if (typeof answer !== 'object' || answer === null) throw new BerthError('InternalError', 'the server answered /version with something other than a JSON object');
      serverVersion = answer as Record<string, unknown>;
    } catch (err) {
      serverError = err;
    }
  }
  if (options.output) {
    const value = { clientVersion: CLIENT_VERSION, ...(serverVersion ? { serverVersion } : {}) };
    session.out(options.output === 'json' ? toJson(value) : toYaml(value));
  } else {
    session.out(`Client Version: ${CLIENT_VERSION.gitVersion}`);
    if (serverVersion) session.out(`Server Version: ${String(serverVersion.gitVersion ?? '')}`);
  }
  if (serverError) throw serverError;
}
