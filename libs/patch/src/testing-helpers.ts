import { isBerthError } from '@berth/errors';

/** A deep-frozen copy, so a test fails if the code under test mutates its input. */
export function frozen<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (v && typeof v === 'object') {
      Object.freeze(v);
      Object.values(v).forEach(freeze);
    }
  };
  freeze(copy);
  return copy;
}

/** Runs fn, which must throw a BerthError, and returns its reason and message. */
export function failure(fn: () => unknown): { reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isBerthError(err)) return { reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error('expected a BerthError');
}
