/**
 * Seeded generators of hostile requests for the security suite: raw bytes on a TLS connection (request
 * targets, header floods, broken framing, garbage), protocol upgrades that go wrong after the 101, and
 * well-formed HTTP requests with hostile bodies and parameters. Each knows whether the server may accept
 * it (a hostile-but-valid request in the attack namespace) or must refuse it with a 4xx.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, constants as zlibConstants } from 'node:zlib';
import { HEADER_DICTIONARY, encodeFrame, encodeHeaderBlock } from '@berth/spdy';
import { REPO_ROOT } from '@berth/testing';
import { mutate, randomGarbage, type Random } from '../fuzz/mutate';

/** Where the attack goes; `protected` holds the objects that must come through unchanged. */
export const PROTECTED = 'protected';
export const ATTACK = 'attack';

export type Hostile =
  /**
   * Written on a fresh TLS connection; the answer is read until the server closes it. A request the server
   * cannot see the end of (a cut body) is half-closed after it: node answers a client's FIN by dropping what
   * it was still working on, so only those are.
   */
  | { kind: 'raw'; what: string; bytes: Buffer; halfClose: boolean; mayPass: boolean }
  /** An upgrade request; after a 101, `after` is written (frames that must make the server close it). */
  | { kind: 'upgrade'; what: string; bytes: Buffer; after: Buffer; mayPass: boolean }
  /** A well-formed HTTP request on a keep-alive connection. */
  | { kind: 'http'; what: string; method: string; path: string; headers: Record<string, string>; body?: Buffer; mayPass: boolean };

export interface Targets {
  token: string;
  /** A pod without a node (exec and attach stop at "no host assigned") and one bound to a node that never connects (port-forward's SPDY session starts). */
  unboundPod: string;
  boundPod: string;
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const chance = (random: Random, p: number) => random() < p;

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

const podSpec = { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], ports: [{ containerPort: 80 }], env: [{ name: 'A', value: 'b' }] }] };

/** Objects written before the attack, in the protected namespace: they must come through unchanged. */
export const PROTECTED_OBJECTS: Array<{ collection: string; body: Record<string, unknown> }> = [
  { collection: 'configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', labels: { app: 'a' } }, data: { a: 'b', constructor: 'c' } } },
  { collection: 'secrets', body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secret' }, data: { k: 'dg==' } } },
  { collection: 'pods', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unbound', labels: { app: 'a' } }, spec: podSpec } },
  { collection: 'pods', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bound' }, spec: { ...podSpec, nodeName: 'ghost' } } },
  {
    collection: 'services',
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'service' }, spec: { selector: { app: 'a' }, ports: [{ port: 80, targetPort: 8080 }] } },
  },
];
const DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'deployment' },
  spec: { replicas: 2, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: podSpec } },
};
PROTECTED_OBJECTS.push({ collection: 'deployments', body: DEPLOYMENT });

export function collectionPath(namespace: string, collection: string): string {
  return collection === 'deployments' ? `/apis/apps/v1/namespaces/${namespace}/deployments` : `/api/v1/namespaces/${namespace}/${collection}`;
}

const objectPaths = PROTECTED_OBJECTS.map((o) => `${collectionPath(PROTECTED, o.collection)}/${(o.body.metadata as { name: string }).name}`);

/** `{"a":{"a":...}}` or `[[...]]` `levels` deep, as text. */
function deepJson(random: Random, levels: number): string {
  return chance(random, 0.5) ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
}

function deepYaml(random: Random, levels: number): string {
  return pick(random, [() => '['.repeat(levels) + ']'.repeat(levels), () => '{a: '.repeat(levels) + '1' + '}'.repeat(levels), () => `\n    ${'- '.repeat(levels)}x`])();
}

/** Puts `value` under `key` at a random place of the document (a copy). */
function plant(random: Random, doc: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(doc);
  const holders: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      holders.push(v as Record<string, unknown>);
      Object.values(v).forEach(walk);
    }
  };
  walk(copy);
  Object.defineProperty(pick(random, holders), key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const auth = (targets: Targets, authenticated: boolean): Record<string, string> => (authenticated ? { Authorization: `Bearer ${targets.token}` } : {});

function http(what: string, method: string, path: string, opts: { authenticated: boolean; targets: Targets; contentType?: string; body?: string | Buffer; mayPass?: boolean; headers?: Record<string, string> }): Hostile {
  return {
    kind: 'http',
    what,
    method,
    path,
    headers: { ...auth(opts.targets, opts.authenticated), ...(opts.contentType ? { 'Content-Type': opts.contentType } : {}), Accept: 'application/json', ...opts.headers },
    body: opts.body === undefined ? undefined : Buffer.from(opts.body),
    // An unauthenticated request never passes.
    mayPass: (opts.mayPass ?? false) && opts.authenticated,
  };
}

// ---- raw bytes on a connection

/** Request targets no server may serve, whatever the method. */
const MALFORMED_TARGETS = [
  '//a:99999/',
  '//[/',
  '///',
  '//',
  '/%zz',
  '/%',
  '/api/v1/namespaces/%zz/pods',
  '/api/v1/namespaces/%2F/pods',
  '/api/v1/namespaces/protected/configmaps/%2e%2e',
  '/api/v1/namespaces/protected/configmaps/%2E%2e/%2e%2e',
  '/api/v1/namespaces/protected/configmaps/config/../../../secrets',
  '/api/v1/namespaces/protected/configmaps/..',
  '/api/v1/namespaces/protected/configmaps/config%00',
  'http://a:99999/api',
  'http://[/',
  'ftp://x/y',
  '*',
  'api/v1',
  '/\\evil',
  '/api/v1/namespaces/protected/configmaps?labelSelector=' + '('.repeat(3000),
  '/api/v1/namespaces/protected/configmaps?fieldSelector=' + 'a=b,'.repeat(1500),
  '/api/v1/namespaces/protected/configmaps?watch=1&resourceVersion=-1',
  '/api/v1/namespaces/protected/configmaps?resourceVersion=1e400',
  '/api/v1/namespaces/protected/pods/unbound/log?sinceSeconds=99999999999999999999',
  '/api/v1/namespaces/protected/pods/unbound/log?tailLines=-1',
  '/apis/%ff%fe/v1',
  '/openapi/v3/apis/' + 'x/'.repeat(200),
];

/** Odd but valid targets: read-only methods only (a DELETE of `/api/v1/namespaces` in absolute form is still one). */
const ODD_VALID_TARGETS = ['/api/v1/namespaces?' + 'a=1&'.repeat(1000), 'https://user:pass@host:1/api/v1/namespaces', 'HTTP://X/api/v1/namespaces/protected/configmaps#fragment'];

function requestTarget(random: Random, targets: Targets): Hostile {
  const long = () => `/api/v1/namespaces/${'a'.repeat(pick(random, [300, 5_000, 20_000, 70_000]))}`;
  const valid = chance(random, 0.1);
  const target = valid ? pick(random, ODD_VALID_TARGETS) : chance(random, 0.15) ? long() : pick(random, MALFORMED_TARGETS);
  const method = valid ? pick(random, ['GET', 'HEAD']) : pick(random, ['GET', 'DELETE', 'PUT', 'PATCH', 'POST', 'HEAD', 'OPTIONS']);
  const authenticated = chance(random, 0.7);
  const headers = `Host: x\r\n${authenticated ? `Authorization: Bearer ${targets.token}\r\n` : ''}${method === 'GET' || method === 'HEAD' ? '' : 'Content-Length: 0\r\n'}Connection: close\r\n`;
  return { kind: 'raw', what: `request target ${method} ${target.slice(0, 60)}`, bytes: Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers}\r\n`), halfClose: false, mayPass: valid && authenticated };
}

function headerFlood(random: Random, targets: Targets): Hostile {
  const authenticated = chance(random, 0.5);
  const base = `GET /api/v1/namespaces/${PROTECTED}/configmaps HTTP/1.1\r\nHost: x\r\n${authenticated ? `Authorization: Bearer ${targets.token}\r\n` : ''}`;
  // [the headers, whether a server may serve them (a long but valid Accept, a request the parser lets through)]
  const [flood, mayPass] = pick(random, [
    () => [Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join(''), false],
    () => [`X-Big: ${'v'.repeat(20_000)}\r\n`, false],
    () => [`Cookie: ${'c=1; '.repeat(5000)}\r\n`, false],
    () => ['Bad Header Name: v\r\n', false],
    () => ['X-Bad: a\u0000b\r\n', false],
    () => ['NoColonHere\r\n', false],
    () => [' folded: line\r\n', false],
    () => ['Content-Length: 5\r\nContent-Length: 6\r\n', false],
    () => ['Content-Length: -1\r\n', false],
    () => ['Content-Length: 99999999999999999999999\r\n', false],
    () => ['Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', false],
    () => ['Transfer-Encoding: gzip, chunked, identity\r\n', false],
    () => [`Authorization: Bearer ${'x'.repeat(10_000)}\r\n`, true],
    () => [`Accept: ${'application/json;as=Table;v=v9;g=meta.k8s.io,'.repeat(300)}\r\n`, true],
  ] as Array<() => [string, boolean]>)();
  return { kind: 'raw', what: `header flood ${JSON.stringify(flood.slice(0, 30))}`, bytes: Buffer.from(`${base}${flood}Connection: close\r\n\r\n`), halfClose: false, mayPass: mayPass && authenticated };
}

function brokenFraming(random: Random, targets: Targets): Hostile {
  const authenticated = chance(random, 0.7);
  const head = (extra: string) =>
    `POST ${collectionPath(PROTECTED, 'configmaps')} HTTP/1.1\r\nHost: x\r\n${authenticated ? `Authorization: Bearer ${targets.token}\r\n` : ''}Content-Type: application/json\r\n${extra}\r\n`;
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'framed' }, data: { a: 'b' } });
  const variant = pick(random, [
    () => `${head('Transfer-Encoding: chunked\r\n')}${body.length.toString(16)}\r\n${body.slice(0, 10)}`,
    () => `${head('Transfer-Encoding: chunked\r\n')}zz\r\n${body}\r\n0\r\n\r\n`,
    () => `${head('Transfer-Encoding: chunked\r\n')}ffffffffffffffff\r\n${body}`,
    () => `${head('Transfer-Encoding: chunked\r\n')}5;${'e'.repeat(20_000)}\r\nabcde\r\n0\r\n\r\n`,
    () => `${head('Transfer-Encoding: chunked\r\n')}3\r\nabc\r\n0\r\nX-Trailer: ${'t'.repeat(20_000)}\r\n\r\n`,
    () => `${head(`Content-Length: ${body.length + 100}\r\n`)}${body}`,
    () => `${head('Content-Length: 10\r\n')}${body}`,
    () => `${head('Content-Length: 4000000\r\n')}${body}`,
    () => `${head('')}${body}`,
  ])();
  return { kind: 'raw', what: 'broken framing', bytes: Buffer.from(variant, 'latin1'), halfClose: true, mayPass: false };
}

function garbage(random: Random, targets: Targets): Hostile {
  const variant = pick(random, [
    () => randomGarbage(random, 1 + Math.floor(random() * 2000)),
    () => Buffer.concat([Buffer.from(`GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${targets.token}\r\n`), randomGarbage(random, 200)]),
    () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    () => Buffer.from('GET /api/v1/namespaces HTTP/9.9\r\nHost: x\r\n\r\n'),
    () => Buffer.from('GET /api/v1/namespaces\r\n\r\n'),
    () => Buffer.from('get /api/v1/namespaces http/1.1\r\nHost: x\r\n\r\n'),
    () => Buffer.from(`${'A'.repeat(5000)} / HTTP/1.1\r\nHost: x\r\n\r\n`),
    () => Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'),
    () => Buffer.from('GET / HTTP/1.1\nHost: x\n\n'),
  ])();
  // Garbage can also parse as a complete request: one for a path that does not exist, answered 404.
  return { kind: 'raw', what: 'garbage', bytes: variant, halfClose: true, mayPass: false };
}

// ---- upgrades

/** A masked WebSocket frame, as a client sends them. */
function wsFrame(opcode: number, payload: Buffer, flags = 0x80): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([flags | opcode, 0x80 | length]) : Buffer.from([flags | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([header, mask, masked]);
}

/** A header block that inflates far past the 1 MiB limit. */
const ZLIB_BOMB = (() => {
  const prefix = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from('x'), Buffer.from([0x7f, 0xff, 0xff, 0xff])]);
  return deflateSync(Buffer.concat([prefix, Buffer.alloc(16 * 1024 * 1024)]), { dictionary: HEADER_DICTIONARY, level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH });
})();

function badSpdy(random: Random): Buffer {
  return pick(random, [
    () => encodeFrame({ type: 'synStream', streamId: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: ZLIB_BOMB }),
    () => encodeFrame({ type: 'synStream', streamId: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: randomGarbage(random, 100) }),
    () => Buffer.concat([Buffer.from([0x80, 0x02, 0x00, 0x01]), randomGarbage(random, 60)]),
    () => Buffer.concat([Buffer.from([0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04]), Buffer.from([0xff, 0xff, 0xff, 0xff])]),
    () => Buffer.concat([Buffer.from([0x80, 0x03, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff]), randomGarbage(random, 300)]),
    () => Buffer.concat([Buffer.from([0x80, 0x03, 0x00, 0x01]), randomGarbage(random, 4 + Math.floor(random() * 200))]),
    () => {
      const block = deflateSync(encodeHeaderBlock(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`h${i}`, 'v']))), { dictionary: HEADER_DICTIONARY, finishFlush: zlibConstants.Z_SYNC_FLUSH });
      return encodeFrame({ type: 'synStream', streamId: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: block });
    },
  ])();
}

function badWebSocketFrames(random: Random): Buffer {
  return pick(random, [
    () => Buffer.from([0xff, 0x80, 0, 0, 0, 0]),
    () => wsFrame(0x2, randomGarbage(random, 50), 0xf0),
    () => Buffer.from([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
    () => wsFrame(0x9, randomGarbage(random, 125), 0x00),
    () => Buffer.concat([wsFrame(0x1, Buffer.from([0xc3, 0x28])), wsFrame(0x8, Buffer.from([0x03, 0xe8, 0xff]))]),
    () => Buffer.from([0x82, 0x05, 1, 2, 3, 4, 5]),
    () => randomGarbage(random, 300),
  ])();
}

function upgrade(random: Random, targets: Targets): Hostile {
  const authenticated = chance(random, 0.8);
  const authLine = authenticated ? `Authorization: Bearer ${targets.token}\r\n` : '';
  const wsHeaders = (protocol?: string, key = 'dGhlIHNhbXBsZSBub25jZQ==', version = '13') =>
    `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: ${version}\r\nSec-WebSocket-Key: ${key}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}`;
  const request = (path: string, headers: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\n${authLine}${headers}\r\n`);
  const pods = `/api/v1/namespaces/${PROTECTED}/pods`;
  const variant = pick(random, [
    // exec and attach stop before any node is asked: bad parameters, no host, or a pod that does not exist.
    () => ({ what: 'exec websocket', bytes: request(`${pods}/${targets.unboundPod}/exec?command=sh&stdout=1`, wsHeaders('v5.channel.k8s.io')), after: badWebSocketFrames(random), mayPass: false }),
    () => ({ what: 'exec without command', bytes: request(`${pods}/${targets.boundPod}/exec?stdout=1`, wsHeaders('v5.channel.k8s.io')), after: badWebSocketFrames(random), mayPass: false }),
    () => ({ what: 'attach to nothing', bytes: request(`${pods}/missing/attach?stdout=1`, wsHeaders('v4.channel.k8s.io')), after: Buffer.alloc(0), mayPass: false }),
    () => ({ what: 'exec over SPDY', bytes: request(`${pods}/${targets.unboundPod}/exec?command=sh&stdout=1`, 'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n'), after: badSpdy(random), mayPass: false }),
    () => ({ what: 'websocket with a bad key', bytes: request(`${pods}/${targets.unboundPod}/exec?command=sh&stdout=1`, wsHeaders('v5.channel.k8s.io', 'short', pick(random, ['13', '8', 'x']))), after: Buffer.alloc(0), mayPass: false }),
    () => ({ what: 'upgrade of a plain path', bytes: request(`/api/v1/namespaces/${PROTECTED}/configmaps`, wsHeaders()), after: badWebSocketFrames(random), mayPass: false }),
    () => ({ what: 'upgrade to an odd target', bytes: request(pick(random, ['//a:99999/', '//[/', '/%zz', '*']), wsHeaders()), after: Buffer.alloc(0), mayPass: false }),
    // These are accepted (101), and then what follows must make the server end them.
    () => ({ what: 'port-forward over SPDY', bytes: request(`${pods}/${targets.boundPod}/portforward`, 'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n'), after: badSpdy(random), mayPass: true }),
    () => ({ what: 'port-forward over WebSocket', bytes: request(`${pods}/${targets.boundPod}/portforward`, wsHeaders('SPDY/3.1+portforward.k8s.io')), after: pick(random, [() => wsFrame(0x2, badSpdy(random).subarray(0, 65_000)), () => badWebSocketFrames(random)])(), mayPass: true }),
    () => ({ what: 'node tunnel', bytes: request('/api/v1/nodes/ghost-tunnel/tunnel', wsHeaders()), after: badWebSocketFrames(random), mayPass: true }),
    () => ({ what: 'node tunnel dial-back', bytes: request(`/api/v1/nodes/ghost/tunnel?request=${randomGarbage(random, 4).toString('hex')}`, wsHeaders()), after: badWebSocketFrames(random), mayPass: true }),
  ])();
  return { kind: 'upgrade', ...variant, mayPass: variant.mayPass && authenticated };
}

// ---- well-formed HTTP with hostile content

const PROTOBUF_FIXTURES = ['configmap', 'secret', 'namespace', 'deployment', 'service'].map((name) =>
  readFileSync(join(REPO_ROOT, 'libs', 'k8s-protobuf', 'src', 'fixtures', `kubectl-create-${name}.pb`)),
);

const SEEDS: Array<{ collection: string; body: Record<string, unknown> }> = [
  { collection: 'configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } } },
  { collection: 'pods', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'p' } }, spec: podSpec } },
  { collection: 'services', body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'p' }, ports: [{ port: 80 }] } } },
  { collection: 'deployments', body: { ...DEPLOYMENT, metadata: { name: 'd' } } },
];

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function protoPatch(random: Random): { contentType: string; body: string } {
  const evil = { deletionTimestamp: '2020-01-01T00:00:00Z', polluted: true };
  const variant = pick(random, [
    () => ({ contentType: pick(random, PATCH_TYPES), body: `{"metadata":{"__proto__":${JSON.stringify(evil)}}}` }),
    () => ({ contentType: pick(random, PATCH_TYPES), body: `{"apiVersion":"v1","kind":"ConfigMap","__proto__":{"polluted":true}}` }),
    () => ({ contentType: 'application/apply-patch+yaml', body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  __proto__:\n    deletionTimestamp: x\n' }),
    () => ({ contentType: 'application/strategic-merge-patch+json', body: pick(random, ['{"metadata":{"$setElementOrder/__proto__":[{"x":1}]}}', '{"metadata":{"$deleteFromPrimitiveList/__proto__":["x"]}}', '{"spec":{"containers":[{"name":"c","__proto__":{"x":1}}]}}']) }),
    () => ({
      contentType: 'application/json-patch+json',
      body: JSON.stringify([
        pick(random, [
          { op: 'add', path: '/metadata/__proto__', value: evil },
          { op: 'add', path: '/__proto__/polluted', value: true },
          { op: 'replace', path: '/metadata/__proto__', value: evil },
          { op: 'copy', from: '/metadata', path: '/metadata/labels/__proto__' },
          { op: 'move', from: '/metadata/labels', path: '/spec/__proto__' },
          { op: 'test', path: '/metadata/__proto__', value: {} },
          { op: 'remove', path: '/metadata/__proto__/toString' },
          { op: 'add', path: '/metadata/constructor/prototype/polluted', value: true },
        ]),
      ]),
    }),
  ])();
  return variant;
}

function hostileHttp(random: Random, targets: Targets): Hostile {
  const authenticated = chance(random, 0.8);
  const o = { authenticated, targets };
  const target = pick(random, PROTECTED_OBJECTS);
  const objectPath = `${collectionPath(PROTECTED, target.collection)}/${(target.body.metadata as { name: string }).name}`;
  const seed = pick(random, SEEDS);
  const attackCollection = collectionPath(ATTACK, seed.collection);
  const attackObject = `${attackCollection}/${(seed.body.metadata as { name: string }).name}`;
  const roll = random();

  // Must be refused: these go at the protected objects.
  if (roll < 0.08) {
    const levels = pick(random, [101, 1000, 5000, 100_000]);
    const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"config"},"data":{"a":${deepJson(random, levels)}}}`;
    const method = pick(random, ['POST', 'PUT', 'PATCH']);
    const path = method === 'POST' ? collectionPath(PROTECTED, 'configmaps') : objectPaths[0]!;
    return http(`JSON ${levels} deep`, method, path, { ...o, contentType: method === 'PATCH' ? pick(random, PATCH_TYPES) : 'application/json', body });
  }
  if (roll < 0.1) {
    const body = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  a: ${deepYaml(random, pick(random, [101, 5000]))}\n`;
    return http('YAML deep', 'POST', collectionPath(PROTECTED, 'configmaps'), { ...o, contentType: 'application/yaml', body });
  }
  if (roll < 0.102) {
    const body = pick(random, [
      () => `a: [${Array(110_000).fill('1').join(',')}`,
      () => {
        let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
        let previous = 'a';
        for (const name of 'bcdefgh') {
          bomb += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
          previous = name;
        }
        return bomb;
      },
      () => 'spec:\n  replicas: .inf\n',
    ])();
    return http('YAML bomb', 'PATCH', `${objectPaths[0]!}?fieldManager=attacker`, { ...o, contentType: 'application/apply-patch+yaml', body });
  }
  if (roll < 0.3) {
    const { contentType, body } = protoPatch(random);
    return http(`__proto__ ${contentType}`, 'PATCH', `${objectPath}?fieldManager=attacker`, { ...o, contentType, body });
  }
  if (roll < 0.36) {
    const planted = plant(random, target.body, '__proto__', { deletionTimestamp: '2020-01-01T00:00:00Z', polluted: true });
    return http('__proto__ in a body', pick(random, ['POST', 'PUT']), pick(random, [collectionPath(PROTECTED, target.collection), objectPath]), { ...o, contentType: pick(random, ['application/json', 'application/yaml']), body: JSON.stringify(planted) });
  }
  if (roll < 0.46) {
    const [method, query] = pick(random, [
      ['DELETE', 'gracePeriodSeconds=1e20'],
      ['DELETE', 'gracePeriodSeconds=99999999999999999999999'],
      ['DELETE', `gracePeriodSeconds=${encodeURIComponent(pick(random, ['-1e300', '1.5', 'NaN', '0x10', ' 1', 'Infinity']))}`],
      ['DELETE', 'propagationPolicy=Sideways'],
      ['DELETE', 'dryRun=Most'],
      ['GET', 'watch=1&timeoutSeconds=1e20'],
      ['GET', 'watch=1&timeoutSeconds=-5'],
      ['GET', 'watch=1&resourceVersion=99999999999999999999999'],
      ['GET', 'watch=1&resourceVersion=1e3'],
      ['PUT', 'fieldValidation=Loose'],
      ['PATCH', 'force=maybe'],
      ['PATCH', `fieldManager=${'m'.repeat(200)}`],
    ] as const);
    const path = method === 'GET' ? `${collectionPath(PROTECTED, target.collection)}?${query}` : `${objectPath}?${query}`;
    const body = method === 'DELETE' ? (chance(random, 0.5) ? '{"gracePeriodSeconds":1e400}' : undefined) : JSON.stringify(target.body);
    return http(`query ${query.slice(0, 40)}`, method, path, { ...o, contentType: method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', body });
  }
  if (roll < 0.49) {
    const query = pick(random, ['limit=1e20', 'limit=-5', 'limit=x', 'watch=1&includeObject=All', 'includeObject=Everything']);
    // includeObject is a Table option: it is read (and refused) when a Table is asked for.
    return http(`list ${query}`, 'GET', `${collectionPath(PROTECTED, target.collection)}?${query}`, { ...o, headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
  }
  if (roll < 0.52) {
    const query = pick(random, ['sinceSeconds=99999999999999999999', 'sinceSeconds=0', 'tailLines=-1', 'limitBytes=1e30', 'sinceTime=yesterday', 'container=nope']);
    return http(`log ${query}`, 'GET', `/api/v1/namespaces/${PROTECTED}/pods/${targets.boundPod}/log?${query}`, o);
  }
  if (roll < 0.6) {
    // Garbage and mutated protobuf, for the attack namespace: a mutation may still be a valid object.
    const body = Buffer.from(pick(random, PROTOBUF_FIXTURES));
    if (chance(random, 0.2)) return http('random protobuf', 'POST', collectionPath(ATTACK, 'configmaps'), { ...o, contentType: 'application/vnd.kubernetes.protobuf', body: Buffer.concat([Buffer.from('k8s\0', 'latin1'), randomGarbage(random, 200)]) });
    for (let i = 0, flips = 1 + Math.floor(random() * 4); i < flips; i++) body[4 + Math.floor(random() * (body.length - 4))] = Math.floor(random() * 256);
    const collection = pick(random, ['configmaps', 'secrets', 'services', 'namespaces', 'deployments']);
    const path = collection === 'namespaces' ? '/api/v1/namespaces' : collectionPath(ATTACK, collection);
    return http('mutated protobuf', 'POST', path, { ...o, contentType: 'application/vnd.kubernetes.protobuf', body: chance(random, 0.3) ? body.subarray(0, Math.floor(random() * body.length)) : body, mayPass: true });
  }
  if (roll < 0.72) {
    // The fuzzer's mutations of valid objects, and prototype-ish keys as plain data: may be valid.
    let doc = mutate(random, structuredClone(seed.body));
    if (chance(random, 0.4)) doc = plant(random, doc, pick(random, PROTO_KEYS.slice(1)), pick(random, [1, 'x', { prototype: { polluted: true } }, ['a']]));
    const method = pick(random, ['POST', 'PUT', 'PATCH', 'PATCH']);
    const contentType = method === 'PATCH' ? pick(random, PATCH_TYPES) : pick(random, ['application/json', 'application/yaml']);
    return http('mutated object', method, method === 'POST' ? attackCollection : `${attackObject}?fieldManager=fuzz`, { ...o, contentType, body: JSON.stringify(doc), mayPass: true });
  }
  if (roll < 0.78) {
    const key = pick(random, PROTO_KEYS.slice(1));
    const ops = [
      { op: 'add', path: `/metadata/labels/${key}`, value: 'x' },
      { op: pick(random, ['copy', 'move']), from: '/metadata/labels', path: `/metadata/annotations` },
      { op: 'test', path: `/metadata/${key}`, value: 1 },
      { op: 'remove', path: `/metadata/labels/${key}` },
    ].slice(0, 1 + Math.floor(random() * 4));
    return http('json patch of plain keys', 'PATCH', attackObject, { ...o, contentType: 'application/json-patch+json', body: JSON.stringify(ops), mayPass: true });
  }
  if (roll < 0.84) {
    const selector = pick(random, [
      () => `labelSelector=${encodeURIComponent(randomGarbage(random, 30).toString('latin1'))}`,
      () => `labelSelector=${encodeURIComponent('a in ('.repeat(100))}`,
      () => `fieldSelector=${encodeURIComponent(pick(random, ['metadata.name', 'spec.nodeName', '__proto__', 'constructor']))}=${encodeURIComponent('x')}`,
      () => `labelSelector=${encodeURIComponent(pick(random, PROTO_KEYS))}`,
      () => `fieldSelector=${'a'.repeat(3000)}`,
    ])();
    return http('selector', 'GET', `${collectionPath(pick(random, [PROTECTED, ATTACK]), seed.collection)}?${selector}`, { ...o, mayPass: true });
  }
  if (roll < 0.88) {
    const accept = pick(random, ['application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=Table;v=v9;g=meta.k8s.io', 'application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io', '*/*;q=0', randomGarbage(random, 20).toString('hex')]);
    const path = pick(random, [objectPaths[0]!, collectionPath(PROTECTED, target.collection), '/api', '/apis', '/openapi/v3']);
    return http('accept', 'GET', path, { ...o, headers: { Accept: accept }, mayPass: true });
  }
  if (roll < 0.921) {
    const body = pick(random, [() => randomGarbage(random, 1 + Math.floor(random() * 500)), () => Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"b"'), () => Buffer.alloc(0)]);
    const contentType = pick(random, ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', 'application/json-patch+json', '']);
    return http('garbage body', pick(random, ['POST', 'PUT', 'PATCH']), pick(random, [collectionPath(PROTECTED, target.collection), objectPath]), { ...o, contentType, body: body() });
  }
  if (roll < 0.922) {
    const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    return http('oversized body', 'POST', collectionPath(PROTECTED, 'configmaps'), { ...o, contentType: 'application/json', body: big });
  }
  if (roll < 0.96) {
    const path = pick(random, [
      `/api/v1/namespaces/${PROTECTED}/pods/${targets.unboundPod}/exec?command=sh`,
      `/api/v1/namespaces/${PROTECTED}/pods/${targets.unboundPod}/binding`,
      `/api/v1/namespaces/${PROTECTED}/configmaps/config/status`,
      `/api/v1/namespaces/${PROTECTED}/deployments/deployment/scale`,
      '/api/v1/nodes/ghost/proxy/x',
      '/apis/metrics.k8s.io/v1beta1/namespaces/protected/pods/%zz',
      '/api/v9/namespaces',
      '/apis/apps/v1/namespaces/protected/widgets',
      '/version/x',
      '/v1-berth/node-certificate',
    ]);
    const body = path.startsWith('/v1-berth') ? randomGarbage(random, 1 + Math.floor(random() * 2000)) : '{}';
    return http('odd path', pick(random, ['GET', 'POST', 'PUT', 'DELETE']), path, { ...o, contentType: 'application/json', body });
  }
  // A whole namespace's objects must survive any DELETE the attack sends them: every one of these is malformed.
  const query = pick(random, ['gracePeriodSeconds=1e20', 'propagationPolicy=Sideways', 'dryRun=Most', 'limit=-1']);
  return http('delete collection', 'DELETE', `${collectionPath(PROTECTED, target.collection)}?${query}`, o);
}

/** The next hostile request of the seeded sequence: the mix of kinds is fixed, the details come from `random`. */
export function hostileRequest(random: Random, targets: Targets): Hostile {
  const roll = random();
  if (roll < 0.08) return requestTarget(random, targets);
  if (roll < 0.12) return headerFlood(random, targets);
  if (roll < 0.16) return brokenFraming(random, targets);
  if (roll < 0.2) return garbage(random, targets);
  if (roll < 0.24) return upgrade(random, targets);
  return hostileHttp(random, targets);
}
