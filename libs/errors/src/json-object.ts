import { errors } from './errors';

/**
 * `text` parsed as a JSON object (not an array, not null), its fields to be read one by one by the caller.
 * Anything else is BadRequest "`what` is not a JSON object", so hostile input gets one clear line.
 */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw errors.badRequest(`${what} is not a JSON object`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw errors.badRequest(`${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}
