import { KubeObject, resourceForKind } from '@berth/api';
import { BerthError } from '@berth/errors';
import { applyJsonMergePatch, applyJsonPatch, applyStrategicMergePatch, recordUpdate, serverSideApply } from './index';

/** A small deterministic generator of JSON values shaped like (and unlike) Kubernetes objects. */
function generator(seed: number) {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const keys = ['metadata', 'spec', 'template', 'containers', 'ports', 'name', 'image', 'labels', 'finalizers', 'env', '$patch', '$retainKeys', '$setElementOrder/containers', '$deleteFromPrimitiveList/finalizers', 'containerPort', 'protocol', 'a'];
  const scalars = [null, 0, 1, -1, '', 'web', 'delete', 'replace', 'merge', true, false, 80, 'TCP'];
  const value = (depth: number): unknown => {
    const roll = random();
    if (depth <= 0 || roll < 0.35) return pick(scalars);
    if (roll < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth - 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(keys), value(depth - 1)]));
  };
  const pointer = () => ['', ...Array.from({ length: Math.floor(random() * 3) }, () => pick(['spec', 'containers', '0', '-', 'a', '1']))].join('/');
  const operation = () => ({ op: pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bad']), path: pointer(), from: pointer(), value: value(2) });
  return { value, operation, random };
}

function onlyBerthErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
  }
}

describe('patches on arbitrary input', () => {
  const pods = resourceForKind('v1', 'Pod')!;
  const gen = generator(7);

  it('either apply or throw a BerthError, and never mutate their inputs', () => {
    for (let i = 0; i < 1000; i++) {
      const target = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, ...(gen.value(4) as object) } as KubeObject;
      const patch = gen.value(5);
      const ops = Array.from({ length: 1 + Math.floor(gen.random() * 3) }, gen.operation);
      const snapshot = JSON.stringify([target, patch, ops]);
      onlyBerthErrors(() => applyJsonMergePatch(target, patch));
      onlyBerthErrors(() => applyJsonPatch(target, ops));
      onlyBerthErrors(() => applyStrategicMergePatch(pods, target, patch));
      const applied = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, ...(gen.value(4) as object) } as KubeObject;
      onlyBerthErrors(() => serverSideApply(pods, target, applied, { manager: 'm', force: gen.random() < 0.5, now: new Date(0) }));
      onlyBerthErrors(() => recordUpdate(pods, target, applied, 'm', new Date(0)));
      expect(JSON.stringify([target, patch, ops])).toBe(snapshot);
    }
  });
});
