import { applyDefaults } from '../defaults';
import { RESOURCES } from '../registry';
import type { KubeObject } from '../types';
import { validateObject } from '../validation';
import * as fixtures from './fixtures';

const FIXTURES = [
  fixtures.podFixture,
  fixtures.deploymentFixture,
  fixtures.replicaSetFixture,
  fixtures.serviceFixture,
  fixtures.namespaceFixture,
  fixtures.nodeFixture,
  fixtures.leaseFixture,
  fixtures.eventFixture,
  fixtures.endpointsFixture,
  fixtures.configMapFixture,
  fixtures.secretFixture,
];

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const REPLACEMENTS: unknown[] = [
  null,
  0,
  -1,
  1.5,
  70000,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  'x',
  'Bad_Name',
  '1e999',
  '12Qi',
  '-5',
  '0%',
  '101%',
  true,
  [],
  [null],
  ['x'],
  [{}],
  {},
  { a: 1 },
  { matchLabels: { app: 5 } },
  { matchExpressions: [{ key: 'a', operator: 'In' }] },
];

/** Every container (object or list) inside a JSON value, with its keys. */
function containers(value: unknown, out: Array<Record<string, unknown> | unknown[]> = []): Array<Record<string, unknown> | unknown[]> {
  if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
    out.push(value as Record<string, unknown>);
    for (const item of Object.values(value)) containers(item, out);
  }
  return out;
}

function mutate(obj: KubeObject, rand: () => number): void {
  const all = containers(obj);
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    const target = all[Math.floor(rand() * all.length)] as Record<string, unknown>;
    const keys = Object.keys(target);
    const pick = rand();
    if (pick < 0.1 || keys.length === 0) target[`extra${Math.floor(rand() * 3)}`] = 'x';
    else if (pick < 0.25) delete target[keys[Math.floor(rand() * keys.length)]];
    else target[keys[Math.floor(rand() * keys.length)]] = structuredClone(REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)]);
  }
}

describe('validateObject on hostile input', () => {
  it('answers a thousand mutated objects with causes, never an exception', () => {
    const rand = random(20261129);
    let invalid = 0;
    for (let i = 0; i < 1000; i++) {
      const obj = FIXTURES[i % FIXTURES.length]();
      const type = RESOURCES.find((r) => r.kind === obj.kind)!;
      mutate(obj, rand);
      applyDefaults(type, obj);
      const result = validateObject(type, obj, { fieldValidation: 'Strict' });
      for (const cause of result.causes) {
        expect(typeof cause.field).toBe('string');
        expect(cause.reason).toMatch(/^FieldValue[A-Za-z]+$/);
      }
      if (result.causes.length || result.unknownFields.length) invalid++;
    }
    // Most mutations break something; if none did, the checks are not running.
    expect(invalid).toBeGreaterThan(700);
  });

  it('reports prototype keys as unknown fields without polluting anything', () => {
    const type = RESOURCES.find((r) => r.kind === 'Pod')!;
    const obj = JSON.parse(
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","__proto__":{"polluted":1}},' +
        '"spec":{"containers":[{"name":"c","image":"i","constructor":{"prototype":{"polluted":1}}}]}}',
    ) as KubeObject;
    const result = validateObject(type, obj, { fieldValidation: 'Strict' });
    expect(result.causes).toEqual([]);
    expect(result.unknownFields).toEqual(['metadata.__proto__', 'spec.containers[0].constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers a pathologically deep body with a cause, not a crash', () => {
    const type = RESOURCES.find((r) => r.kind === 'Pod')!;
    const obj = fixtures.podFixture();
    obj.spec!.containers[0].command = JSON.parse('['.repeat(200000) + ']'.repeat(200000));
    const result = validateObject(type, obj, { fieldValidation: 'Strict', old: fixtures.podFixture() });
    expect(result.causes).toEqual([{ reason: 'FieldValueInvalid', message: 'the object is nested too deeply to be validated' }]);
  });

  it('reports a non-object body part by its path', () => {
    const type = RESOURCES.find((r) => r.kind === 'Deployment')!;
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: [] } as KubeObject;
    expect(validateObject(type, obj, { fieldValidation: 'Strict' }).causes).toEqual([
      { reason: 'FieldValueTypeInvalid', field: 'spec', message: 'Invalid value: []: must be an object' },
    ]);
  });
});
