import { applyJsonPatch } from './index';
import { failure, frozen } from './testing-helpers';

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = frozen({ foo: ['bar', 'baz'], 'a/b': 1, 'm~n': 2, obj: { x: 1 } });

  it.each<[string, unknown[], unknown]>([
    ['add to an object', [{ op: 'add', path: '/new', value: { y: 1 } }], { ...doc, new: { y: 1 } }],
    ['add inside an array', [{ op: 'add', path: '/foo/1', value: 'qux' }], { ...doc, foo: ['bar', 'qux', 'baz'] }],
    ['append with -', [{ op: 'add', path: '/foo/-', value: 'end' }], { ...doc, foo: ['bar', 'baz', 'end'] }],
    ['remove from an array', [{ op: 'remove', path: '/foo/0' }], { ...doc, foo: ['baz'] }],
    ['replace with ~1 escape', [{ op: 'replace', path: '/a~1b', value: 5 }], { ...doc, 'a/b': 5 }],
    ['replace with ~0 escape', [{ op: 'replace', path: '/m~0n', value: 6 }], { ...doc, 'm~n': 6 }],
    ['move', [{ op: 'move', from: '/obj/x', path: '/moved' }], { ...doc, obj: {}, moved: 1 }],
    ['copy', [{ op: 'copy', from: '/foo', path: '/bar' }], { ...doc, bar: ['bar', 'baz'] }],
    ['test then replace', [{ op: 'test', path: '/obj', value: { x: 1 } }, { op: 'replace', path: '/obj/x', value: 2 }], { ...doc, obj: { x: 2 } }],
    ['replace the root', [{ op: 'replace', path: '', value: [1] }], [1]],
    ['add at the root', [{ op: 'add', path: '', value: { only: true } }], { only: true }],
  ])('%s', (_name, ops, expected) => {
    expect(applyJsonPatch(doc, frozen(ops))).toEqual(expected);
  });

  it('copies values so the result does not alias the patch', () => {
    const value = { deep: [1] };
    const result = applyJsonPatch({}, [{ op: 'add', path: '/v', value }]) as { v: { deep: number[] } };
    result.v.deep.push(2);
    expect(value.deep).toEqual([1]);
  });

  it.each<[string, unknown]>([
    ['not an array', { op: 'add' }],
    ['an op that is not an object', ['add']],
    ['an unknown op', [{ op: 'frobnicate', path: '/a' }]],
    ['a missing path', [{ op: 'add', value: 1 }]],
    ['a path without a leading slash', [{ op: 'add', path: 'a', value: 1 }]],
    ['a bad escape', [{ op: 'add', path: '/a~2', value: 1 }]],
    ['add without a value', [{ op: 'add', path: '/a' }]],
    ['move without from', [{ op: 'move', path: '/a' }]],
  ])('rejects a malformed patch (%s) as BadRequest', (_name, ops) => {
    expect(failure(() => applyJsonPatch(doc, ops)).reason).toBe('BadRequest');
  });

  it.each<[string, unknown[], RegExp]>([
    ['a failed test', [{ op: 'test', path: '/obj/x', value: 2 }], /operation 0 \(test "\/obj\/x"\) failed: value is 1, expected 2/],
    ['removing a missing member', [{ op: 'remove', path: '/nope' }], /operation 0 \(remove "\/nope"\) failed: path "\/nope" does not exist/],
    ['replacing a missing member', [{ op: 'replace', path: '/obj/y', value: 1 }], /path "\/obj\/y" does not exist/],
    ['adding under a missing parent', [{ op: 'add', path: '/missing/child', value: 1 }], /path "\/missing" does not exist/],
    ['an index past the end', [{ op: 'add', path: '/foo/5', value: 1 }], /array index 5 is out of bounds/],
    ['a non-numeric index', [{ op: 'replace', path: '/foo/x', value: 1 }], /"x" is not an array index/],
    ['a leading-zero index', [{ op: 'remove', path: '/foo/01' }], /"01" is not an array index/],
    ['moving into a child', [{ op: 'move', from: '/obj', path: '/obj/x/y' }], /cannot move "\/obj" into its own child/],
    ['the second op failing', [{ op: 'add', path: '/z', value: 1 }, { op: 'remove', path: '/y' }], /operation 1 \(remove "\/y"\)/],
  ])('reports %s as Invalid naming the op', (_name, ops, message) => {
    const err = failure(() => applyJsonPatch(doc, ops));
    expect(err.reason).toBe('Invalid');
    expect(err.message).toMatch(message);
  });
});
