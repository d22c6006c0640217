import { errors } from '@berth/errors';

/** `40s`, `5m`, `1500ms`, `1h` or plain seconds, as Kubernetes' duration flags take them; in milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw errors.badRequest(`invalid duration ${JSON.stringify(value)}: use e.g. 40s, 5m or 1500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(match[1]) * unit);
}
