import pino, { type Logger } from 'pino';

let fallback: Logger | undefined;

/** For callers that pass no logger: one shared stderr logger, so many informers don't each open a stream. */
export function defaultLogger(component: string): Logger {
  fallback ??= pino(pino.destination(2));
  return fallback.child({ component });
}
