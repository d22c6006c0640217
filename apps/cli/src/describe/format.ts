import { formatLabels } from '@berth/api';
import type { DescribeWriter } from './writer';

/** Fields of loosely typed API objects, read without trusting their shape. */
export type Fields = Record<string, unknown>;

export function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

export function list(value: unknown): Fields[] {
  return Array.isArray(value) ? value.map(fields) : [];
}

export function str(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => str(v)) : [];
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 1123 with a numeric zone in UTC (`Sun, 29 Nov 2026 01:00:00 +0000`), as describe prints times. */
export function timestamp(value: unknown): string {
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) return '<unset>';
  const d = new Date(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** Annotations kubectl never shows: its own bookkeeping. */
const HIDDEN_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

/** `Labels:  a=1` with further entries on their own lines, `<none>` when empty. */
export function writeLabels(w: DescribeWriter, indent: number, title: string, labels: unknown): void {
  const map = fields(labels) as Record<string, string>;
  const keys = Object.keys(map).sort();
  if (keys.length === 0) {
    w.line(indent, title, '<none>');
    return;
  }
  keys.forEach((key, index) => w.line(indent, index === 0 ? title : '', `${key}=${str(map[key])}`));
}

export function writeAnnotations(w: DescribeWriter, indent: number, annotations: unknown): void {
  const map = fields(annotations);
  const keys = Object.keys(map).filter((key) => !HIDDEN_ANNOTATIONS.has(key)).sort();
  if (keys.length === 0) {
    w.line(indent, 'Annotations:', '<none>');
    return;
  }
  keys.forEach((key, index) => w.line(indent, index === 0 ? 'Annotations:' : '', `${key}: ${str(map[key])}`));
}

/** A selector map (`spec.selector` of a Service) as `a=1,b=2`. */
export function mapSelector(selector: unknown): string {
  return formatLabels(fields(selector) as Record<string, string>);
}

/** `Controlled By:  ReplicaSet/web-abc` when an owner is the controller. */
export function writeControlledBy(w: DescribeWriter, metadata: Fields): void {
  const controller = list(metadata.ownerReferences).find((ref) => ref.controller === true);
  if (controller) w.line(0, 'Controlled By:', `${str(controller.kind)}/${str(controller.name)}`);
}

/**
 * A small aligned table under a title, as describe prints conditions: `<none>` without rows. The
 * underline is dashes as long as each header unless kubectl prints another (events) or none (pod conditions).
 */
export function writeTable(w: DescribeWriter, indent: number, title: string, headers: string[], rows: string[][], underline?: string[] | false): void {
  if (rows.length === 0) {
    w.line(indent, title, '<none>');
    return;
  }
  w.line(indent, title);
  w.line(indent + 2, ...headers);
  if (underline !== false) w.line(indent + 2, ...(underline ?? headers.map((h) => '-'.repeat(h.length))));
  for (const row of rows) w.line(indent + 2, ...row);
}

/** `holderIdentity` → `Holder Identity`, `podIP` → `Pod IP`: kubectl's labels for generic fields. */
export function fieldLabel(key: string): string {
  const acronyms: Record<string, string> = { api: 'API', ip: 'IP', ips: 'IPs', uid: 'UID', url: 'URL', id: 'ID', cidr: 'CIDR', os: 'OS', tls: 'TLS', dns: 'DNS' };
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter((word) => word !== '')
    .map((word) => acronyms[word.toLowerCase()] ?? word[0].toUpperCase() + word.slice(1))
    .join(' ');
}
