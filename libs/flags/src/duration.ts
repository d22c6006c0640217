import { errors } from '@berth/errors';

/** Milliseconds per unit of Go's time.ParseDuration (both spellings of the micro sign). */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, '\u03bcs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in Go's syntax, as kubectl's and Kubernetes daemons' flags take it (`90s`, `1h30m`, `1.5h`,
 * `500ms`, `0`), in milliseconds. Errors are BadRequest with Go's own wording (`time: missing unit in
 * duration "10"`). No sign: every berth duration is a length of time.
 */
export function parseGoDuration(text: string): number {
  const value = text.trim();
  const invalid = (why: string) => errors.badRequest(`time: ${why} ${JSON.stringify(text)}`);
  if (value === '0') return 0;
  if (!value) throw invalid('invalid duration');
  // A number (digits, a fraction or both) and its unit: everything up to the next digit or dot.
  const segment = /(\d*)(?:\.(\d*))?([^\d.]*)/y;
  let total = 0;
  for (let at = 0; at < value.length; ) {
    segment.lastIndex = at;
    const [whole, integer, fraction, unit] = segment.exec(value)!;
    if (!integer && !fraction) throw invalid('invalid duration');
    if (!unit) throw invalid('missing unit in duration');
    const unitMs = UNIT_MS[unit];
    if (unitMs === undefined) throw invalid(`unknown unit ${JSON.stringify(unit)} in duration`);
    total += Number(`${integer || 0}.${fraction || 0}`) * unitMs;
    at += whole.length;
  }
  return total;
}

/**
 * A duration as Go's time.Duration prints it, which parseGoDuration reads back: `500ms`, `10s`, `1m20s`,
 * `1h0m0s`. Whole milliseconds (berth's flags keep no finer ones).
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  if (hours) return `${hours}h${minutes}m${seconds}s`;
  if (minutes) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
