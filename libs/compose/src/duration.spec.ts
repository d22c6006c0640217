import { durationMs, sizeBytes } from './duration';

describe('durationMs', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
  ])('reads %s', (text, ms) => expect(durationMs(text)).toBe(ms));

  it.each(['', '10', 's', '1d', '-1s', '1s2', 'ten seconds'])('refuses %j', (text) => expect(durationMs(text)).toBeUndefined());
});

describe('sizeBytes', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1GB', 1024 ** 3],
    ['100k', 102_400],
    ['64b', 64],
    ['2048', 2048],
    ['1.5g', 1.5 * 1024 ** 3],
  ] as const)('reads %s', (text, bytes) => expect(sizeBytes(text)).toBe(bytes));

  it.each(['', 'm', '1x', '-1m', 'lots'])('refuses %j', (text) => expect(sizeBytes(text)).toBeUndefined());
  it('takes a whole number of bytes', () => {
    expect(sizeBytes(4096)).toBe(4096);
    expect(sizeBytes(-1)).toBeUndefined();
    expect(sizeBytes(1.5)).toBeUndefined();
  });
});
