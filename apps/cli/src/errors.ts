import { isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The one line kubectl would print for an error: the server's own words with their reason, a
 * connection problem as is, anything else after `error: `. Never a stack trace.
 */
export function formatError(err: unknown): string {
  if (err instanceof StatusError) return `Error from server (${err.statusReason}): ${oneLine(err.message)}`;
  if (isBerthError(err, 'ServiceUnavailable')) return oneLine(err.message);
  if (err instanceof Error) return `error: ${oneLine(err.message)}`;
  return `error: ${oneLine(String(err))}`;
}

/** Puts what the CLI was doing in front of a server error (`error when deleting "app.yaml": ...`). */
export function inContext(err: unknown, context: string): unknown {
  if (!(err instanceof StatusError)) return err;
  return new StatusError(err.reason, `${context}: ${err.message}`, err.details, err.code, err.statusReason);
}
