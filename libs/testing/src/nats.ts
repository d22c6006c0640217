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

/** Runs Debian's `nats-server -js` on a free port with its store in a temp dir; waits until it accepts clients. */
export async function startNatsServer(): Promise<TestNatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-nats-'));
  const config = join(dir, 'nats.conf');
  writeFileSync(config, `max_payload: ${MAX_PAYLOAD_BYTES}\n`);
  const port = await freePort();
  const child = spawn('nats-server', ['-c', config, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'jetstream')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const running = () => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(escalate);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  while (!(await acceptsConnections(port))) {
    if (!running() || Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not start on port ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, stop };
}
