import { isAbsolute, resolve } from 'node:path';
import { errors } from '@berth/errors';
import { MemoryStore } from './memory';
import { NatsStore, type NatsStoreOptions } from './nats';
import { SqliteStore } from './sqlite';
import type { Store } from './store';

export type StoreLocation =
  | { backend: 'memory' }
  | { backend: 'sqlite'; path: string }
  | ({ backend: 'nats' } & NatsStoreOptions);

const USAGE = 'expected memory://, sqlite:///ABSOLUTE/PATH.db, sqlite://RELATIVE.db or nats://HOST:PORT[,HOST:PORT...][?bucket=NAME&replicas=N]';
const BUCKET_NAME = /^[-\w]+$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[-A-Za-z0-9.]+)(:\d{1,5})?$/;

function bad(url: string, why: string): Error {
  return errors.badRequest(`invalid store URL "${url}": ${why}; ${USAGE}`);
}

/** What a flag says beside the URL (`--store-replicas`): the URL's own parameter, when it has one, must agree. */
export interface StoreOverrides {
  /** The NATS bucket's replica count; ignored by the other backends (they have no replicas). */
  replicas?: number;
  /** NATS: the user and password the servers require. */
  user?: string;
  pass?: string;
  /** NATS: `replicas` is a goal reached as the cluster grows (see NatsStoreOptions.growReplicas). */
  growReplicas?: boolean;
}

/** Reads a store URL; a bad one throws BadRequest naming what is wrong. Relative sqlite paths resolve against cwd. */
export function parseStoreUrl(url: string, overrides: StoreOverrides = {}): StoreLocation {
  const scheme = /^([a-z]+):\/\/(.*)$/i.exec(url);
  if (!scheme) throw bad(url, 'no scheme');
  const [, name, rest] = scheme;
  switch (name.toLowerCase()) {
    case 'memory':
      if (rest !== '') throw bad(url, 'memory:// takes nothing after it');
      return { backend: 'memory' };
    case 'sqlite': {
      if (rest === '' || rest === '/') throw bad(url, 'no database file');
      const path = decodeURIComponent(rest);
      return { backend: 'sqlite', path: isAbsolute(path) ? path : resolve(path) };
    }
    case 'nats':
      return parseNats(url, rest, overrides);
    default:
      throw bad(url, `unknown backend "${name}"`);
  }
}

/** `nats://HOST[:PORT][,[nats://]HOST[:PORT]...][?bucket=NAME&replicas=N]`: several hosts name one cluster's seeds. */
function parseNats(url: string, rest: string, overrides: StoreOverrides): StoreLocation {
  const [hostList, query = ''] = rest.split('?', 2);
  if (hostList === '') throw bad(url, 'no host');
  // Each host may repeat the scheme (`nats://a:4222,nats://b:4222`), as NATS clients write server lists.
  const hosts = hostList.split(',').map((host) => host.replace(/^nats:\/\//i, ''));
  for (const host of hosts) {
    if (host.includes('/')) throw bad(url, 'nats URLs take no path');
    if (!HOST_PORT.test(host)) throw bad(url, `"${host}" is not HOST or HOST:PORT`);
  }
  const params = new URLSearchParams(query);
  for (const param of params.keys()) {
    if (param !== 'bucket' && param !== 'replicas') throw bad(url, `unknown parameter "${param}"`);
  }
  const bucket = params.get('bucket') ?? 'berth';
  if (!BUCKET_NAME.test(bucket)) throw bad(url, `bucket "${bucket}" may only hold letters, digits, - and _`);
  const replicasText = params.get('replicas') ?? String(overrides.replicas ?? 1);
  const replicas = Number(replicasText);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw bad(url, `replicas "${replicasText}" must be 1 to 5`);
  if (overrides.replicas !== undefined && overrides.replicas !== replicas) throw bad(url, `replicas=${replicas} but --store-replicas ${overrides.replicas}`);
  return { backend: 'nats', servers: hosts.map((h) => `nats://${h}`).join(','), bucket, replicas };
}

/** Opens the store a URL names (see parseStoreUrl); a bad URL rejects with BadRequest. */
export async function createStore(url: string, overrides: StoreOverrides = {}): Promise<Store> {
  const location = parseStoreUrl(url, overrides);
  switch (location.backend) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore(location.path);
    case 'nats':
      return NatsStore.connect({ ...location, user: overrides.user, pass: overrides.pass, growReplicas: overrides.growReplicas });
  }
}
