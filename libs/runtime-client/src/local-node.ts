import { BerthError } from '@berth/errors';
import { isRecordedProcessAlive, readProcessRecord, writeProcessRecord } from '@berth/host';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';

/** Where the local node's server or agent records its runtimed socket; `$BERTH_LOCAL_NODE_RECORD` moves it, empty turns it off. */
export const DEFAULT_LOCAL_NODE_RECORD = '/run/berth/local-node.json';
const RECORD_ENV = 'BERTH_LOCAL_NODE_RECORD';
/** runtimed's own default socket (`berth runtimed` started alone). */
export const DEFAULT_RUNTIMED_SOCKET = '/run/berth/runtimed.sock';
/** Where a node with a default data dir has its runtimed (`berth server`'s), then a runtimed started alone. */
export const DEFAULT_SOCKETS: readonly string[] = ['/var/lib/berth/runtimed.sock', DEFAULT_RUNTIMED_SOCKET];

export interface LocalNodeRecord {
  /** The node's runtimed socket. */
  socket: string;
  dataDir: string;
}

function recordPath(): string | undefined {
  const fromEnv = process.env[RECORD_ENV];
  return fromEnv === undefined ? DEFAULT_LOCAL_NODE_RECORD : fromEnv || undefined;
}

/** The record of a node whose server or agent still runs. */
async function liveRecord(path: string): Promise<LocalNodeRecord | undefined> {
  const record = await readProcessRecord<LocalNodeRecord>(path);
  return record && isRecordedProcessAlive(record) && typeof record.socket === 'string' ? { socket: record.socket, dataDir: record.dataDir ?? '' } : undefined;
}

/**
 * Records this process's node as the host's local node, so that node-local commands (`berth images`,
 * `berth runtime ...`) find its runtimed without being told. Several nodes share one machine in tests
 * and a host's own node must win: a node on its default data dir always records itself, any other only
 * when no live node has. Answers what undoes it on stop, removing the record only while it is still
 * this process's.
 */
export async function recordLocalNode(node: LocalNodeRecord & { defaultDataDir: boolean }): Promise<() => Promise<void>> {
  const path = recordPath();
  if (!path || (!node.defaultDataDir && (await liveRecord(path)))) return async () => undefined;
  await mkdir(dirname(path), { recursive: true });
  await writeProcessRecord<LocalNodeRecord>(path, { socket: node.socket, dataDir: node.dataDir });
  return async () => {
    const current = await readProcessRecord<LocalNodeRecord>(path);
    if (current?.pid === process.pid && current.socket === node.socket) await rm(path, { force: true });
  };
}

/** Removes the local-node record if it names `dataDir`'s node (a reset of that node). */
export async function forgetLocalNode(dataDir: string): Promise<boolean> {
  const path = recordPath();
  if (!path) return false;
  const record = await readProcessRecord<LocalNodeRecord>(path);
  if (record?.dataDir !== dataDir) return false;
  await rm(path, { force: true });
  return true;
}

/** Why nothing serves `socket`, in a word or two; undefined when something accepts connections there. */
function unanswered(socket: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = connect(socket);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve('no answer in 2 s');
    }, 2000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(undefined);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ENOENT' ? 'no such socket' : err.code === 'ECONNREFUSED' ? 'nothing listening' : err.message);
    });
  });
}

/**
 * The runtimed socket for a node-local command: `--runtime-socket`, then `$BERTH_RUNTIME_SOCKET` (either
 * taken as given), else the first that answers of the local node's recorded socket and `defaults`: the
 * default data dir's (`berth server`'s node) and a runtimed's own default. When none answers, a one-line
 * ServiceUnavailable says where it looked.
 */
export async function findRuntimeSocket(flag?: string, defaults: readonly string[] = DEFAULT_SOCKETS): Promise<string> {
  if (flag) return flag;
  const fromEnv = process.env.BERTH_RUNTIME_SOCKET;
  if (fromEnv) return fromEnv;
  const looked: string[] = [];
  const path = recordPath();
  const recorded = path ? await liveRecord(path) : undefined;
  if (path && !recorded) looked.push(`${path} (no running node recorded)`);
  for (const socket of [...(recorded ? [recorded.socket] : []), ...defaults]) {
    const why = await unanswered(socket);
    if (!why) return socket;
    looked.push(`${socket}${socket === recorded?.socket ? ` (recorded in ${path})` : ''}: ${why}`);
  }
  throw new BerthError(
    'ServiceUnavailable',
    `no runtimed answers on this host; looked at --runtime-socket and $BERTH_RUNTIME_SOCKET (not given), ${looked.join(', ')}: start a node (berth server, berth agent) or name its socket with --runtime-socket`,
  );
}
