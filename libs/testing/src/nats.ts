import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server';

export interface TestNatsServer {
  /** `nats://127.0.0.1:PORT` */
  url: string;
  stop(): Promise<void>;
}

/** Room for berth's 1.5 MiB values plus the envelope (NATS' default max_payload is 1 MiB). */
const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host: '127.0.0.1', port });
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
}

/** One nats-server with `args`, waiting until it accepts clients on `port`; `onStop` runs after every stop. */
async function runNatsServer(args: string[], port: number, onStop: () => void): Promise<NatsProcess> {
  let child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  let exited: Promise<void>;
  const running = () => child.exitCode === null && child.signalCode === null;
  const launch = async () => {
    if (child.exitCode !== null || child.signalCode !== null) child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (output += d));
    exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    const deadline = Date.now() + 20_000;
    while (!(await acceptsConnections(port))) {
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
  nodes: Array<{ url: string } & Omit<NatsProcess, 'stop'>>;
  /** Stops every node and removes their stores. */
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-servers on loopback (each routed to every other), each with its
 * store in a temp dir; resolves once the cluster has a JetStream meta leader (streams can be made).
 */
export async function startNatsCluster(size: number): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-nats-cluster-'));
  const clientPorts: number[] = [];
  const clusterPorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    clusterPorts.push(await freePort());
  }
  const processes: NatsProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      clientPorts.map(async (port, i) => {
        const config = join(dir, `n${i}.conf`);
        const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
        writeFileSync(
          config,
          [
            `server_name: n${i}`,
            `max_payload: ${MAX_PAYLOAD_BYTES}`,
            `listen: 127.0.0.1:${port}`,
            `jetstream { store_dir: "${join(dir, `n${i}`)}" }`,
            `cluster { name: berth-test, listen: 127.0.0.1:${clusterPorts[i]}, routes: [${routes.join(', ')}] }`,
            '',
          ].join('\n'),
        );
        processes.push(await runNatsServer(['-c', config], port, () => undefined));
      }),
    );
    await jetStreamReady(clientPorts.map((p) => `127.0.0.1:${p}`));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `nats://${clientPorts.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodes: processes.map((p, i) => ({ url: `nats://127.0.0.1:${clientPorts[i]}`, kill9: p.kill9, restart: p.restart })),
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
