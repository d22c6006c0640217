import { KubeObject, resourceForKind } from '@berth/api';
import { BerthError } from '@berth/errors';
import { applyJsonMergePatch, applyJsonPatch, applyStrategicMergePatch, CheckedDocument, recordUpdate, serverSideApply } from './index';

/**
 * Patches written by an attacker: `__proto__` keys (as JSON.parse and YAML give them: own properties),
 * pointers and directives naming prototypes, managed fields naming them. Each is refused with a
 * BadRequest or treated as plain data; none may write to (or delete from) a prototype.
 */
const pods = resourceForKind('v1', 'Pod')!;
const configMaps = resourceForKind('v1', 'ConfigMap')!;
const SENTINEL = 'berthPrototypeSentinel';

function live(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', labels: { app: 'p' }, finalizers: ['a'] },
    spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }] }] },
  } as KubeObject;
}

/** Runs the patch; a refusal must be a BadRequest (or, for a JSON patch operation that fails, Invalid). Returns the result, or undefined when refused. */
function attempt(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof BerthError) || (err.reason !== 'BadRequest' && err.reason !== 'Invalid')) throw err;
    return undefined;
  }
}

/**
 * Under jest, object literals get the test realm's Object.prototype and structuredClone (the patches'
 * copies) the main realm's: both are probed.
 */
const PROTOTYPES = [Object.prototype, Object.getPrototypeOf(structuredClone({})) as object];

function expectUnpolluted(): void {
  for (const prototype of PROTOTYPES) {
    const probe = Object.create(prototype) as Record<string, unknown>;
    expect(probe.deletionTimestamp).toBeUndefined();
    expect(probe.polluted).toBeUndefined();
    expect(probe.x).toBeUndefined();
    expect(Object.getOwnPropertyNames(prototype)).toEqual(expect.arrayContaining([SENTINEL, 'hasOwnProperty', 'toString']));
  }
}

/** Every object reached through the result is a plain one (its prototype some realm's Object.prototype). */
function expectPlain(value: unknown): void {
  if (Array.isArray(value)) return value.forEach(expectPlain);
  if (value && typeof value === 'object') {
    expect(PROTOTYPES).toContain(Object.getPrototypeOf(value));
    for (const key of Object.keys(value)) expectPlain((value as Record<string, unknown>)[key]);
  }
}

const parse = (json: string) => JSON.parse(json) as unknown;
const PROTO_PATCH = '{"metadata":{"__proto__":{"deletionTimestamp":"2020-01-01T00:00:00Z","polluted":true}}}';

beforeAll(() => {
  // A property on Object.prototype a hostile delete could take away: it must still be there afterwards.
  for (const prototype of PROTOTYPES) Object.defineProperty(prototype, SENTINEL, { value: 1, configurable: true, writable: true, enumerable: false });
});
afterAll(() => {
  for (const prototype of PROTOTYPES) delete (prototype as Record<string, unknown>)[SENTINEL];
});
afterEach(expectUnpolluted);

describe('JSON merge patch', () => {
  it.each([PROTO_PATCH, '{"__proto__":{"polluted":true}}', '{"spec":{"containers":[{"__proto__":{"x":1}}]}}'])('refuses %s', (patch) => {
    expect(attempt(() => applyJsonMergePatch(live(), parse(patch)))).toBeUndefined();
  });

  it('merges constructor, prototype and toString as plain keys', () => {
    const result = applyJsonMergePatch(live(), parse('{"metadata":{"labels":{"constructor":"a","prototype":"b","toString":"c","hasOwnProperty":"d"}},"constructor":{"prototype":{"polluted":true}}}'));
    expect((result as KubeObject).metadata.labels).toEqual({ app: 'p', constructor: 'a', prototype: 'b', toString: 'c', hasOwnProperty: 'd' });
    expectPlain(result);
  });
});

describe('strategic merge patch', () => {
  it.each([
    PROTO_PATCH,
    '{"spec":{"containers":[{"name":"c","__proto__":{"x":1}}]}}',
    '{"metadata":{"$setElementOrder/__proto__":[{"x":1}]}}',
    '{"metadata":{"$deleteFromPrimitiveList/__proto__":["x"]}}',
    '{"spec":{"$setElementOrder/containers":[{"name":"c"}],"containers":[{"name":"__proto__"}]}}',
  ])('refuses or neutralizes %s', (patch) => {
    const result = attempt(() => applyStrategicMergePatch(pods, live(), parse(patch)));
    if (result !== undefined) expectPlain(result);
  });

  it('keeps $retainKeys and $patch directives to the object they are in', () => {
    const result = applyStrategicMergePatch(pods, live(), parse('{"metadata":{"$retainKeys":["__proto__","constructor","name"],"constructor":{"$patch":"replace","prototype":{"polluted":true}}}}'));
    expect(result.metadata).toEqual({ name: 'p', constructor: { prototype: { polluted: true } } });
    expectPlain(result);
  });

  it('merges constructor and prototype as plain keys, in maps and keyed lists', () => {
    const result = applyStrategicMergePatch(pods, live(), parse('{"spec":{"constructor":{"prototype":{"polluted":true}},"containers":[{"name":"constructor","image":"x"}]},"metadata":{"labels":{"toString":"t"}}}'));
    expect((result.spec as { constructor: unknown }).constructor).toEqual({ prototype: { polluted: true } });
    expect(result.metadata.labels).toEqual({ app: 'p', toString: 't' });
    expectPlain(result);
  });
});

describe('JSON patch', () => {
  const at = (ops: unknown[]) => attempt(() => applyJsonPatch(live(), ops));

  it.each([
    [{ op: 'add', path: '/metadata/__proto__', value: { deletionTimestamp: 'x' } }],
    [{ op: 'add', path: '/__proto__/polluted', value: true }],
    [{ op: 'replace', path: '/metadata/__proto__', value: { polluted: true } }],
    [{ op: 'add', path: '/metadata/constructor/prototype/polluted', value: true }],
    [{ op: 'copy', from: '/metadata', path: '/metadata/labels/__proto__' }],
    [{ op: 'move', from: '/metadata/labels', path: '/spec/__proto__' }],
    [{ op: 'remove', path: '/metadata/__proto__/' + SENTINEL }],
    [{ op: 'remove', path: '/metadata/labels/hasOwnProperty' }],
    [{ op: 'test', path: '/metadata/__proto__', value: {} }],
    [{ op: 'add', path: '/metadata/labels/x', value: parse('{"__proto__":{"polluted":true}}') }],
  ])('refuses %j', (op) => {
    expect(at([op])).toBeUndefined();
  });

  it('adds, copies and tests constructor and prototype as plain members', () => {
    const result = at([
      { op: 'add', path: '/metadata/labels/constructor', value: 'a' },
      { op: 'copy', from: '/metadata/labels/constructor', path: '/metadata/labels/prototype' },
      { op: 'test', path: '/metadata/labels/prototype', value: 'a' },
    ]) as KubeObject;
    expect(result.metadata.labels).toEqual({ app: 'p', constructor: 'a', prototype: 'a' });
    expectPlain(result);
  });
});

describe('server-side apply and managed fields', () => {
  const options = { manager: 'm', force: true, now: new Date(0) };

  it('refuses an applied configuration with __proto__', () => {
    const applied = parse(`{"apiVersion":"v1","kind":"Pod",${PROTO_PATCH.slice(1, -1)}}`) as KubeObject;
    expect(attempt(() => serverSideApply(pods, live(), applied, options))).toBeUndefined();
    expect(attempt(() => serverSideApply(pods, undefined, applied, options))).toBeUndefined();
  });

  it('never deletes from a prototype through managed fields that name one', () => {
    const owned = live();
    // A manager's set written by a client: applying nothing again "abandons" these paths.
    owned.metadata.managedFields = [
      {
        manager: 'm',
        operation: 'Apply',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: parse(`{"f:metadata":{"f:__proto__":{"f:${SENTINEL}":{}},"f:labels":{"f:hasOwnProperty":{},"f:constructor":{"f:prototype":{}}}}}`) as Record<string, unknown>,
      },
    ];
    const applied = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } as KubeObject;
    const result = attempt(() => serverSideApply(pods, owned, applied, options));
    if (result !== undefined) expectPlain(result);
    const updated = attempt(() => recordUpdate(pods, owned, live(), 'other', new Date(0)));
    if (updated !== undefined) expectPlain(updated);
  });

  it('applies and records constructor and prototype as plain fields', () => {
    const applied = parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"constructor":"a"}},"data":{"prototype":"b","toString":"c"}}') as KubeObject;
    const created = serverSideApply(configMaps, undefined, applied, options);
    expect(created.metadata.labels).toEqual({ constructor: 'a' });
    expect((created as unknown as { data: unknown }).data).toEqual({ prototype: 'b', toString: 'c' });
    expect(JSON.stringify(created.metadata.managedFields)).toContain('"f:constructor"');
    expectPlain(created);
  });
});

describe('CheckedDocument', () => {
  it('is only made by a check that refuses what the patch functions refuse', () => {
    for (const patch of [PROTO_PATCH, '{"spec":{"containers":[{"__proto__":{"x":1}}]}}']) {
      expect(attempt(() => CheckedDocument.check(parse(patch), 'the merge patch'))).toBeUndefined();
    }
  });

  it('is applied as its document is, by every patch function', () => {
    const merge = parse('{"metadata":{"labels":{"constructor":"a"}}}');
    expect(applyJsonMergePatch(live(), CheckedDocument.check(merge, 'the merge patch'))).toEqual(applyJsonMergePatch(live(), merge));
    expect(applyStrategicMergePatch(pods, live(), CheckedDocument.check(merge, 'the patch'))).toEqual(applyStrategicMergePatch(pods, live(), merge));
    const ops = [{ op: 'add', path: '/metadata/labels/constructor', value: 'a' }];
    expect(applyJsonPatch(live(), CheckedDocument.check(ops, 'the json patch'))).toEqual(applyJsonPatch(live(), ops));
    const applied = parse('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"constructor":"a"}}}') as KubeObject;
    const options = { manager: 'm', force: true, now: new Date(0) };
    expect(serverSideApply(pods, live(), CheckedDocument.check(applied, 'the applied configuration'), options)).toEqual(serverSideApply(pods, live(), applied, options));
  });
});
