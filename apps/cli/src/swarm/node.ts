import type { Node } from '@berth/api';
import { parseJoinToken, StatusError } from '@berth/client';
import { BerthError } from '@berth/errors';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { drain } from '../commands/drain';
import { setSchedulable } from '../commands/nodes';
import { CLIENT_VERSION } from '../commands/version';
import { isNotFound } from '../commands/workloads';
import { table } from '../runtime/format';
import type { Session } from '../session';
import { AVAILABILITY_ANNOTATION, parseLabels, swarmId } from './service-spec';
import { NODES } from './service';
import { byNameOrId, formatRows, NODE_HEADERS, nodeRow, type NodeRow } from './tasks';

/** The addresses of this host (of the network namespace the CLI runs in). */
function localAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
}

/** Whether a node is the host the CLI runs on: one of its addresses is ours (loopback aside). */
export function isLocalNode(node: Node, addresses: Set<string>): boolean {
  return (node.status?.addresses ?? []).some((a) => a.type === 'InternalIP' && !a.address.startsWith('127.') && addresses.has(a.address));
}

const ENGINE_VERSION = CLIENT_VERSION.gitVersion.replace(/^v/, '');

/**
 * Whether a node is the one `berth server` runs on (with its embedded agent): its address is the API
 * server's in the kubeconfig, or, when that is a loopback address (the CLI runs on the server host), it
 * is this host's node.
 */
export function isServerNode(node: Node, server: string, addresses: Set<string>): boolean {
  let host: string;
  try {
    host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return isLocalNode(node, addresses);
  return (node.status?.addresses ?? []).some((a) => a.type === 'InternalIP' && a.address === host);
}

function rowsOf(session: Session, nodes: Node[]): NodeRow[] {
  const addresses = localAddresses();
  const server = session.connection.server;
  return nodes.map((n) => nodeRow(n, isLocalNode(n, addresses), isServerNode(n, server, addresses), ENGINE_VERSION, AVAILABILITY_ANNOTATION));
}

/** docker node ls's filters: id=, name=, role=manager|worker, label=k[=v] (node labels), membership=accepted. */
function nodeFilter(filters: string[]): (node: Node, row: NodeRow) => boolean {
  const tests = filters.map((filter) => {
    const eq = filter.indexOf('=');
    if (eq <= 0) throw new BerthError('BadRequest', `invalid filter '${filter}': use KEY=VALUE (id, name, role, label, node.label)`);
    const key = filter.slice(0, eq).toLowerCase();
    const value = filter.slice(eq + 1);
    switch (key) {
      case 'id':
        return (_n: Node, r: NodeRow) => r.ID.startsWith(value);
      case 'name':
        return (_n: Node, r: NodeRow) => r.Hostname.startsWith(value);
      case 'role':
        if (value !== 'manager' && value !== 'worker') throw new BerthError('BadRequest', `invalid filter 'role=${value}': manager or worker`);
        return (_n: Node, r: NodeRow) => (r.ManagerStatus !== '') === (value === 'manager');
      case 'label':
      case 'node.label': {
        const at = value.indexOf('=');
        const [k, want] = at < 0 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
        return (n: Node) => Object.prototype.hasOwnProperty.call(n.metadata.labels ?? {}, k) && (want === undefined || n.metadata.labels![k] === want);
      }
      default:
        throw new BerthError('BadRequest', `invalid filter '${key}'`);
    }
  });
  return (node, row) => tests.every((test) => test(node, row));
}

export async function nodeLs(session: Session, options: { quiet?: boolean; filter: string[]; format?: string }): Promise<void> {
  const nodes = (await session.client.list<Node>(NODES)).items.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const keep = nodeFilter(options.filter);
  const rows = rowsOf(session, nodes).filter((row, i) => keep(nodes[i], row));
  if (options.quiet) {
    for (const row of rows) session.out(row.ID);
    return;
  }
  if (options.format) {
    const headers = { ID: 'ID', Hostname: 'HOSTNAME', Status: 'STATUS', Availability: 'AVAILABILITY', ManagerStatus: 'MANAGER STATUS', EngineVersion: 'ENGINE VERSION', Self: '' };
    const cells = rows.map((r) => ({ ...r, Self: String(r.Self) }));
    for (const line of formatRows(options.format, cells, headers)) session.out(line);
    return;
  }
  process.stdout.write(table(NODE_HEADERS, rows.map((r) => [`${r.ID}${r.Self ? ' *' : ''}`, r.Hostname, r.Status, r.Availability, r.ManagerStatus, r.EngineVersion])));
}

/** A node by name, ID (or its prefix) or `self`. */
export async function findNode(session: Session, ref: string): Promise<Node> {
  const nodes = (await session.client.list<Node>(NODES)).items;
  if (ref === 'self') {
    const addresses = localAddresses();
    const self = nodes.find((n) => isLocalNode(n, addresses));
    if (!self) throw new BerthError('NotFound', 'this host is not a node of the cluster');
    return self;
  }
  return byNameOrId(nodes, ref, (n) => n.metadata.name ?? '', (n) => n.metadata.uid, 'node');
}

/** `docker node inspect`'s JSON for a berth node. */
export function inspectNode(node: Node, self: boolean, leader: boolean): Record<string, unknown> {
  const row = nodeRow(node, self, leader, ENGINE_VERSION, AVAILABILITY_ANNOTATION);
  const info = node.status?.nodeInfo ?? {};
  const ip = (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address ?? '';
  const capacity = node.status?.capacity ?? {};
  const manager = row.ManagerStatus !== '';
  return {
    ID: row.ID,
    Version: { Index: Number(node.metadata.resourceVersion) || 0 },
    CreatedAt: node.metadata.creationTimestamp ?? '',
    Spec: { Labels: node.metadata.labels ?? {}, Role: manager ? 'manager' : 'worker', Availability: row.Availability.toLowerCase() },
    Description: {
      Hostname: node.metadata.name ?? '',
      Platform: { Architecture: (info as { architecture?: string }).architecture ?? '', OS: (info as { operatingSystem?: string }).operatingSystem ?? '' },
      Resources: { NanoCPUs: (Number(capacity.cpu) || 0) * 1e9, MemoryBytes: (Number(String(capacity.memory ?? '').replace(/Ki$/, '')) || 0) * 1024 },
      Engine: { EngineVersion: row.EngineVersion },
    },
    Status: { State: row.Status.toLowerCase(), Addr: ip },
    ...(manager ? { ManagerStatus: { Leader: true, Reachability: 'reachable' } } : {}),
  };
}

export async function nodeInspect(session: Session, refs: string[], options: { pretty?: boolean }): Promise<void> {
  const addresses = localAddresses();
  const found: Node[] = [];
  for (const ref of refs) {
    try {
      found.push(await findNode(session, ref));
    } catch (err) {
      if (!(err instanceof BerthError) || err.reason !== 'NotFound') throw err;
      session.failWith(`Error: no such node: ${ref}`);
    }
  }
  const docs = found.map((n) => inspectNode(n, isLocalNode(n, addresses), isServerNode(n, session.connection.server, addresses)) as ReturnType<typeof inspectNode> & { ID: string; Spec: { Labels: Record<string, string>; Role: string; Availability: string }; Description: { Hostname: string; Platform: { Architecture: string; OS: string }; Resources: { NanoCPUs: number; MemoryBytes: number }; Engine: { EngineVersion: string } }; Status: { State: string; Addr: string } });
  if (!options.pretty) {
    session.out(JSON.stringify(docs, null, 4));
    return;
  }
  session.out(
    docs
      .map((d) =>
        [
          `ID:\t\t\t${d.ID}`,
          ...(Object.keys(d.Spec.Labels).length ? ['Labels:', ...Object.entries(d.Spec.Labels).map(([k, v]) => ` - ${k}=${v}`)] : []),
          `Hostname:\t\t${d.Description.Hostname}`,
          `Joined at:\t\t${d.CreatedAt}`,
          'Status:',
          ` State:\t\t\t${d.Status.State.charAt(0).toUpperCase()}${d.Status.State.slice(1)}`,
          ` Availability:\t\t${d.Spec.Availability.charAt(0).toUpperCase()}${d.Spec.Availability.slice(1)}`,
          ` Address:\t\t${d.Status.Addr}`,
          ...(d.ManagerStatus ? ['Manager Status:', ' Raft Status:\t\tReachable', ' Leader:\t\tYes'] : []),
          'Platform:',
          ` Operating System:\t${d.Description.Platform.OS}`,
          ` Architecture:\t\t${d.Description.Platform.Architecture}`,
          'Resources:',
          ` CPUs:\t\t\t${d.Description.Resources.NanoCPUs / 1e9}`,
          ` Memory:\t\t${d.Description.Resources.MemoryBytes}`,
          `Engine Version:\t\t${d.Description.Engine.EngineVersion}`,
        ].join('\n'),
      )
      .join('\n\n'),
  );
}

/** A copy of the session whose stdout lines are dropped: drain's and cordon's kubectl lines are not docker's. */
function quietly(session: Session): Session {
  return Object.create(session, { out: { value: () => undefined } }) as Session;
}

export interface NodeUpdateFlags {
  availability?: string;
  labelAdd: string[];
  labelRm: string[];
}

/**
 * `node update`: --availability active (uncordon), pause (cordon), drain (cordon and evict its pods, as
 * `berth drain --ignore-daemonsets --delete-emptydir-data --force`); node labels added and removed.
 */
export async function nodeUpdate(session: Session, ref: string, flags: NodeUpdateFlags): Promise<void> {
  const availability = flags.availability?.toLowerCase();
  if (availability !== undefined && !['active', 'pause', 'drain'].includes(availability)) {
    throw new BerthError('BadRequest', `invalid argument ${JSON.stringify(flags.availability)} for "--availability" flag: use active, pause or drain`);
  }
  const node = await findNode(session, ref);
  const name = node.metadata.name!;
  const added = parseLabels(flags.labelAdd, '--label-add');
  for (const key of flags.labelRm) {
    if (!Object.prototype.hasOwnProperty.call(node.metadata.labels ?? {}, key)) throw new BerthError('NotFound', `key ${key} doesn't exist in node's labels`);
  }
  const labels: Record<string, string | null> = { ...added };
  for (const key of flags.labelRm) Object.defineProperty(labels, key, { value: null, enumerable: true, writable: true, configurable: true });
  const annotations = availability === undefined ? undefined : { [AVAILABILITY_ANNOTATION]: availability === 'active' ? null : availability };
  if (Object.keys(labels).length || annotations) {
    await session.client.patch(NODES, name, { metadata: { ...(Object.keys(labels).length ? { labels } : {}), ...(annotations ? { annotations } : {}) } }, { type: 'merge' });
  }
  const quiet = quietly(session);
  if (availability === 'active') await setSchedulable(quiet, [name], true, {});
  if (availability === 'pause') await setSchedulable(quiet, [name], false, {});
  if (availability === 'drain') await drain(quiet, [name], { ignoreDaemonsets: true, deleteEmptydirData: true, force: true });
  if (quiet.hasFailed) {
    session.exitWith(1);
    return;
  }
  session.out(ref);
}

/** `node rm`: refuses a Ready node unless --force, in docker's words. */
export async function nodeRm(session: Session, refs: string[], options: { force?: boolean }): Promise<void> {
  for (const ref of refs) {
    try {
      const node = await findNode(session, ref);
      const ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready && !options.force) {
        session.failWith(`Error response from daemon: rpc error: code = FailedPrecondition desc = node ${swarmId(node.metadata.uid)} is not down and can't be removed`);
        continue;
      }
      await session.client.delete(NODES, node.metadata.name!);
      session.out(ref);
    } catch (err) {
      if (!(err instanceof BerthError) && !(err instanceof StatusError)) throw err;
      session.failWith(isNotFound(err) || (err instanceof BerthError && err.reason === 'NotFound') ? `Error: No such node: ${ref}` : `Error: ${err.message}`);
    }
  }
}

/**
 * `swarm join-token worker`: the command that joins a host, with the join token of the server's data dir
 * (readable on the server host only: the API does not serve the join secret).
 */
export async function joinToken(session: Session, role: string, options: { quiet?: boolean; rotate?: boolean; dataDir: string }): Promise<void> {
  if (role === 'manager') throw new BerthError('BadRequest', 'berth has no manager join token yet: a highly available control plane (more servers) is issue 13');
  if (role !== 'worker') throw new BerthError('BadRequest', `unknown role ${role}: use worker or manager`);
  if (options.rotate) throw new BerthError('BadRequest', '--rotate is not supported: berth server cannot rotate its join secret yet');
  const path = join(options.dataDir, 'token');
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not readable (run as root)' : (err as Error).message;
    throw new BerthError('NotFound', `the join token ${path} is ${why}: run this on the server host (or --data-dir the server's data dir)`);
  }
  if (token.length > 4096 || !parseJoinToken(token)) throw new BerthError('BadRequest', `${path} does not hold a join token`);
  if (options.quiet) {
    session.out(token);
    return;
  }
  const server = session.connection.server;
  process.stdout.write(`To add a worker to this swarm, run the following command:\n\n    berth agent --server ${server} --token ${token}\n\n`);
  if (/^https?:\/\/(localhost|127\.|\[::1\])/.test(server)) session.notice(`the kubeconfig names the server ${server}: other hosts reach it at another address (berth server prints it when it starts)`);
}

