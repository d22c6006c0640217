import type { Pod } from '@berth/api';
import { BerthError } from '@berth/errors';
import { resourcePath, Transport, type QueryValue } from '@berth/client';
import { logQuery, prefixedWriter } from '../logs';
import { watchUntil } from '../workloads';
import { containerView, logPrefixes, mainContainerStatus, replicaName } from './format';
import { ONEOFF_LABEL, projectSelector, serviceOf, TYPES, type ComposeProjectScope } from './project';

export interface ComposeLogsOptions {
  follow?: boolean;
  timestamps?: boolean;
  /** Lines from the end of each container's log; `all` (compose's default) or absent: everything. */
  tail?: string;
  since?: string;
  color?: boolean;
  logPrefix?: boolean;
}

/** `--tail N|all` as compose takes it. */
export function parseTail(text: string | undefined): number | undefined {
  if (text === undefined || text === 'all') return undefined;
  if (!/^\d+$/.test(text)) throw new BerthError('BadRequest', `invalid value ${JSON.stringify(text)} for --tail: a number of lines or "all"`);
  return Number(text);
}

/** GET pods/{pod}/log with this query, every chunk handed to `out`, until the server ends it. */
export async function streamPodLog(transport: Transport, namespace: string, pod: string, query: Record<string, QueryValue>, out: { write(chunk: Buffer): void; end(): void }): Promise<void> {
  const { response } = await transport.stream({
    method: 'GET',
    path: resourcePath(TYPES.pods, { namespace, name: pod, subresource: 'log' }),
    query,
    accept: 'application/json, */*',
  });
  await new Promise<void>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => out.write(chunk));
    response.on('end', () => (out.end(), resolve()));
    response.on('error', (err) => reject(new BerthError('ServiceUnavailable', `error reading the logs of pod ${pod}: ${err.message}`)));
  });
}

interface Stream {
  pod: Pod;
  name: string;
  service: string;
}

/**
 * `berth compose logs [SERVICE...]`: every container's log, each line behind its `web-1  | ` prefix (one
 * colour per service on a terminal). Without -f the logs come one container after another; with -f all at
 * once, and the containers that start later (new pods, restarts) join as they start, until interrupted.
 */
export async function composeLogs(scope: ComposeProjectScope, services: string[], options: ComposeLogsOptions): Promise<void> {
  const session = scope.session;
  const tail = parseTail(options.tail);
  const query = (pod: Pod) =>
    logQuery(pod.spec?.containers?.[0]?.name ?? '', { follow: options.follow, timestamps: options.timestamps, tail, since: options.since });
  logQuery('', { since: options.since }); // a bad --since fails before anything is read
  await scope.selectWorkloads(services);
  const wanted = (pod: Pod) => (services.length === 0 || services.includes(serviceOf(pod))) && pod.metadata.labels?.[ONEOFF_LABEL] !== 'True';
  const pods = (await scope.pods()).filter(({ pod }) => wanted(pod));
  const streams: Stream[] = pods.map(({ pod, service, index }) => ({ pod, service, name: replicaName(service, index) }));
  const colour = options.color !== false && !!process.stdout.isTTY && !process.env.NO_COLOR;
  let prefixes = logPrefixes(streams, colour);
  const prefixOf = (stream: Stream) => {
    if (!prefixes.has(stream.name)) {
      // A container that joined later: the prefixes are laid out again with it (those printed stay as they were).
      streams.push(stream);
      prefixes = logPrefixes(streams, colour);
    }
    return options.logPrefix === false ? '' : (prefixes.get(stream.name) ?? '');
  };

  const transport = new Transport(session.connection, { userAgent: 'berth-cli' });
  const read = async (stream: Stream) => {
    const prefix = prefixOf(stream);
    const out = prefix ? prefixedWriter(prefix) : { write: (chunk: Buffer) => void process.stdout.write(chunk), end: () => undefined };
    try {
      await streamPodLog(transport, scope.name, stream.pod.metadata.name ?? '', query(stream.pod), out);
    } catch (err) {
      // A container that has not started (or is gone) has no log yet: compose shows nothing for it either.
      if (!options.follow) session.fail(err);
    }
  };

  try {
    const hasStarted = (pod: Pod) => containerView(pod).state !== 'created' || !!mainContainerStatus(pod)?.lastState?.terminated;
    if (!options.follow) {
      for (const stream of streams) if (hasStarted(stream.pod)) await read(stream);
      return;
    }
    // Follow: one stream per container run (pod uid and restart count), started when the container is.
    const followed = new Set<string>();
    const counts = new Map<string, number>(pods.map(({ service, index }) => [service, index]));
    const names = new Map<string, string>(streams.map((s) => [s.pod.metadata.uid ?? '', s.name]));
    const follow = (pod: Pod) => {
      if (!wanted(pod) || pod.metadata.deletionTimestamp || containerView(pod).state !== 'running') return;
      const key = `${pod.metadata.uid}/${mainContainerStatus(pod)?.restartCount ?? 0}`;
      if (followed.has(key)) return;
      followed.add(key);
      const service = serviceOf(pod);
      let name = names.get(pod.metadata.uid ?? '');
      if (!name) {
        const index = (counts.get(service) ?? 0) + 1;
        counts.set(service, index);
        name = replicaName(service, index);
        names.set(pod.metadata.uid ?? '', name);
      }
      void read({ pod, service, name });
    };
    // Follow the project's pods until interrupted: watchUntil lists and watches again when a stream ends.
    await watchUntil<Pod, never>(session, TYPES.pods, { namespace: scope.name, labelSelector: projectSelector(scope.name) }, (current) => {
      current.forEach(follow);
      return undefined;
    });
  } finally {
    transport.close();
  }
}
