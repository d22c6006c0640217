/**
 * Command-line flag values shared by the berth daemons (`berth server`, `agent`, `controller-manager`,
 * ...): each parser throws commander's InvalidArgumentError, so a bad value is reported as
 * `error: option '--flag <value>' argument 'x' is invalid. <why>` with exit code 1, never a stack trace.
 */
import { InvalidArgumentError } from 'commander';
import { describedParser, type DescribedParser } from './command';
import { formatGoDuration, parseGoDuration } from './duration';

export { formatGoDuration, parseGoDuration };
export { daemonCommand, describedParser, FlagError, flagsOrExit, HelpRequested, misstatedDefaults, parseCommand, type DescribedParser } from './command';

/** Wraps a parser whose errors explain themselves, so commander reports them as the flag's. */
export function flagParser<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A whole number in [min, max], explained as `what` when it is not. */
export function integerFlag(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be ${what} (${min}-${max})`);
    return n;
  };
}

/** A decimal number (e.g. 0.55, 1e-2) in [min, max], explained as `what` when it is not. */
export function decimalFlag(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`must be ${what} (${min}-${max})`);
    return n;
  };
}

export const portFlag = integerFlag(1, 65535, 'a port number');
export const prefixLengthFlag = integerFlag(1, 32, 'a prefix length');
export const percentFlag = integerFlag(0, 100, 'a whole percentage');

/** A switch that is on by default: `--flag [bool]` takes `--flag`, `--flag=true` and `--flag=false` (Go's and Kubernetes' boolean flags). */
export function switchFlag(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('must be true or false');
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function logLevelFlag(value: string): string {
  if (!LOG_LEVELS.includes(value)) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`);
  return value;
}

/**
 * A daemon's duration flag, in whole milliseconds: a Go duration (`40s`, `1m30s`, `1500ms`) or plain
 * seconds (`40`), which berth's daemons have always taken too. --help shows a default as Go prints it.
 */
export const durationFlag: DescribedParser<number> = describedParser((value) => {
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  try {
    return Math.round(parseGoDuration(value));
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}: use e.g. 40s, 1m30s, 1500ms or plain seconds`);
  }
}, formatGoDuration);

/** A duration flag that must be longer than 0. */
export const positiveDurationFlag: DescribedParser<number> = describedParser((value) => {
  const ms = durationFlag(value);
  if (ms <= 0) throw new InvalidArgumentError(`${JSON.stringify(value)} must be longer than 0`);
  return ms;
}, formatGoDuration);
