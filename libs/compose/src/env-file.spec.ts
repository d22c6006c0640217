import { parseEnvFile } from './env-file';

const shell: Record<string, string> = { HOME: '/home/u', TAG: 'v1' };
const lookup = (name: string) => (Object.hasOwn(shell, name) ? shell[name] : undefined);

describe('parseEnvFile', () => {
  it('reads keys, comments, export, quotes and interpolation', () => {
    const text = [
      '# a comment',
      '',
      'A=1',
      'export B = two words  # trailing comment',
      "C='literal $A # not a comment'",
      'D="line\\nbreak ${A} \\"q\\""',
      'E=${A}-${TAG}',
      'F=',
      'HOME',
      'UNSET_IN_SHELL',
      'G="multi',
      'line"',
      'H=a#b',
    ].join('\n');
    expect({ ...parseEnvFile(text, lookup) }).toEqual({
      A: '1',
      B: 'two words',
      C: 'literal $A # not a comment',
      D: 'line\nbreak 1 "q"',
      E: '1-v1',
      F: '',
      HOME: '/home/u',
      G: 'multi\nline',
      H: 'a#b',
    });
  });

  it('takes values as written with raw', () => {
    expect({ ...parseEnvFile('A="${X}"\n', lookup, true) }).toEqual({ A: '"${X}"' });
  });

  it('names the line of a malformed entry', () => {
    expect(() => parseEnvFile('A=1\nnot a pair\n', lookup)).toThrow('line 2: "not a pair" is not KEY=value');
    expect(() => parseEnvFile('A="open\n', lookup)).toThrow('line 1: the value of A has no closing "');
    expect(() => parseEnvFile('A=${B:?needed}\n', lookup)).toThrow('line 1: required variable B is missing a value: needed');
  });

  it('keeps __proto__ as a plain key', () => {
    const values = parseEnvFile('__proto__=x\nconstructor=y\n', lookup);
    expect(Object.getPrototypeOf(values)).toBeNull();
    expect(values.__proto__).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
