import { InvalidArgumentError } from 'commander';
import { decimalFlag, durationFlag, flagParser, logLevelFlag, portFlag, prefixLengthFlag } from './index';

describe('flag values', () => {
  it('turns a parser error into the flag error commander prints', () => {
    const parse = flagParser((value: string) => {
      if (value !== 'ok') throw new Error(`"${value}" is not ok`);
      return 1;
    });
    expect(parse('ok')).toBe(1);
    expect(() => parse('no')).toThrow(new InvalidArgumentError('"no" is not ok'));
  });

  it('takes whole numbers within the range only', () => {
    expect(portFlag('6443')).toBe(6443);
    for (const bad of ['0', '65536', '-1', '1.5', 'x', '']) expect(() => portFlag(bad)).toThrow('must be a port number (1-65535)');
    expect(prefixLengthFlag('24')).toBe(24);
    expect(() => prefixLengthFlag('33')).toThrow('must be a prefix length (1-32)');
  });

  it('takes decimal numbers within the range only', () => {
    const fraction = decimalFlag(0, 1, 'a fraction');
    expect(fraction('0.55')).toBe(0.55);
    expect(fraction('1')).toBe(1);
    for (const bad of ['1.01', '-0.1', 'x', '', ' ', 'NaN', 'Infinity']) expect(() => fraction(bad)).toThrow('must be a fraction (0-1)');
  });

  it('knows pino log levels', () => {
    expect(logLevelFlag('debug')).toBe('debug');
    expect(() => logLevelFlag('loud')).toThrow(/must be one of trace, debug, info/);
  });

  it('takes durations in Go syntax or plain seconds, in whole milliseconds', () => {
    expect(durationFlag('40s')).toBe(40_000);
    expect(durationFlag('1m30s')).toBe(90_000);
    expect(durationFlag('1500ms')).toBe(1500);
    expect(durationFlag('3')).toBe(3000);
    expect(durationFlag('0.25')).toBe(250);
    expect(durationFlag('1.5ms')).toBe(2);
    expect(() => durationFlag('soon')).toThrow(new InvalidArgumentError('time: invalid duration "soon": use e.g. 40s, 1m30s, 1500ms or plain seconds'));
    expect(() => durationFlag('5x')).toThrow('unknown unit "x"');
  });
});
