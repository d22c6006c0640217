/** How a kind's selectable fields (its definition's selectableFields) are read from an object. */
import { ownMember } from '../decode';
import type { FieldAccessor } from './definition';

function at(obj: unknown, path: string): unknown {
  let current: unknown = obj;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = ownMember(current as Record<string, unknown>, part);
  }
  return current;
}

/** A field's selectable string form: Kubernetes compares strings, with '' for an absent field. */
function text(obj: unknown, path: string): string {
  const value = at(obj, path);
  return value === undefined || value === null ? '' : String(value);
}

/** Typed Go fields have zero values, so an absent boolean selects as "false" and an absent count as "0". */
export function fieldWithZero(path: string, zero: string): FieldAccessor {
  return (obj) => {
    const value = at(obj, path);
    return value === undefined || value === null ? zero : String(value);
  };
}

export function plainField(path: string): FieldAccessor {
  return (obj) => text(obj, path);
}
