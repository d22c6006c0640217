import { formatGoValue, JsonPath, relaxedJsonPath } from './jsonpath';

const LIST = {
  kind: 'List',
  items: [
    { metadata: { name: 'a', labels: { app: 'web', 'k8s.io/role': 'front' } }, spec: { containers: [{ name: 'c1', image: 'busybox' }, { name: 'c2', image: 'nginx' }] }, status: { phase: 'Running', restarts: 2 } },
    { metadata: { name: 'b', labels: { app: 'db' } }, spec: { containers: [{ name: 'd', image: 'postgres' }] }, status: { phase: 'Pending', restarts: 0 } },
  ],
};

const print = (template: string, data: unknown = LIST) => new JsonPath(template).print(data);

describe('kubectl JSONPath', () => {
  it.each([
    ['{.items[*].metadata.name}', 'a b'],
    ['{.items[0].metadata.name}', 'a'],
    ['{.items[-1].metadata.name}', 'b'],
    ['{.items[0:1].metadata.name}', 'a'],
    ['{.items[*].spec.containers[*].image}', 'busybox nginx postgres'],
    ['{..image}', 'busybox nginx postgres'],
    ['{.items[0].metadata.labels.k8s\\.io/role}', 'front'],
    ["{.items[0].metadata.labels['k8s.io/role']}", 'front'],
    ['{.items[?(@.status.phase=="Running")].metadata.name}', 'a'],
    ["{.items[?(@.status.phase!='Running')].metadata.name}", 'b'],
    ['{.items[?(@.status.restarts>1)].metadata.name}', 'a'],
    ['{.items[?(@.metadata.labels.app)].metadata.name}', 'a b'],
    ['{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}', 'a\tRunning\nb\tPending\n'],
    ['{range .items[*]}[{range .spec.containers[*]}{.name},{end}]{end}', '[c1,c2,][d,]'],
    ['names: {.items[*].metadata.name}!', 'names: a b!'],
    ['{.items[0].metadata.labels}', '{"app":"web","k8s.io/role":"front"}'],
    ['{.items[1].status.restarts}', '0'],
    ['{.kind}{.missing.key}', 'List'],
    ['{$.kind}', 'List'],
    ['{.items[5].metadata.name}', ''],
    ["{.items[*]['metadata.name']}", ''],
  ])('%s prints %j', (template, expected) => {
    expect(print(template)).toBe(expected);
  });

  it.each([['{.items['], ['{range .items[*]}{.x}'], ['{end}'], ['{.items[?(@.a ~ 1)]}'], ['{.a b}']])('refuses %s in one line', (template) => {
    expect(() => print(template)).toThrow(/^error parsing jsonpath /);
  });

  it('reaches nothing through a prototype', () => {
    expect(print('{.constructor}{.__proto__}{.items.length}{.kind.length}')).toBe('');
    expect(print('{.a}', JSON.parse('{"__proto__":{"a":"x"}}'))).toBe('');
  });

  it('takes the relaxed forms of custom columns and --sort-by', () => {
    for (const form of ['.metadata.name', 'metadata.name', '{.metadata.name}']) {
      expect(relaxedJsonPath(form).values(LIST.items[1])).toEqual(['b']);
    }
  });
});

describe('formatGoValue', () => {
  it('prints values as Go\'s %v, as custom columns show them', () => {
    expect(formatGoValue({ b: '2', a: [1, 'x'], c: null })).toBe('map[a:[1 x] b:2 c:<nil>]');
    expect(formatGoValue('text')).toBe('text');
  });
});
