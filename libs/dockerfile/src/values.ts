import { errors } from '@berth/errors';
import type { CommandForm } from './types';

/** Helpers the executor needs to turn instruction arguments into config values, each validating hostile input. */

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** A command as the process argv: the exec form as is, the shell form appended to SHELL (`/bin/sh -c CMD`). */
export function commandArgs(command: CommandForm, shell: readonly string[] = DEFAULT_SHELL): string[] {
  return command.form === 'exec' ? [...command.args] : [...shell, command.command];
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const MAX_DURATION = 2 ** 63 - 1;

/** Go's time.ParseDuration (`30s`, `1m30s`, `1.5h`, `0`), in nanoseconds. */
export function parseDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration "${text}"`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (!s) throw invalid();
  let total = 0;
  while (s) {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (!num[0] || num[0] === '.' || (num[1] === '' && !num[2])) throw invalid();
    s = s.slice(num[0].length);
    const unit = /^[^\d.]+/.exec(s)?.[0];
    if (!unit) throw new Error(`time: missing unit in duration "${text}"`);
    const scale = Object.prototype.hasOwnProperty.call(UNITS, unit) ? UNITS[unit] : undefined;
    if (scale === undefined) throw new Error(`time: unknown unit "${unit}" in duration "${text}"`);
    s = s.slice(unit.length);
    total += Number(`${num[1] || '0'}.${num[2] || '0'}`) * scale;
    if (total > MAX_DURATION) throw invalid();
  }
  return sign * Math.round(total);
}

/** `--chown=USER[:GROUP]` (names or numeric ids; the builder resolves names in the image's /etc/passwd). */
export function parseChown(value: string): { user: string; group?: string } {
  const parts = value.split(':');
  const ok = (p: string) => /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(p) && p.length <= 256;
  if (parts.length > 2 || !parts.every(ok)) throw errors.badRequest(`invalid --chown value "${value}": expected USER[:GROUP], names or numeric ids`);
  return parts.length === 2 ? { user: parts[0], group: parts[1] } : { user: parts[0] };
}

/** `--chmod=OCTAL` (`644`, `0755`, up to 07777) as a mode number. */
export function parseChmod(value: string): number {
  if (!/^[0-7]{1,5}$/.test(value) || parseInt(value, 8) > 0o7777) {
    throw errors.badRequest(`invalid chmod parameter: ${value}. it should be octal string and between 0 and 07777`);
  }
  return parseInt(value, 8);
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
const MAX_PORTS = 65536;

/**
 * EXPOSE port specs to the config's ExposedPorts keys: `80` → `80/tcp`, `53/UDP` → `53/udp`,
 * `8000-8002` → three ports; a host part (`127.0.0.1:80:80`, `8080:80`) is ignored as BuildKit ignores it.
 */
export function normalizePorts(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const slash = spec.lastIndexOf('/');
    const portPart = slash < 0 ? spec : spec.slice(0, slash);
    const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
    if (!PROTOCOLS.has(proto)) throw errors.badRequest(`invalid proto: ${proto}`);
    const container = portPart.slice(portPart.lastIndexOf(':') + 1);
    const range = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(container);
    const start = range ? Number(range[1]) : NaN;
    const end = range?.[2] !== undefined ? Number(range[2]) : start;
    if (!range || start > 65535 || end > 65535 || end < start) throw errors.badRequest(`invalid containerPort: ${container}`);
    for (let p = start; p <= end; p++) {
      out.push(`${p}/${proto}`);
      if (out.length > MAX_PORTS) throw errors.badRequest('too many exposed ports');
    }
  }
  return out;
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF',
  'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'UNUSED', 'URG', 'USR1', 'USR2',
  'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
]);

/** STOPSIGNAL's value as moby validates it: a number 1..64, or a name with or without SIG (`SIGRTMIN+3`). */
export function validateSignal(value: string): string {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 64) return value;
  } else {
    const name = value.toUpperCase().replace(/^SIG/, '');
    const rt = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name);
    if (SIGNALS.has(name) || (rt && Number(rt[1]) >= 1 && Number(rt[1]) <= 15)) return value;
  }
  throw errors.badRequest(`Invalid signal: ${value}`);
}
