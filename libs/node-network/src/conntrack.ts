/**
 * UDP has no connection to close: a conntrack entry lives as long as packets keep coming, so a client that
 * keeps sending from one port stays with the endpoint its first packet was DNATed to, even after that
 * endpoint left the Service, and a flow that met no rule (a Service the proxy had not programmed yet) stays
 * un-NATed. As kube-proxy does, the proxy deletes those entries after each sync, with the `conntrack` tool
 * in the node's network namespace (conntrack tables are per namespace).
 */
import { runCommand } from '@berth/host';
import type { Logger } from 'pino';
import type { ProxyModel, ServicePortModel } from './model';

/** The conntrack entries of UDP flows to one address (any when absent) and port, optionally only those a given endpoint answers. */
export interface StaleFlows {
  origDst?: string;
  origDstPort: number;
  replySrc?: string;
  replySrcPort?: number;
}

export function conntrackDeleteArgs(flows: StaleFlows): string[] {
  const args = ['-D', '-p', 'udp'];
  if (flows.origDst) args.push('--orig-dst', flows.origDst);
  args.push('--orig-port-dst', String(flows.origDstPort));
  if (flows.replySrc) args.push('--reply-src', flows.replySrc);
  if (flows.replySrcPort) args.push('--reply-port-src', String(flows.replySrcPort));
  return args;
}

const serviceAddresses = (port: ServicePortModel) => [port.clusterIP, ...port.externalIPs];

/**
 * The UDP flows a sync from `before` to `after` leaves stale (`before` is undefined on the first sync):
 * - those an endpoint that is gone answers, on each of the port's addresses and its NodePort;
 * - for a port that had no endpoints and has some now, those to its addresses that were never DNATed (their
 *   reply would come from the address itself), and, unless this is the first sync, every flow to its
 *   NodePort (with no endpoint, nothing on this node could have answered those through the proxy).
 */
export function staleUdpFlows(before: ProxyModel | undefined, after: ProxyModel): StaleFlows[] {
  const flows = new Map<string, StaleFlows>();
  const add = (f: StaleFlows) => flows.set(JSON.stringify(conntrackDeleteArgs(f)), f);
  const udp = (model: ProxyModel | undefined) => new Map((model?.servicePorts ?? []).filter((p) => p.protocol === 'udp').map((p) => [p.id, p]));
  const previous = udp(before);
  const next = udp(after);
  for (const [id, old] of previous) {
    const kept = new Set((next.get(id)?.endpoints ?? []).map((b) => `${b.ip}:${b.port}`));
    for (const gone of old.endpoints.filter((b) => !kept.has(`${b.ip}:${b.port}`))) {
      const answeredBy = { replySrc: gone.ip, replySrcPort: gone.port };
      for (const address of serviceAddresses(old)) add({ origDst: address, origDstPort: old.port, ...answeredBy });
      if (old.nodePort) add({ origDstPort: old.nodePort, ...answeredBy });
    }
  }
  for (const [id, port] of next) {
    if (port.endpoints.length === 0 || (previous.get(id)?.endpoints.length ?? 0) > 0) continue;
    for (const address of serviceAddresses(port)) add({ origDst: address, origDstPort: port.port, replySrc: address });
    if (port.nodePort && before) add({ origDstPort: port.nodePort });
  }
  return [...flows.values()];
}

export interface ConntrackFlusher {
  /** Deletes the entries; failures are logged, never thrown. */
  flush(flows: readonly StaleFlows[]): Promise<void>;
}

/** `conntrack -D` exits 1 when nothing matched, which is no failure. */
const NOTHING_DELETED = /0 flow entries have been deleted/;

/** `command` is the tool and any words before its arguments (tests run it under nsenter). */
export function conntrackFlusher(logger: Logger, command: readonly string[] = ['conntrack']): ConntrackFlusher {
  let missing = false;
  return {
    async flush(flows) {
      for (const f of flows) {
        if (missing) return;
        const args = [...command.slice(1), ...conntrackDeleteArgs(f)];
        const commandLine = `${command[0]} ${args.join(' ')}`;
        try {
          const result = await runCommand(command[0], args);
          if (result.code !== 0 && !NOTHING_DELETED.test(result.stderr)) {
            logger.warn({ command: commandLine, code: result.code, stderr: result.stderr.trim().slice(0, 1000) }, 'could not delete stale UDP conntrack entries');
          }
        } catch (err) {
          if (!/ENOENT/.test((err as Error).message)) {
            logger.warn({ err, command: commandLine }, 'could not delete stale UDP conntrack entries');
            continue;
          }
          missing = true;
          logger.warn(`${command[0]} is not installed: UDP clients may stay with endpoints that left their Service (Debian package conntrack)`);
        }
      }
    },
  };
}
