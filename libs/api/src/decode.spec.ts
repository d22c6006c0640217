import { BerthError } from '@berth/errors';
import { checkDecoded, decodeJson, decodeYaml, decodeYamlDocuments, MAX_NESTING_DEPTH, MAX_YAML_TOKENS } from './decode';

function refusal(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** `{"a":{"a":...1...}}`, `levels` objects deep. */
const nestedJson = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('decodeJson', () => {
  it('decodes JSON and names the body in its refusals', () => {
    expect(decodeJson('{"a":[1,"x",null,true]}')).toEqual({ a: [1, 'x', null, true] });
    expect(refusal(() => decodeJson('{"a":'))).toMatchObject({ reason: 'BadRequest', message: expect.stringMatching(/^the body of the request could not be decoded as JSON/) });
  });

  it(`accepts ${MAX_NESTING_DEPTH} levels and refuses more, also 100,000 levels inside a field`, () => {
    expect(() => decodeJson(nestedJson(MAX_NESTING_DEPTH))).not.toThrow();
    expect(refusal(() => decodeJson(nestedJson(MAX_NESTING_DEPTH + 1))).message).toMatch(`nests deeper than ${MAX_NESTING_DEPTH} levels at a.a.a`);
    const deepInField = `{"metadata":{"name":"x"},"spec":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expect(refusal(() => decodeJson(deepInField)).reason).toBe('BadRequest');
  });

  it('refuses __proto__ keys anywhere, and keeps constructor and prototype as data', () => {
    expect(refusal(() => decodeJson('{"metadata":{"labels":{"__proto__":{"x":"y"}}}}')).message).toBe(
      'the body of the request has a field named "__proto__" at metadata.labels.__proto__, which is not allowed',
    );
    expect(refusal(() => decodeJson('[{"a":[{"__proto__":1}]}]')).message).toContain('at [0].a[0].__proto__');
    const data = decodeJson('{"constructor":{"prototype":{"polluted":true}},"toString":"x"}') as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['constructor', 'toString']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses numbers JSON text can write but no float holds', () => {
    expect(refusal(() => decodeJson('{"spec":{"replicas":1e400}}')).message).toBe('the body of the request has a number out of range at spec.replicas');
  });
});

describe('decodeYaml', () => {
  it('decodes YAML, and JSON text on its fast path', () => {
    expect(decodeYaml('a: [1, {b: c}]\nd:\n  - e\n')).toEqual({ a: [1, { b: 'c' }], d: ['e'] });
    expect(decodeYaml('{"a": 1}')).toEqual({ a: 1 });
    expect(decodeYaml('{a: 1}')).toEqual({ a: 1 });
    expect(refusal(() => decodeYaml('a: 1\n---\nb: 2\n')).message).toContain('2 documents');
    expect(decodeYamlDocuments('a: 1\n---\nb: 2\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('refuses deep nesting before the yaml library recurses into it, in flow and block style', () => {
    const shapes = (levels: number) => ['['.repeat(levels) + ']'.repeat(levels), '{a: '.repeat(levels) + '1' + '}'.repeat(levels), '- '.repeat(levels) + 'x\n', `spec:\n  x: ${'['.repeat(levels)}${']'.repeat(levels)}\n`];
    for (const text of shapes(10_000)) expect(refusal(() => decodeYaml(text)).message).toContain(`nests deeper than ${MAX_NESTING_DEPTH} levels`);
    // Deeper still, the token limit refuses them first.
    for (const text of shapes(100_000)) expect(refusal(() => decodeYaml(text)).reason).toBe('BadRequest');
    expect(() => decodeYaml('- '.repeat(MAX_NESTING_DEPTH) + 'x\n')).not.toThrow();
  });

  it('refuses bodies with more tokens than it parses, but not long block scalars', () => {
    const dense = `[${Array(MAX_YAML_TOKENS).fill('1').join(', ')}]`.replace(/^\[/, 'x: [');
    expect(refusal(() => decodeYaml(dense)).message).toContain(`more than ${MAX_YAML_TOKENS} tokens`);
    const literal = `data:\n  big: |\n${'    a line of a config file [x] {y}\n'.repeat(20_000)}`;
    expect((decodeYaml(literal) as { data: { big: string } }).data.big.length).toBeGreaterThan(600_000);
  });

  it('refuses alias bombs', () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let previous = 'a';
    for (const name of 'bcdefghi') {
      bomb += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
      previous = name;
    }
    expect(refusal(() => decodeYaml(bomb)).message).toContain('alias');
  });

  it('refuses __proto__ keys and values JSON cannot hold', () => {
    expect(refusal(() => decodeYaml('metadata:\n  __proto__:\n    deletionTimestamp: x\n')).message).toContain('"__proto__" at metadata.__proto__');
    expect(({} as Record<string, unknown>).deletionTimestamp).toBeUndefined();
    expect(refusal(() => decodeYaml('spec:\n  replicas: .inf\n')).message).toContain('number out of range at spec.replicas');
  });
});

describe('checkDecoded', () => {
  it('refuses what JSON cannot hold: class instances, functions, undefined', () => {
    expect(refusal(() => checkDecoded({ a: new Date(0) }, 'the object')).message).toBe('the object has a value JSON cannot hold at a');
    expect(refusal(() => checkDecoded({ a: () => 1 }, 'the object')).reason).toBe('BadRequest');
    expect(refusal(() => checkDecoded([undefined], 'the object')).reason).toBe('BadRequest');
  });
});
