import { errors } from '@berth/errors';

/**
 * Kubernetes resource.Quantity: `<sign><digits>[.<digits>]<suffix>` where the suffix is a binary SI
 * multiple (Ki..Ei), a decimal SI one (n, u, m, '', k, M, G, T, P, E) or a decimal exponent (e3, E-2).
 */
export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

export interface ParsedQuantity {
  /** The amount in base units: cores for cpu, bytes for memory. */
  value: number;
  /** The notation the quantity was written in; Kubernetes keeps it when it prints the quantity back. */
  format: QuantityFormat;
}

const QUANTITY_SYNTAX = /^([+-]?)(\d+\.?\d*|\.\d+)(.*)$/;
const FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX_WRONG = "unable to parse quantity's suffix";

const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
/** Decimal SI suffixes by their power of ten. */
const DECIMAL_SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
];

/** Parses a quantity keeping its notation; throws BerthError BadRequest worded like Kubernetes. */
export function parseQuantityWithFormat(input: string | number): ParsedQuantity {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw errors.badRequest(FORMAT_WRONG);
    return { value: input, format: 'DecimalSI' };
  }
  const match = QUANTITY_SYNTAX.exec(input);
  if (!match) throw errors.badRequest(FORMAT_WRONG);
  const [, sign, digits, suffix] = match;
  const mantissa = `${sign}${digits}`;

  const binaryPower = BINARY_SUFFIXES.indexOf(suffix as (typeof BINARY_SUFFIXES)[number]);
  if (binaryPower > 0) return { value: Number(mantissa) * 1024 ** binaryPower, format: 'BinarySI' };

  const decimal = DECIMAL_SUFFIXES.find(([s]) => s === suffix);
  // Going through the string form (`5e-3`) keeps values like 100m exactly 0.1 instead of 100 * 0.001.
  if (decimal) return { value: Number(`${mantissa}e${decimal[1]}`), format: 'DecimalSI' };

  const exponent = /^[eE]([+-]?\d+)$/.exec(suffix);
  if (exponent) return { value: Number(`${mantissa}e${exponent[1]}`), format: 'DecimalExponent' };

  // Characters outside the suffix alphabet are a malformed number rather than an unknown suffix.
  if (/^[eEinumkKMGTP]*[-+]?\d*$/.test(suffix)) throw errors.badRequest(SUFFIX_WRONG);
  throw errors.badRequest(FORMAT_WRONG);
}

/** Parses a Kubernetes quantity ("500m", "128Mi", "1e3", "2") to a number in base units; throws on bad syntax. */
export function parseQuantity(text: string | number): number {
  return parseQuantityWithFormat(text).value;
}

/** True for strings that parse as quantities and for finite numbers (JSON numbers are valid quantities). */
export function isQuantity(text: unknown): boolean {
  if (typeof text === 'number') return Number.isFinite(text);
  if (typeof text !== 'string') return false;
  try {
    parseQuantityWithFormat(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A value in base units in Kubernetes' canonical notation: `128Mi` for byte counts that are whole
 * multiples of 1024, otherwise the largest decimal SI suffix that keeps the number whole (`500m`,
 * `2k`, `1500`). Like Kubernetes, precision stops at nano units, rounding up.
 */
export function formatQuantity(value: number, format: QuantityFormat = 'DecimalSI'): string {
  if (format === 'BinarySI' && Number.isInteger(value) && Math.abs(value) >= 1024) {
    for (let power = BINARY_SUFFIXES.length - 1; power > 0; power--) {
      const unit = 1024 ** power;
      if (value % unit === 0) return `${value / unit}${BINARY_SUFFIXES[power]}`;
    }
  }
  // Whole numbers are scaled directly: in nano units large values would lose precision.
  const scaled = Number.isInteger(value) ? value : Math.ceil(Math.round(value * 1e12) / 1e3);
  const scalePower = Number.isInteger(value) ? 0 : -9;
  if (scaled === 0) return '0';
  for (let i = DECIMAL_SUFFIXES.length - 1; i >= 0; i--) {
    const [suffix, power] = DECIMAL_SUFFIXES[i];
    if (power < scalePower) break;
    const unit = 10 ** (power - scalePower);
    if (scaled % unit === 0) return `${scaled / unit}${suffix}`;
  }
  return `${scaled}n`;
}
