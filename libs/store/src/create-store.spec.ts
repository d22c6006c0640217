import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isBerthError } from '@berth/errors';
import { createStore, parseStoreUrl } from './create-store';
import { MemoryStore } from './memory';
import { SqliteStore } from './sqlite';

describe('parseStoreUrl', () => {
  it('reads each backend', () => {
    expect(parseStoreUrl('memory://')).toEqual({ backend: 'memory' });
    expect(parseStoreUrl('sqlite:///var/lib/berth/state.db')).toEqual({ backend: 'sqlite', path: '/var/lib/berth/state.db' });
    expect(parseStoreUrl('sqlite://data/state.db')).toEqual({ backend: 'sqlite', path: resolve('data/state.db') });
    expect(parseStoreUrl('nats://127.0.0.1:4222')).toEqual({ backend: 'nats', servers: 'nats://127.0.0.1:4222', bucket: 'berth', replicas: 1 });
    expect(parseStoreUrl('nats://nats.example:4222?bucket=prod_1&replicas=3')).toEqual({
      backend: 'nats',
      servers: 'nats://nats.example:4222',
      bucket: 'prod_1',
      replicas: 3,
    });
    expect(parseStoreUrl('nats://n1:4222,n2:4222,n3?replicas=3')).toMatchObject({ servers: 'nats://n1:4222,nats://n2:4222,nats://n3', replicas: 3 });
    expect(parseStoreUrl('nats://n1:4222,nats://n2:4222,n3', { replicas: 3 })).toMatchObject({ servers: 'nats://n1:4222,nats://n2:4222,nats://n3', replicas: 3 });
  });

  it.each([
    ['state.db', 'no scheme'],
    ['etcd://x', 'unknown backend "etcd"'],
    ['memory://x', 'memory:// takes nothing'],
    ['sqlite://', 'no database file'],
    ['nats://', 'no host'],
    ['nats://h:4222/path', 'no path'],
    ['nats://h:4222?bucket=a.b', 'bucket "a.b"'],
    ['nats://h:port', '"h:port" is not HOST or HOST:PORT'],
    ['nats://a:1,,b:2', '"" is not HOST or HOST:PORT'],
    ['nats://h:4222?replicas=0', 'replicas "0"'],
    ['nats://h:4222?replica=3', 'unknown parameter "replica"'],
  ])('rejects %j with BadRequest naming the problem', (url, why) => {
    let caught: unknown;
    try {
      parseStoreUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(isBerthError(caught, 'BadRequest')).toBe(true);
    expect((caught as Error).message).toContain(why);
    expect((caught as Error).message).not.toContain('\n');
  });
});

describe('createStore', () => {
  it('opens memory and sqlite stores and rejects a bad URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-create-store-'));
    try {
      const memory = await createStore('memory://');
      expect(memory).toBeInstanceOf(MemoryStore);
      await memory.close();
      const sqlite = await createStore(`sqlite://${join(dir, 'state.db')}`);
      expect(sqlite).toBeInstanceOf(SqliteStore);
      await sqlite.close();
      await expect(createStore('bogus')).rejects.toMatchObject({ reason: 'BadRequest' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable NATS server as Unavailable', async () => {
    const err = await createStore('nats://127.0.0.1:1').catch((e: unknown) => e);
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
  });
});
