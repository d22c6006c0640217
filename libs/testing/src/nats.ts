import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulatedHost } from './hosts';
import { freePort } from './server';

export interface TestNatsServer {
  /** `nats://127.0.0.1:PORT` */
  url: string;
  stop(): Promise<void>;
}

/** Room for berth's 1.5 MiB values plus the envelope (NATS' default max_payload is 1 MiB). */
const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

function acceptsConnections(host: string, port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host, port });
    socket.once('data', (banner) => {
      socket.destroy();
      resolveProbe(banner.toString().startsWith('INFO'));
    });
    socket.once('error', () => resolveProbe(false));
  });
}

interface NatsProcess {
  stop(): Promise<void>;
  /** kill -9, leaving its store for a restart. */
  kill9(): Promise<void>;
  /** Starts it again on the same ports and store (after kill9 or stop). */
  restart(): Promise<void>;
  /** Its log (stderr) so far, across restarts. */
  output(): string;
  /** SIGSTOP: it stays in the cluster but answers nothing (a replica that lags), until thaw (SIGCONT). */
  freeze(): void;
  thaw(): void;
}

/**
 * One nats-server with `args` (in `host`'s network namespace when given, on loopback otherwise), waiting
 * until it accepts clients on `port`; `onStop` runs after every stop.
 */
async function runNatsServer(args: string[], port: number, onStop: () => void, host?: SimulatedHost): Promise<NatsProcess> {
  const start = () => (host ? host.spawn('nats-server', args).child : spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let child = start();
  let output = '';
  let exited: Promise<void>;
  const running = () => child.exitCode === null && child.signalCode === null;
  const launch = async () => {
    if (child.exitCode !== null || child.signalCode !== null) child = start();
    child.stderr!.on('data', (d) => (output += d));
    exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    const deadline = Date.now() + 20_000;
    while (!(await acceptsConnections(host?.ip ?? '127.0.0.1', port))) {
      if (!running() || Date.now() > deadline) {
        await halt('SIGKILL');
        throw new Error(`nats-server did not start on port ${port}:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (running()) {
      child.kill(signal);
      const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(escalate);
    }
  };
  try {
    await launch();
  } catch (err) {
    onStop();
    throw err;
  }
  return {
    stop: async () => {
      await halt('SIGTERM');
      onStop();
    },
    kill9: () => halt('SIGKILL'),
    restart: launch,
    output: () => output,
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
  };
}

/** Runs Debian's `nats-server -js` on a free port with its store in a temp dir; waits until it accepts clients. */
export async function startNatsServer(): Promise<TestNatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-nats-'));
  const config = join(dir, 'nats.conf');
  writeFileSync(config, `max_payload: ${MAX_PAYLOAD_BYTES}\n`);
  const port = await freePort();
  const server = await runNatsServer(['-c', config, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'jetstream')], port, () =>
    rmSync(dir, { recursive: true, force: true }),
  );
  return { url: `nats://127.0.0.1:${port}`, stop: server.stop };
}

export interface TestNatsCluster {
  /** Every node's client URL, comma-separated: `nats://127.0.0.1:P1,127.0.0.1:P2,...` (a berth store URL's host list). */
  url: string;
  /** The nodes, each with its own client URL. */
  nodes: Array<{ url: string; name: string } & Omit<NatsProcess, 'stop'>>;
  /** Stops every node and removes their stores. */
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-servers on loopback (each routed to every other), each with its
 * store in a temp dir; resolves once the cluster has a JetStream meta leader (streams can be made).
 */
export function startNatsCluster(size: number): Promise<TestNatsCluster> {
  return startCluster(Array.from({ length: size }, () => undefined));
}

/**
 * A JetStream cluster of one nats-server in each of `hosts` (simulated hosts: network namespaces), each
 * listening on its host's address and routed to the others', with its store in a temp dir; a node cut off
 * with its host is cut off from the cluster. Resolves once the cluster has a JetStream meta leader.
 */
export function startNatsClusterOn(hosts: SimulatedHost[]): Promise<TestNatsCluster> {
  return startCluster(hosts);
}

async function startCluster(hosts: Array<SimulatedHost | undefined>): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-nats-cluster-'));
  const address = (i: number) => hosts[i]?.ip ?? '127.0.0.1';
  const clientPorts: number[] = [];
  const clusterPorts: number[] = [];
  for (let i = 0; i < hosts.length; i++) {
    clientPorts.push(await freePort());
    clusterPorts.push(await freePort());
  }
  const processes: NatsProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const clientAddresses = clientPorts.map((p, i) => `${address(i)}:${p}`);
  try {
    await Promise.all(
      clientPorts.map(async (port, i) => {
        const config = join(dir, `n${i}.conf`);
        const routes = clusterPorts.filter((_, j) => j !== i).map((p, j) => `nats-route://${address(j < i ? j : j + 1)}:${p}`);
        writeFileSync(
          config,
          [
            `server_name: n${i}`,
            `max_payload: ${MAX_PAYLOAD_BYTES}`,
            `listen: ${clientAddresses[i]}`,
            `jetstream { store_dir: "${join(dir, `n${i}`)}" }`,
            `cluster { name: berth-test, listen: ${address(i)}:${clusterPorts[i]}, routes: [${routes.join(', ')}] }`,
            '',
          ].join('\n'),
        );
        processes[i] = await runNatsServer(['-c', config], port, () => undefined, hosts[i]);
      }),
    );
    await jetStreamReady(clientAddresses);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `nats://${clientAddresses.join(',')}`,
    nodes: processes.map((p, i) => ({ url: `nats://${clientAddresses[i]}`, name: `n${i}`, kill9: p.kill9, restart: p.restart, output: p.output, freeze: p.freeze, thaw: p.thaw })),
    stop,
  };
}

/** Waits (30 s at most) until JetStream answers account info: the cluster elected its meta leader. */
async function jetStreamReady(servers: string[]): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { connect } = require('nats') as typeof import('nats');
  const nc = await connect({ servers, maxReconnectAttempts: -1 });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await (await nc.jetstreamManager()).getAccountInfo();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the NATS cluster has no JetStream meta leader after 30 s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}
