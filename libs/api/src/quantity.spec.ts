import { isBerthError } from '@berth/errors';
import { formatQuantity, isQuantity, parseQuantity, parseQuantityWithFormat } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['2', 2],
    ['500m', 0.5],
    ['100m', 0.1],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+3', 3],
    ['-250m', -0.25],
    ['10n', 1e-8],
    ['7u', 7e-6],
    ['1k', 1000],
    ['2M', 2e6],
    ['3G', 3e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['128Mi', 128 * 1024 ** 2],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['2Ti', 2 * 1024 ** 4],
    ['1Pi', 1024 ** 5],
    ['1Ei', 1024 ** 6],
    ['1e3', 1000],
    ['1E3', 1000],
    ['12e-3', 0.012],
    ['5e+2', 500],
    ['0', 0],
  ])('%s is %d base units', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 12);
  });

  it('takes JSON numbers as they are', () => {
    expect(parseQuantity(0.25)).toBe(0.25);
  });

  it('reports the notation the quantity was written in', () => {
    expect(parseQuantityWithFormat('64Mi').format).toBe('BinarySI');
    expect(parseQuantityWithFormat('64M').format).toBe('DecimalSI');
    expect(parseQuantityWithFormat('6e4').format).toBe('DecimalExponent');
  });

  it.each(['', 'abc', 'Mi', '1.2.3', ' 1', '1 ', '--1', '1Mi ', '1,5'])('rejects the malformed %j', (text) => {
    expect(() => parseQuantity(text)).toThrow(/quantities must match the regular expression/);
  });

  it.each(['1K', '1KB', '1mi', '1e', '1Kii', '1e1x'])('rejects the bad suffix in %j with BadRequest', (text) => {
    try {
      parseQuantity(text);
      throw new Error('accepted');
    } catch (err) {
      expect(isBerthError(err, 'BadRequest')).toBe(true);
    }
  });

  it('names a bad suffix as Kubernetes does', () => {
    expect(() => parseQuantity('5K')).toThrow("unable to parse quantity's suffix");
  });
});

describe('isQuantity', () => {
  it('accepts valid strings and finite numbers only', () => {
    expect(isQuantity('500m')).toBe(true);
    expect(isQuantity('128Mi')).toBe(true);
    expect(isQuantity(3)).toBe(true);
    expect(isQuantity(0.5)).toBe(true);
    expect(isQuantity('lots')).toBe(false);
    expect(isQuantity('')).toBe(false);
    expect(isQuantity(Number.NaN)).toBe(false);
    expect(isQuantity(Infinity)).toBe(false);
    expect(isQuantity(null)).toBe(false);
    expect(isQuantity(undefined)).toBe(false);
    expect(isQuantity({})).toBe(false);
    expect(isQuantity(true)).toBe(false);
  });
});

describe('formatQuantity', () => {
  it.each([
    [0.5, 'DecimalSI', '500m'],
    [0.1, 'DecimalSI', '100m'],
    [2, 'DecimalSI', '2'],
    [1500, 'DecimalSI', '1500'],
    [2000, 'DecimalSI', '2k'],
    [3e9, 'DecimalSI', '3G'],
    [1e18, 'DecimalSI', '1E'],
    [0, 'DecimalSI', '0'],
    [1e-10, 'DecimalSI', '1n'],
    [0.0000015, 'DecimalSI', '1500n'],
    [128 * 1024 ** 2, 'BinarySI', '128Mi'],
    [1024, 'BinarySI', '1Ki'],
    [1536, 'BinarySI', '1536'],
    [512, 'BinarySI', '512'],
    [3 * 1024 ** 3, 'BinarySI', '3Gi'],
  ] as const)('%d as %s is %s', (value, format, text) => {
    expect(formatQuantity(value, format)).toBe(text);
  });

  it('round-trips what it prints', () => {
    for (const text of ['250m', '64Mi', '3k', '7']) {
      const { value, format } = parseQuantityWithFormat(text);
      expect(formatQuantity(value, format)).toBe(text);
    }
  });
});
