/**
 * The highly available control plane beside a single server, in one run (issue 13's numbers): one server on
 * sqlite, one on a one-node NATS, and three servers on a three-node NATS cluster (buckets with 3 replicas,
 * one cluster identity), each running its scheduler and controllers as a real server does. For each: the
 * same ConfigMap creates from 8 concurrent clients (spread over the three servers in turn), their latency,
 * and watch delivery (a create's answer → its ADDED event on a watch of another server than the writer's,
 * the same server when there is one). Then, on the three servers, the failover: kill -9 the server that
 * holds the scheduler Lease, create a pod for a hollow node, and time until it is bound.
 */
import { resourceForKind, type Lease, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { startBerthServer, startNatsCluster, startNatsServer, waitFor, type TestServer } from '@berth/testing';
import { DEFAULT_SCHEDULER_NAME } from '@berth/scheduler';
import { clientFor, createPod, PODS } from '../scheduler/cluster';
import { Client, configMap, timed } from './apiserver';
import { startHollowNodes } from './hollow-nodes';
import { percentile } from './stats';

const OBJECTS = Number(process.env.BERTH_BENCH_HA_OBJECTS ?? 1000);
/** Creates before the measured ones, on names the watches ignore: TLS connections open, code warm. */
const WARM_UP = 100;
const CLIENTS = 8;
/** Any token will do: it seals the identity the three servers share in their store. */
const SERVER_TOKEN = 'ha-bench-token';
const LEASES = resourceForKind('coordination.k8s.io/v1', 'Lease')!;
const SCHEDULER_LEASE = 'kube-scheduler';
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const MEASURED = 'cm-';

/** Issue 13's goals: the three servers keep half the single server's write rate; a new scheduler binds within 15 s. */
const WRITE_RATE_GOAL = 0.5;
const FAILOVER_GOAL_SECONDS = 15;

interface Figures {
  label: string;
  /** As the ratios name it: `3 servers / 1 sqlite`. */
  short: string;
  createsPerSecond: number;
  writeP50Ms: number;
  writeP99Ms: number;
  watchP99Ms: number;
  /** Why the server ended a watch during the creates (each was opened again from a new list). */
  watchesEnded: string[];
  /** Creates whose event a watch that ended did not deliver (its client relisted). */
  relisted: number;
}

/**
 * Creates OBJECTS ConfigMaps through the servers in turn (create i through server i mod n), with one watch
 * per server; create i's delivery is timed on the watch of server i+1 mod n, another than its writer's.
 * A watch the server ends (410 Gone: its history is not there) is opened again as a client would, from a
 * new list: the creates it had not delivered by then are counted as relisted, not timed.
 */
async function measureWrites(label: string, short: string, servers: TestServer[]): Promise<Figures> {
  const clients = servers.map((server) => new Client(server));
  const watches: Array<ReturnType<Client['watch']>> = [];
  const ended: string[] = [];
  let measuring = true;
  try {
    const create = async (client: Client, name: string) => {
      const res = await client.call('POST', CONFIGMAPS, configMap(name));
      if (res.status !== 201) throw new Error(`${label}: create ${name}: HTTP ${res.status} ${res.body}`);
      return Number(JSON.parse(res.body).metadata.resourceVersion);
    };
    await timed(WARM_UP, CLIENTS, async (i) => void (await create(clients[i % clients.length], `warm-up-${i}`)));

    const revisions: number[] = [];
    const ackedAt: number[] = [];
    const arrivedAt: number[] = [];
    const relisted = new Set<number>();
    const watchedBy = (i: number) => (i + 1) % clients.length;
    const listRevision = async (client: Client) => Number(JSON.parse((await client.call('GET', `${CONFIGMAPS}?limit=1`)).body).metadata.resourceVersion);
    const openWatch = async (w: number, from: number): Promise<void> => {
      const watch = clients[w].watch(
        `${CONFIGMAPS}?watch=1&resourceVersion=${from}`,
        (name, at) => {
          if (!name?.startsWith(MEASURED)) return;
          const i = Number(name.slice(MEASURED.length));
          if (watchedBy(i) === w && arrivedAt[i] === undefined) arrivedAt[i] = at;
        },
        (why) => {
          if (!measuring) return;
          ended.push(`server ${w}: ${why}`);
          void listRevision(clients[w]).then((relistedAt) => {
            // What the new list holds and the old watch had not delivered will never arrive as an event.
            for (const [i, revision] of revisions.entries()) if (watchedBy(i) === w && revision <= relistedAt && arrivedAt[i] === undefined) relisted.add(i);
            return openWatch(w, relistedAt);
          });
        },
      );
      watches[w] = watch;
      await watch.opened;
    };
    const from = await listRevision(clients[0]);
    for (let w = 0; w < clients.length; w++) await openWatch(w, from);

    const writes = await timed(OBJECTS, CLIENTS, async (i) => {
      revisions[i] = await create(clients[i % clients.length], `${MEASURED}${i}`);
      ackedAt[i] = performance.now();
    });
    const accounted = () => arrivedAt.filter((at, i) => at !== undefined && !relisted.has(i)).length + relisted.size;
    await waitFor(() => accounted() === OBJECTS, 60_000, `${label}: the watches to deliver all ${OBJECTS} creates`).catch((err: Error) => {
      const missing = revisions.map((_, i) => i).filter((i) => arrivedAt[i] === undefined && !relisted.has(i));
      throw new Error(`${err.message}; ${missing.length} missing (first ${missing.slice(0, 5).map((i) => MEASURED + i).join(', ')}); watches ended: ${ended.join('; ') || 'none'}`);
    });

    const latencies = [...writes.latenciesMs].sort((a, b) => a - b);
    // An event may arrive before its create's answer is read: its delivery took no time after the answer.
    const deliveries = ackedAt.flatMap((acked, i) => (arrivedAt[i] === undefined || relisted.has(i) ? [] : [Math.max(0, arrivedAt[i] - acked)])).sort((a, b) => a - b);
    return {
      label,
      short,
      createsPerSecond: writes.count / writes.seconds,
      writeP50Ms: percentile(latencies, 50),
      writeP99Ms: percentile(latencies, 99),
      watchP99Ms: percentile(deliveries, 99),
      watchesEnded: ended,
      relisted: relisted.size,
    };
  } finally {
    measuring = false;
    for (const watch of watches) watch.close();
    for (const client of clients) client.close();
  }
}

/** The identity a server competes for its Leases under, from its first leader election log line. */
const identityOf = (server: TestServer) => /"identity":"([^"]+)"/.exec(server.output())?.[1];

/**
 * kill -9 the server holding the scheduler Lease, create a pod, and time until a new leader bound it (s).
 * A hollow node (a real agent over a fake runtime, through a server that stays) is the node it binds to.
 */
async function measureFailover(servers: TestServer[]): Promise<{ seconds: number; node: string }> {
  const clients = servers.map(clientFor);
  try {
    const holder = async (client: KubeClient) => (await client.get<Lease>(LEASES, SCHEDULER_LEASE, { namespace: 'kube-system' })).spec?.holderIdentity;
    const leader = await waitFor(
      async () => {
        const identity = await holder(clients[0]);
        return servers.find((s) => identityOf(s) === identity);
      },
      60_000,
      'a server to hold the scheduler Lease',
    );
    const survivors = servers.filter((s) => s !== leader);
    const client = clients[servers.indexOf(survivors[0])];
    // The standbys compete: each has read the Lease and named its holder.
    await waitFor(() => survivors.every((s) => s.output().includes('new leader observed')), 60_000, 'the standby servers to observe the leader');

    const nodes = await startHollowNodes(survivors[0].kubeconfigPath, 1, 1);
    try {
      const bound = (name: string) => async () => (await client.get<Pod>(PODS, name, { namespace: 'default' })).spec?.nodeName;
      // The node is Ready and the leader binds to it: what the next leader must do again.
      await createPod(client, 'before-failover', { schedulerName: DEFAULT_SCHEDULER_NAME });
      await waitFor(bound('before-failover'), 60_000, 'the pod before the failover to be bound');

      const killed = performance.now();
      await leader.kill9();
      await createPod(client, 'after-failover', { schedulerName: DEFAULT_SCHEDULER_NAME });
      const node = await waitFor(bound('after-failover'), 120_000, 'the pod after the failover to be bound');
      const seconds = (performance.now() - killed) / 1000;
      const newHolder = await holder(client);
      if (!survivors.some((s) => identityOf(s) === newHolder)) throw new Error(`after the failover the scheduler Lease names ${newHolder}, none of the servers left`);
      return { seconds, node };
    } finally {
      await nodes.stop();
    }
  } finally {
    for (const client of clients) client.close();
  }
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

function printFigures(all: Figures[]): void {
  const [sqlite] = all;
  const width = Math.max(...all.map((f) => f.label.length));
  const line = (figure: string, f: Figures, value: string, ratio: number, goal = '') =>
    console.log(`ha ${figure.padEnd(16)} ${f.label.padEnd(width)}  ${value.padStart(9)}` + (f === sqlite || Number.isNaN(ratio) ? '' : `  ${f.short} / ${sqlite.short}: ${ratio.toFixed(2)}x`) + goal);
  for (const f of all) {
    const ratio = f.createsPerSecond / sqlite.createsPerSecond;
    const goal = f === all[all.length - 1] ? `  (goal ≥ ${WRITE_RATE_GOAL.toFixed(2)}x: ${verdict(ratio >= WRITE_RATE_GOAL)})` : '';
    line('creates/s', f, f.createsPerSecond.toFixed(0), ratio, goal);
  }
  for (const f of all) line('write p50', f, ms(f.writeP50Ms), f.writeP50Ms / sqlite.writeP50Ms);
  for (const f of all) line('write p99', f, ms(f.writeP99Ms), f.writeP99Ms / sqlite.writeP99Ms);
  for (const f of all) line('watch p99', f, ms(f.watchP99Ms), f.watchP99Ms / sqlite.watchP99Ms, all.length > 1 && f === all[all.length - 1] ? '  (watch on another server than the writer)' : '');
  for (const f of all) {
    const first = f.watchesEnded[0];
    line('watches ended', f, String(f.watchesEnded.length), NaN, first ? `  (${f.relisted} creates relisted, not timed; first: ${first})` : '');
  }
}

export async function benchHa(): Promise<void> {
  console.log(`\n== ha (${OBJECTS} ConfigMaps per setup, ${CLIENTS} concurrent clients, HTTPS on loopback; every server runs its scheduler and controllers) ==`);
  const figures: Figures[] = [];

  const sqlite = await startBerthServer({ controlLoops: true });
  try {
    figures.push(await measureWrites('1 server, sqlite', '1 sqlite', [sqlite]));
  } finally {
    await sqlite.cleanup();
  }

  const nats = await startNatsServer();
  try {
    const server = await startBerthServer({ controlLoops: true, store: `${nats.url}?bucket=bench_ha` });
    try {
      figures.push(await measureWrites('1 server, 1-node NATS', '1 NATS', [server]));
    } finally {
      await server.cleanup();
    }
  } finally {
    await nats.stop();
  }

  const cluster = await startNatsCluster(3);
  const servers: TestServer[] = [];
  try {
    const options = { controlLoops: true, store: `${cluster.url}?bucket=bench_ha`, extraArgs: ['--store-replicas', '3', '--token', SERVER_TOKEN] };
    // One after the other: the first writes the cluster's identity, the others open it.
    for (let i = 0; i < 3; i++) servers.push(await startBerthServer(options));
    figures.push(await measureWrites('3 servers, 3-node NATS (R3)', '3 servers', servers));
    printFigures(figures);
    const failover = await measureFailover(servers);
    console.log(
      `ha failover         3 servers: scheduler Lease holder killed -9 → next pod bound (on ${failover.node}) in ${failover.seconds.toFixed(1)} s  ` +
        `(goal ≤ ${FAILOVER_GOAL_SECONDS} s: ${verdict(failover.seconds <= FAILOVER_GOAL_SECONDS)})`,
    );
  } finally {
    for (const server of servers) await server.cleanup();
    await cluster.stop();
  }
}
