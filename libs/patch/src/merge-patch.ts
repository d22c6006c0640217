import { ownMember } from '@berth/api';
import { checked, CheckedDocument, deepClone, isJsonObject, JsonObject, setMember } from './json';

/** RFC 7386: objects merge recursively, null removes a member, anything else replaces. */
export function applyJsonMergePatch(target: unknown, patch: unknown | CheckedDocument): unknown {
  return mergeInto(deepClone(target), checked(patch, 'the merge patch'));
}

/** `target` is owned by the caller (already a copy), so it is merged into in place. */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return deepClone(patch);
  const result: JsonObject = isJsonObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setMember(result, key, mergeInto(ownMember(result, key), value), 'the merge patch');
  }
  return result;
}
