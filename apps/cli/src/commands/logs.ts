import { BerthError } from '@berth/errors';
import { QueryValue, resourcePath, Transport } from '@berth/client';
import type { Pod } from '@berth/api';
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
  /** `-l`: the logs of every pod matching this label selector. */
  selector?: string;
  allContainers?: boolean;
  prefix?: boolean;
  maxLogRequests?: number;
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

/** One log stream: a pod's container. */
export interface LogSource {
  pod: Pod;
  container: string;
}

/** Every container of the pod, in kubectl's --all-containers order: init, regular, ephemeral. */
export function allContainers(pod: Pod): string[] {
  const spec = pod.spec as { initContainers?: { name: string }[]; containers?: { name: string }[]; ephemeralContainers?: { name: string }[] } | undefined;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])].map((c) => c.name);
}

/** Writes a stream's text with `prefix` in front of every line (lines split across chunks kept whole). */
function prefixedWriter(prefix: string): { write(chunk: Buffer): void; end(): void } {
  let partial = '';
  return {
    write(chunk) {
      const text = partial + chunk.toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      partial = text.slice(cut);
      if (cut > 0) process.stdout.write(text.slice(0, cut).replace(/^(?=.)|(?<=\n)(?=.)/gs, prefix));
    },
    end() {
      if (partial !== '') process.stdout.write(`${prefix}${partial}`);
      partial = '';
    },
  };
}

/** Streams one container's log to stdout, each line after `prefix` when given (else logs' --prefix, if set). */
export async function streamLogs(session: Session, transport: Transport, source: LogSource, options: LogsOptions, prefix?: string): Promise<void> {
  const name = source.pod.metadata.name ?? '';
  const { response } = await transport.stream({
    method: 'GET',
    path: resourcePath(POD_TYPE, { namespace: source.pod.metadata.namespace ?? session.namespace, name, subresource: 'log' }),
    query: logQuery(source.container, options),
    accept: 'application/json, */*',
  });
  const linePrefix = prefix ?? (options.prefix ? `[pod/${name}/${source.container}] ` : undefined);
  const out = linePrefix !== undefined ? prefixedWriter(linePrefix) : { write: (chunk: Buffer) => void process.stdout.write(chunk), end: () => undefined };
  await new Promise<void>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => out.write(chunk));
    response.on('end', () => (out.end(), resolve()));
    response.on('error', (err) => reject(new BerthError('ServiceUnavailable', `error reading the logs of pod ${name}: ${err.message}`)));
  });
}

/**
 * `berth logs POD [CONTAINER]`, `TYPE/NAME` (a workload's pod, picked as kubectl does) or `-l SELECTOR`
 * (every matching pod, the last 10 lines each unless --tail says otherwise, as kubectl): streams GET
 * pods/{pod}/log to stdout until the server ends it (with -f, when the container stops). --all-containers
 * reads every container of each pod; --prefix marks each line with its pod and container. Without -f the
 * streams come one after another; with -f at once, at most --max-log-requests of them.
 */
export async function logs(session: Session, args: string[], options: LogsOptions): Promise<void> {
  const [target, containerArg, ...extra] = args;
  if (extra.length > 0 || (containerArg && options.container)) {
    throw new BerthError('BadRequest', 'berth logs takes POD [CONTAINER] or TYPE/NAME, and the container either as an argument or with -c');
  }
  if (options.selector !== undefined && target !== undefined) throw new BerthError('BadRequest', 'only a selector (-l) or a POD name is allowed');
  if (options.selector === undefined && target === undefined) throw new BerthError('BadRequest', 'berth logs needs a POD, TYPE/NAME or -l SELECTOR');
  if (containerArg && target.includes('/')) throw new BerthError('BadRequest', 'a container is named with -c when the pod is given as TYPE/NAME');
  if (options.allContainers && (options.container ?? containerArg) !== undefined) throw new BerthError('BadRequest', `--all-containers=true should not be specified with container name ${options.container ?? containerArg}`);
  logQuery('', options);
  let pods: Pod[];
  if (options.selector !== undefined) {
    pods = (await session.client.list<Pod>(POD_TYPE, { namespace: session.namespace, labelSelector: options.selector })).items;
    if (pods.length === 0) {
      session.notice(`No resources found in ${session.namespace} namespace.`);
      return;
    }
    // kubectl shows the last 10 lines of each pod a selector finds, unless --tail is given.
    options = { ...options, tail: options.tail ?? 10 };
  } else {
    pods = [await resolvePod(session, target, { sayWhich: true })];
  }
  const named = options.container ?? containerArg;
  const containersOf = (pod: Pod) => (options.allContainers ? allContainers(pod) : [chooseContainer(pod, named, (line) => session.notice(line))]);
  const sources = pods.flatMap((pod) => containersOf(pod).map((container) => ({ pod, container })));
  const limit = options.maxLogRequests ?? 5;
  if (options.follow && sources.length > limit) {
    throw new BerthError('BadRequest', `you are attempting to follow ${sources.length} log streams, but maximum allowed concurrency is ${limit}, use --max-log-requests to increase the limit`);
  }
  const transport = new Transport(session.connection, { userAgent: 'berth-cli' });
  try {
    if (options.follow) await Promise.all(sources.map((source) => streamLogs(session, transport, source, options)));
    else for (const source of sources) await streamLogs(session, transport, source, options);
  } finally {
    transport.close();
  }
}
