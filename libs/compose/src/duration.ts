/**
 * Compose's durations (`1m30s`, `500ms`, `1h`, `10s`; Go's time.ParseDuration units, several in a row) in
 * milliseconds; undefined when the text is not one. A bare number is not a duration (compose refuses it too).
 */
export function durationMs(duration: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const text = duration.trim();
  if (text === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * units[unit];
  return Number.isFinite(total) ? Math.round(total * 1e6) / 1e6 : undefined;
}

/**
 * A size as docker reads it (`512m`, `1g`, `1.5GB`, `100k`, `2048`, `64b`): bytes, 1024-based as docker's
 * RAMInBytes; undefined when the text is not one.
 */
export function sizeBytes(size: string | number): number | undefined {
  if (typeof size === 'number') return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(size.trim());
  if (!match) return undefined;
  const power = ' kmgtp'.indexOf(match[2].toLowerCase() || ' ');
  const bytes = Math.floor(Number(match[1]) * 1024 ** power);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
