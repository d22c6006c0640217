import type { Container as PodContainer, IntOrString, Pod, Probe } from '@berth/api';
import { errors } from '@berth/errors';
import type { RuntimeClient } from '@berth/runtime-client';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProbeResult {
  ok: boolean;
  message?: string;
}

/** Where a probe runs: the container (exec) and the pod's network namespace and address (httpGet, tcpSocket). */
export interface ProbeTarget {
  containerId: string;
  container: PodContainer;
  /** The sandbox's network namespace file; empty for the host's network. */
  networkNamespace: string;
  /** Where httpGet and tcpSocket probes connect unless they name a host, as kubelet's: the pod's IP. */
  podIP: string;
}

export type ProbeRuntime = Pick<RuntimeClient, 'exec' | 'stopContainer'>;

function resolvePort(port: IntOrString, container: PodContainer): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw errors.badRequest(`probe port ${JSON.stringify(port)} names no port of container ${container.name}`);
  return named.containerPort;
}

/**
 * Connects (and for HTTP, requests) from a node process inside the pod's network namespace, so the pod's
 * IP is reached whatever network namespace the agent itself runs in. Exit 0 is success.
 *
 * gRPC is the health checking protocol (grpc.health.v1.Health/Check) over cleartext HTTP/2, as kubelet
 * speaks it, written out here with node's http2 so that the script needs no module besides node's own:
 * a request message `{1: service}`, a length-prefixed response `{1: status}` where 1 is SERVING.
 */
const NETWORK_PROBE_SCRIPT = `
const [kind, host, port, path, scheme, headers] = JSON.parse(process.argv[1]);
const fail = (m) => { process.stdout.write(String(m)); process.exit(1); };
if (kind === 'tcp') {
  const socket = require('net').connect(port, host, () => { socket.destroy(); process.exit(0); });
  socket.on('error', fail);
} else if (kind === 'grpc') {
  const service = Buffer.from(path, 'utf8');
  const varint = (n) => { const out = []; do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n); return Buffer.from(out); };
  const message = service.length ? Buffer.concat([Buffer.from([0x0a]), varint(service.length), service]) : Buffer.alloc(0);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  const address = host.includes(':') ? '[' + host + ']' : host;
  const session = require('http2').connect('http://' + address + ':' + port);
  let connected = false;
  const unreachable = (e) => fail('failed to connect service "' + address + ':' + port + '": ' + ((e.cause && e.cause.message) || e.message));
  session.on('connect', () => { connected = true; });
  session.on('error', unreachable);
  const request = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'kube-probe/1.32' });
  const chunks = [];
  let status;
  request.on('response', (h) => { if (h['grpc-status'] !== undefined) status = h; });
  request.on('trailers', (t) => { status = t; });
  request.on('data', (d) => chunks.push(d));
  request.on('error', (e) => (connected ? fail('rpc error: ' + e.message) : unreachable(e)));
  request.on('end', () => {
    const code = Number(status ? status['grpc-status'] : NaN);
    const detail = status && status['grpc-message'] ? decodeURIComponent(status['grpc-message']) : '';
    if (code === 12) fail('this server doesn\\'t implement the grpc health protocol (grpc.health.v1.Health): ' + detail);
    if (code !== 0) fail('rpc error: code = ' + (Number.isNaN(code) ? 'Unknown' : code) + ' desc = ' + detail);
    const body = Buffer.concat(chunks).subarray(5);
    let serving = 0;
    for (let i = 0; i < body.length;) {
      const tag = body[i++];
      let value = 0, shift = 0, byte;
      do { byte = body[i++]; value |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80 && i < body.length);
      if (tag === 0x08) serving = value;
      else if ((tag & 7) === 2) i += value;
    }
    if (serving === 1) process.exit(0);
    fail('service unhealthy (responded with "' + (['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][serving] || serving) + '")');
  });
  request.end(Buffer.concat([prefix, message]));
} else {
  const lib = require(scheme === 'HTTPS' ? 'https' : 'http');
  const req = lib.get({ host, port, path, headers, rejectUnauthorized: false }, (res) => {
    res.resume();
    if (res.statusCode >= 200 && res.statusCode < 400) process.exit(0);
    fail('HTTP probe failed with statuscode: ' + res.statusCode);
  });
  req.on('error', fail);
}`;

function runNetworkProbe(networkNamespace: string, args: unknown[], timeoutMs: number): Promise<ProbeResult> {
  const node = [process.execPath, '-e', NETWORK_PROBE_SCRIPT, JSON.stringify(args)];
  const [command, ...argv] = networkNamespace ? ['nsenter', `--net=${networkNamespace}`, '--', ...node] : node;
  return new Promise((resolve) => {
    const child = spawn(command!, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => resolve({ ok: false, message: err.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? { ok: true } : { ok: false, message: output || (code === null ? `probe timed out after ${timeoutMs}ms` : `probe failed (exit ${code})`) });
    });
  });
}

async function runExecProbe(runtime: ProbeRuntime, containerId: string, command: string[], timeoutMs: number): Promise<ProbeResult> {
  const session = runtime.exec(containerId, { args: command });
  let output = '';
  session.stdout.on('data', (d) => (output += d));
  session.stderr.on('data', (d) => (output += d));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const exit = await Promise.race([session.exit, timedOut]);
    if (exit === 'timeout') {
      session.cancel();
      return { ok: false, message: `command timed out after ${timeoutMs}ms` };
    }
    return exit.exitCode === 0 ? { ok: true } : { ok: false, message: output.trim() || `command exited with ${exit.exitCode}` };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one probe once, as kubelet's prober does. */
export async function runProbe(runtime: ProbeRuntime, probe: Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const defaultHost = target.podIP || '127.0.0.1';
  try {
    if (probe.exec) return await runExecProbe(runtime, target.containerId, probe.exec.command ?? [], timeoutMs);
    if (probe.tcpSocket) {
      return await runNetworkProbe(target.networkNamespace, ['tcp', probe.tcpSocket.host || defaultHost, resolvePort(probe.tcpSocket.port, target.container)], timeoutMs);
    }
    if (probe.httpGet) {
      const { httpGet } = probe;
      const headers = Object.fromEntries((httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      const args = ['http', httpGet.host || defaultHost, resolvePort(httpGet.port, target.container), httpGet.path || '/', httpGet.scheme ?? 'HTTP', headers];
      return await runNetworkProbe(target.networkNamespace, args, timeoutMs);
    }
    if (probe.grpc) {
      // kubelet dials the pod's IP; a gRPC probe names no host.
      return await runNetworkProbe(target.networkNamespace, ['grpc', defaultHost, probe.grpc.port, probe.grpc.service ?? ''], timeoutMs);
    }
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  return { ok: false, message: 'the probe has no exec, httpGet, tcpSocket or grpc handler' };
}

interface Worker {
  timer?: NodeJS.Timeout;
  successes: number;
  failures: number;
  /** Readiness: the current verdict; liveness and startup: whether the container was last seen healthy. */
  result: boolean;
  stopped: boolean;
}

export interface ProbeManagerOptions {
  runtime: ProbeRuntime;
  logger: Logger;
  /** Unhealthy and Killing events. */
  events: { record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void };
  /** A probe result changed for a container of this pod: its status needs recomputing. */
  onChange(podKey: string): void;
  /** Stops a container that failed its liveness or startup probe (the agent's: preStop hook, then the grace period); a plain stop by default. */
  stop?(pod: Pod, target: ProbeTarget, graceSeconds: number): Promise<void>;
}

const PROBE_NAMES: Record<ProbeKind, string> = { startup: 'Startup', readiness: 'Readiness', liveness: 'Liveness' };

function probeOf(container: PodContainer, kind: ProbeKind): Probe | undefined {
  return kind === 'startup' ? container.startupProbe : kind === 'readiness' ? container.readinessProbe : container.livenessProbe;
}

/**
 * Periodic probes of running containers, one timer per container and kind, as kubelet's prober: a
 * container with a startup probe is probed by it alone until it succeeds once (it is not `started` before);
 * then readiness, which starts false and follows successThreshold/failureThreshold, and liveness. A startup
 * or liveness probe failing failureThreshold times in a row stops the container (with the probe's grace
 * period, or the pod's), and the restart policy does the rest.
 */
export class ProbeManager {
  private readonly workers = new Map<string, Worker>();
  /** `<pod uid>/<container id>` of containers whose startup probe has succeeded. */
  private readonly started = new Set<string>();

  constructor(private readonly options: ProbeManagerOptions) {}

  /** Probes exactly these running containers of a pod (by runtime id); workers of other containers of the pod end. */
  syncPod(pod: Pod, targets: ProbeTarget[]): void {
    const podUid = pod.metadata.uid ?? '';
    const wanted = new Set<string>();
    const running = new Set<string>();
    for (const target of targets) {
      running.add(`${podUid}/${target.containerId}`);
      const started = this.isStarted(podUid, target.containerId, target.container);
      for (const kind of ['startup', 'readiness', 'liveness'] as const) {
        const probe = probeOf(target.container, kind);
        if (!probe || (kind === 'startup') === started) continue;
        const key = `${podUid}/${target.containerId}/${kind}`;
        wanted.add(key);
        if (!this.workers.has(key)) this.startWorker(key, pod, kind, probe, target);
      }
    }
    for (const key of this.workers.keys()) if (key.startsWith(`${podUid}/`) && !wanted.has(key)) this.stopWorker(key);
    for (const key of this.started) if (key.startsWith(`${podUid}/`) && !running.has(key)) this.started.delete(key);
  }

  /** Whether a running container has started: true without a startup probe, else once it succeeded. */
  isStarted(podUid: string, containerId: string, container: PodContainer): boolean {
    return !container.startupProbe || this.started.has(`${podUid}/${containerId}`);
  }

  /** The readiness verdict for a running container: never before it started; true when it has no readiness probe. */
  isReady(podUid: string, containerId: string, container: PodContainer): boolean {
    if (!this.isStarted(podUid, containerId, container)) return false;
    if (!container.readinessProbe) return true;
    return this.workers.get(`${podUid}/${containerId}/readiness`)?.result ?? false;
  }

  forgetPod(podUid: string): void {
    for (const key of this.workers.keys()) if (key.startsWith(`${podUid}/`)) this.stopWorker(key);
    for (const key of this.started) if (key.startsWith(`${podUid}/`)) this.started.delete(key);
  }

  stop(): void {
    for (const key of [...this.workers.keys()]) this.stopWorker(key);
  }

  private stopWorker(key: string): void {
    const worker = this.workers.get(key);
    if (!worker) return;
    worker.stopped = true;
    clearTimeout(worker.timer);
    this.workers.delete(key);
  }

  private startWorker(key: string, pod: Pod, kind: ProbeKind, probe: Probe, target: ProbeTarget): void {
    const podKey = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const probeName = PROBE_NAMES[kind];
    const worker: Worker = { successes: 0, failures: 0, result: kind !== 'readiness', stopped: false };
    this.workers.set(key, worker);
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const successThreshold = kind === 'readiness' ? (probe.successThreshold ?? 1) : 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    const tick = async () => {
      const outcome = await runProbe(this.options.runtime, probe, target);
      if (worker.stopped) return;
      if (outcome.ok) {
        worker.successes++;
        worker.failures = 0;
      } else {
        worker.failures++;
        worker.successes = 0;
        this.options.events.record(pod, 'Warning', 'Unhealthy', `${probeName} probe failed: ${outcome.message ?? ''}`.trim());
      }
      if (kind === 'startup' && worker.successes >= successThreshold) {
        // Started for good: readiness and liveness take over from here.
        this.started.add(`${pod.metadata.uid ?? ''}/${target.containerId}`);
        this.stopWorker(key);
        this.options.logger.info({ pod: podKey, container: target.container.name }, 'startup probe succeeded');
        this.options.onChange(podKey);
        return;
      }
      const verdict = worker.successes >= successThreshold ? true : worker.failures >= failureThreshold ? false : worker.result;
      if (verdict === worker.result) return;
      worker.result = verdict;
      this.options.logger.info({ pod: podKey, container: target.container.name, probe: kind, ok: verdict, message: outcome.message }, `${kind} probe ${verdict ? 'succeeded' : 'failed'}`);
      if (kind !== 'readiness' && !verdict) {
        // kubelet kills the container; its restart policy decides what follows.
        this.stopWorker(key);
        this.options.events.record(pod, 'Normal', 'Killing', `Container ${target.container.name} failed ${kind} probe, will be restarted`);
        const grace = probe.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
        const stopping = this.options.stop ? this.options.stop(pod, target, grace) : this.options.runtime.stopContainer(target.containerId, grace);
        await stopping.catch((err) => this.options.logger.warn({ err, pod: podKey }, `stopping a container that failed its ${kind} probe failed`));
      }
      this.options.onChange(podKey);
    };
    const schedule = (delayMs: number) => {
      worker.timer = setTimeout(() => {
        void tick()
          .catch((err) => this.options.logger.warn({ err, pod: podKey }, 'probe failed to run'))
          .finally(() => {
            if (!worker.stopped) schedule(periodMs);
          });
      }, delayMs);
      worker.timer.unref();
    };
    schedule((probe.initialDelaySeconds ?? 0) * 1000);
  }
}
