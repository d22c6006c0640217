import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'node:https';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { findInCheckout } from '@berth/checkout';
import { createSimulatedHosts, type SimulatedHost, type SimulatedNetwork } from './hosts';

/** The checkout's root (works from sources and from bundles in dist/). */
export const REPO_ROOT = findRepoRoot();

function findRepoRoot(): string {
  const berth = findInCheckout(join('bin', 'berth'));
  if (!berth) throw new Error(`berth's repository root is not above ${__dirname}`);
  return dirname(dirname(berth));
}
export const BERTH_BIN = join(REPO_ROOT, 'bin', 'berth');

/**
 * A free TCP port on 127.0.0.1, chosen below the kernel's ephemeral range: a port from that range can
 * be taken by any outgoing connection between our check and a server's (re)start on it.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const low = 10_000;
  const high = Math.max(low + 1000, (ephemeralLow || 32768) - 1);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveListen) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolveListen(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolveListen(true)));
  });
}

export interface ServerOptions {
  /** `--store` value; sqlite in the data dir when omitted. */
  store?: string;
  /** Reuse a data dir (restart tests); a fresh temp dir otherwise. */
  dataDir?: string;
  port?: number;
  extraArgs?: string[];
  /**
   * Also run the in-process scheduler and controllers. Off by default: suites about the API itself
   * must not race control loops writing to the objects they inspect.
   */
  controlLoops?: boolean;
  /** Also run this host's node (runtimed and an agent): real containers. Off by default. */
  agent?: boolean;
  /** Environment additions for the server process. */
  env?: Record<string, string>;
  /**
   * Run the server in a simulated host of its own (a fresh network namespace, see createSimulatedHosts),
   * reached at that host's address (url, kubeconfigPath and fetch name it): whatever its node does to the
   * network (the pod bridge, veths, rules, routes) stays there and goes with it on cleanup.
   */
  simulatedHost?: boolean;
  /**
   * The cluster registry's port (`--registry-port`); without it the server runs no registry, so that no
   * test takes the default port 5000 (another test, or a registry of the machine, may hold it).
   */
  registryPort?: number;
  /**
   * Run the server in this simulated host (one of a network the caller made and removes), reached at its
   * address, as with simulatedHost; a restart passes the same host, data dir and port.
   */
  host?: SimulatedHost;
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  kubeconfigPath: string;
  token: string;
  ca: string;
  process: ChildProcess;
  /** Output the server printed so far (stdout + stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s. Keeps the data dir. */
  stop(): Promise<void>;
  /** kill -9. Keeps the data dir. */
  kill9(): Promise<void>;
  /** Stops the server and removes its data dir (unless the caller passed dataDir) and its simulated host. */
  cleanup(): Promise<void>;
  /** The simulated host the server runs in (simulatedHost), for commands run "on the node". */
  host?: SimulatedHost;
  /** An authenticated HTTPS request to the server; resolves with status, headers and body text; fails after `timeoutMs` (default 30 s) without an answer. */
  fetch(path: string, init?: { method?: string; body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
}

/** Starts `bin/berth server` (unless asked, without an agent or control loops) on a temp data dir and a free port, and waits for /readyz. */
export async function startBerthServer(opts: ServerOptions = {}): Promise<TestServer> {
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'berth-test-'));
  const port = opts.port ?? (await freePort());
  let network: SimulatedNetwork | undefined;
  try {
    network = opts.simulatedHost ? await createSimulatedHosts(1) : undefined;
  } catch (err) {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const host = opts.host ?? network?.hosts[0];
  const address = host?.ip ?? '127.0.0.1';
  // In a host of its own, every address of it: its in-process clients use loopback, everyone else eth0's.
  const args = ['server', '--data-dir', dataDir, '--https-port', String(port), '--bind-address', host ? '0.0.0.0' : address];
  if (!opts.agent) args.push('--disable-agent');
  if (!opts.controlLoops) args.push('--disable-scheduler', '--disable-controller-manager');
  if (opts.store) args.push('--store', opts.store);
  args.push('--registry-port', String(opts.registryPort ?? 0));
  args.push(...(opts.extraArgs ?? []));
  const env = { ...process.env, ...opts.env };
  const child = host ? host.berth(args, env).child : spawn(BERTH_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  // The server's own kubeconfig names 127.0.0.1, which is another host's loopback when it runs in a simulated one.
  const serverKubeconfigPath = join(dataDir, 'kubeconfig.yaml');
  const kubeconfigPath = host ? join(dataDir, `kubeconfig-${address}.yaml`) : serverKubeconfigPath;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const server: TestServer = {
    url: `https://${address}:${port}`,
    port,
    dataDir,
    kubeconfigPath,
    token: '',
    ca: '',
    process: child,
    output: () => output,
    stop: () => stopWith('SIGTERM'),
    kill9: () => stopWith('SIGKILL'),
    cleanup: async () => {
      await stopWith('SIGTERM');
      await network?.cleanup();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    host,
    fetch: (path, init = {}) =>
      new Promise((resolveFetch, reject) => {
        const req = request(
          {
            host: address,
            port,
            path,
            method: init.method ?? 'GET',
            ca: server.ca,
            headers: {
              Authorization: `Bearer ${server.token}`,
              // node sends DELETE bodies without a length unless told; the server would read them as the next request.
              ...(init.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(init.body)) } : {}),
              ...init.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolveFetch({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
            res.on('error', reject);
          },
        );
        const timeoutMs = init.timeoutMs ?? 30_000;
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${init.method ?? 'GET'} ${path}: no answer from ${server.url} in ${timeoutMs / 1000} s`)));
        req.on('error', reject);
        req.end(init.body);
      }),
  };

  // Generous: a server on a NATS cluster that is still forming or rejoining waits up to 30 s for JetStream itself.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await server.cleanup();
      throw new Error(`berth server exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    if (Date.now() > deadline) {
      await server.cleanup();
      throw new Error(`berth server did not become ready in 60 s:\n${output}`);
    }
    if (existsSync(serverKubeconfigPath)) {
      try {
        const kubeconfig = parseYaml(readFileSync(serverKubeconfigPath, 'utf8'));
        server.token = kubeconfig.users[0].user.token;
        server.ca = Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
        const res = await server.fetch('/readyz', { timeoutMs: 5000 });
        if (res.status === 200) {
          if (host) {
            kubeconfig.clusters[0].cluster.server = server.url;
            writeFileSync(kubeconfigPath, stringifyYaml(kubeconfig), { mode: 0o600 });
          }
          return server;
        }
      } catch {
        // not ready yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface BerthResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI caches discovery per server address, as kubectl does; a test's berth keeps it beside the
 * kubeconfig it uses (in the test server's temp dir, removed with it), so no cache outlives its server and a
 * later server on the same port never meets it.
 */
export function withDiscoveryCache(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kubeconfig = env.KUBECONFIG?.split(':')[0];
  if (env.KUBECACHEDIR || !kubeconfig) return env;
  return { ...env, KUBECACHEDIR: join(dirname(kubeconfig), '.kube-cache') };
}

/**
 * Runs `bin/berth ARGS` to completion with the given environment, optionally feeding stdin.
 * `onStdout` sees the output so far each time more arrives, so a test can act once a long-running
 * command (`logs -f`) has reached a known point instead of racing it. A command still running after
 * `timeoutMs` (default 60 s) is killed and the promise fails, with what it printed so far.
 */
export function runBerth(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; onStdout?: (soFar: string) => void; timeoutMs?: number } = {},
): Promise<BerthResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolveRun, reject) => {
    const child = spawn(BERTH_BIN, args, { env: withDiscoveryCache(opts.env ?? process.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout);
    });
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`berth ${args.join(' ')} did not exit in ${timeoutMs / 1000} s (killed); stdout: ${stdout.slice(-2000)}; stderr: ${stderr.slice(-2000)}`));
      else resolveRun({ code, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}
