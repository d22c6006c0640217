import { interpolate } from './interpolate';

const env: Record<string, string> = { NAME: 'web', EMPTY: '', PORT: '8080' };
const lookup = (name: string) => (Object.hasOwn(env, name) ? env[name] : undefined);
const run = (text: string) => interpolate(text, lookup);

describe('interpolate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['$NAME', 'web'],
    ['${NAME}-1', 'web-1'],
    ['a$NAME.b', 'aweb.b'],
    ['$$NAME', '$NAME'],
    ['cost: $$5', 'cost: $5'],
    ['${UNSET}', ''],
    ['${UNSET:-x}', 'x'],
    ['${EMPTY:-x}', 'x'],
    ['${EMPTY-x}', ''],
    ['${UNSET-x}', 'x'],
    ['${NAME:-x}', 'web'],
    ['${NAME:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${UNSET:-${ALSO_UNSET:-${PORT}}}', '8080'],
    ['${UNSET:-a:b-c}', 'a:b-c'],
    ['${NAME:?must be set}', 'web'],
    ['${NAME:-${UNSET:?never evaluated}}', 'web'],
    ['http://${NAME}:${PORT}/', 'http://web:8080/'],
  ])('%s → %s', (text, expected) => expect(run(text)).toBe(expected));

  it('refuses a missing required variable with its message', () => {
    expect(() => run('${UNSET:?set it in .env}')).toThrow('required variable UNSET is missing a value: set it in .env');
    expect(() => run('${EMPTY:?}')).toThrow('required variable EMPTY is missing a value');
    expect(() => run('${UNSET?}')).toThrow('required variable UNSET is missing a value');
    expect(run('${EMPTY?}')).toBe('');
  });

  it.each(['${', '${NAME', '${}', '${1A}', '$1', 'trailing $', '${NAME!x}'])('refuses the malformed %j', (text) => {
    expect(() => run(text)).toThrow(/invalid interpolation format/);
  });
});
