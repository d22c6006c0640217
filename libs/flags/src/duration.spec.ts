import { isBerthError } from '@berth/errors';
import { formatGoDuration, parseGoDuration } from './duration';

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

describe('formatGoDuration', () => {
  it("prints durations as Go's time.Duration does (kubelet's messages, daemons' --help)", () => {
    expect([0, 500, 1000, 10_000, 80_000, 300_000, 1500, 3_600_000, 5_400_500].map(formatGoDuration)).toEqual(['0s', '500ms', '1s', '10s', '1m20s', '5m0s', '1.5s', '1h0m0s', '1h30m0.5s']);
  });

  it('prints what parseGoDuration reads back', () => {
    for (const ms of [0, 1, 999, 1000, 59_999, 60_000, 3_599_999, 3_600_000, 86_400_000]) expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
  });
});
