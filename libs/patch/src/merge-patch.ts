import { deepClone, isJsonObject, JsonObject } from './json';

/** RFC 7386: objects merge recursively, null removes a member, anything else replaces. */
export function applyJsonMergePatch(target: unknown, patch: unknown): unknown {
  return mergeInto(deepClone(target), patch);
}

/** `target` is owned by the caller (already a copy), so it is merged into in place. */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return deepClone(patch);
  const result: JsonObject = isJsonObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergeInto(result[key], value);
  }
  return result;
}
