import { tabwrite } from '../tabwriter';

/** docker's tables: text/tabwriter with minwidth 10, padding 3. */
export function table(header: string[], rows: string[][]): string {
  return `${tabwrite([header, ...rows].map((cells) => cells.join('\t')).join('\n'), { minWidth: 10, padding: 3 })}\n`;
}

/** go-units HumanSize: decimal units, 4 significant digits ("4.266MB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** go-units BytesSize: binary units with two decimals ("1.5MiB"), as docker stats prints memory. */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))}${units[unit]}`;
}

/** go-units HumanDuration, as docker words ages ("About a minute", "3 hours"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

export function ago(time: string, now = Date.now()): string {
  const at = Date.parse(time);
  return Number.isNaN(at) ? '' : `${humanDuration(now - at)} ago`;
}

/** The 12 hex characters docker shows of an id or digest. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** docker's byte sizes on the command line: a number with an optional b, k, m or g (binary) suffix. */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt])?i?b?$/i.exec(text.trim());
  if (!match) throw new Error(`invalid size: '${text}'`);
  const power = { b: 0, k: 1, m: 2, g: 3, t: 4 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `docker ps`'s COMMAND: quoted, cut to 20 characters with an ellipsis unless --no-trunc. */
export function commandColumn(args: string[], truncate: boolean): string {
  const text = args.join(' ');
  return `"${truncate && text.length > 20 ? `${text.slice(0, 19)}…` : text}"`;
}
