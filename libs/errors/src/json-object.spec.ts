import { isBerthError } from './errors';
import { parseJsonObject } from './json-object';

describe('parseJsonObject', () => {
  it('answers the object', () => {
    expect(parseJsonObject('{"a":1}', 'x')).toEqual({ a: 1 });
  });

  it.each(['', 'nope', '[]', 'null', '3', '"s"', '{"a":'])('refuses %j with BadRequest naming what it is', (text) => {
    let caught: unknown;
    try {
      parseJsonObject(text, 'a join request');
    } catch (err) {
      caught = err;
    }
    expect(isBerthError(caught, 'BadRequest')).toBe(true);
    expect((caught as Error).message).toBe('a join request is not a JSON object');
  });

  it('leaves Object.prototype alone', () => {
    const parsed = parseJsonObject('{"__proto__":{"polluted":true}}', 'x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(parsed)).toEqual(['__proto__']);
  });
});
