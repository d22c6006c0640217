import { isBerthError } from '@berth/errors';
import { parseGoDuration } from './duration';

function failure(text: string): Error {
  try {
    parseGoDuration(text);
  } catch (err) {
    expect(isBerthError(err, 'BadRequest')).toBe(true);
    return err as Error;
  }
  throw new Error(`${JSON.stringify(text)} was accepted`);
}

describe('Go durations', () => {
  it.each([
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1m0.5s', 60_500],
    ['.5s', 500],
    ['5.s', 5000],
    ['0', 0],
    ['0s', 0],
    ['1500us', 1.5],
    ['2\u00b5s', 0.002],
    ['2\u03bcs', 0.002],
    ['3000000ns', 3],
  ])('reads %j as %d ms', (text, ms) => expect(parseGoDuration(text)).toBeCloseTo(ms, 9));

  it("refuses what Go refuses, in Go's words", () => {
    expect(failure('10').message).toBe('time: missing unit in duration "10"');
    expect(failure('5x').message).toBe('time: unknown unit "x" in duration "5x"');
    expect(failure('1h 30m').message).toBe('time: unknown unit "h " in duration "1h 30m"');
    for (const text of ['', 'soon', '.s', '1s.', '-5s', '+5s']) expect(failure(text).message).toBe(`time: invalid duration ${JSON.stringify(text)}`);
  });
});
