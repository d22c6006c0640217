import { BerthError } from '@berth/errors';
import { QueryValue, resourcePath, Transport } from '@berth/client';
import type { Session } from '../session';
import { chooseContainer, parseDurationFlag, POD_TYPE, resolvePod } from './workloads';

export interface LogsOptions {
  follow?: boolean;
  /** Lines from the end; -1 (kubectl's default) or absent: all. */
  tail?: number;
  timestamps?: boolean;
  container?: string;
  since?: string;
  previous?: boolean;
}

/** The pods/log query kubectl sends for these flags. */
export function logQuery(container: string, options: LogsOptions): Record<string, QueryValue> {
  const sinceMs = options.since ? parseDurationFlag(options.since, 'since') : 0;
  return {
    container,
    follow: options.follow || undefined,
    previous: options.previous || undefined,
    sinceSeconds: sinceMs > 0 ? Math.ceil(sinceMs / 1000) : undefined,
    tailLines: options.tail !== undefined && options.tail >= 0 ? options.tail : undefined,
    timestamps: options.timestamps || undefined,
  };
}

/**
 * `berth logs POD [CONTAINER]` or `TYPE/NAME` (a deployment's or replica set's pod, picked as kubectl
 * does): streams GET pods/{pod}/log to stdout until the server ends it (with -f, when the container stops).
 */
export async function logs(session: Session, args: string[], options: LogsOptions): Promise<void> {
  const [target, containerArg, ...extra] = args;
  if (extra.length > 0 || (containerArg && options.container)) {
    throw new BerthError('BadRequest', 'berth logs takes POD [CONTAINER] or TYPE/NAME, and the container either as an argument or with -c');
  }
  if (containerArg && target.includes('/')) throw new BerthError('BadRequest', 'a container is named with -c when the pod is given as TYPE/NAME');
  const query = logQuery('', options);
  const pod = await resolvePod(session, target, { sayWhich: true });
  const name = pod.metadata.name ?? '';
  query.container = chooseContainer(pod, options.container ?? containerArg);
  const transport = new Transport(session.connection, { userAgent: 'berth-cli' });
  try {
    const { response } = await transport.stream({
      method: 'GET',
      path: resourcePath(POD_TYPE, { namespace: session.namespace, name, subresource: 'log' }),
      query,
      accept: 'application/json, */*',
    });
    await new Promise<void>((resolve, reject) => {
      response.on('data', (chunk: Buffer) => process.stdout.write(chunk));
      response.on('end', resolve);
      response.on('error', (err) => reject(new BerthError('ServiceUnavailable', `error reading the logs of pod ${name}: ${err.message}`)));
    });
  } finally {
    transport.close();
  }
}
