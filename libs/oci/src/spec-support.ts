// For this library's specs: which fields an Invalid error names.
import { isBerthError } from '@berth/errors';

/** The fields of the causes of the Invalid error `fn` throws; fails the test if it throws none. */
export function invalidFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (isBerthError(err, 'Invalid')) return (err.details.causes ?? []).map((c) => c.field ?? '');
    throw err;
  }
  throw new Error('expected an Invalid error');
}
