/**
 * CronJob schedules as Kubernetes reads them (robfig/cron's standard parser): five fields (minute, hour,
 * day of month, month, day of week) with `*`, `?`, lists, ranges, steps and month/day names, or a macro
 * (`@hourly`, `@daily`, ...), evaluated in an IANA time zone. When both day fields are restricted a day
 * matches either (cron's OR); when either is `*` or `?`, both must match.
 */

interface FieldBounds {
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const FIELDS: readonly FieldBounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DAY_NAMES },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface CronSchedule {
  minutes: readonly number[];
  hours: readonly number[];
  /** Index = day of month / month / weekday (0 = Sunday). */
  daysOfMonth: readonly boolean[];
  months: readonly boolean[];
  daysOfWeek: readonly boolean[];
  /** Either day field was `*` or `?`: both day fields must match, not either. */
  dayFieldStarred: boolean;
}

class CronSyntaxError extends Error {}

function parseNumber(text: string, bounds: FieldBounds): number {
  const named = bounds.names ? Object.entries(bounds.names).find(([name]) => name === text.toLowerCase()) : undefined;
  if (named) return named[1];
  if (!/^[0-9]{1,9}$/.test(text)) throw new CronSyntaxError(`failed to parse int from ${text}`);
  return Number(text);
}

/** One comma-separated part: `*`, `?`, `N`, `N-M`, each optionally `/STEP`. Returns whether it was a bare star. */
function parseRange(part: string, bounds: FieldBounds, into: boolean[]): boolean {
  const slash = part.split('/');
  if (slash.length > 2) throw new CronSyntaxError(`too many slashes: ${part}`);
  const dash = slash[0].split('-');
  if (dash.length > 2) throw new CronSyntaxError(`too many hyphens: ${part}`);
  let star = false;
  let start: number;
  let end: number;
  if (dash[0] === '*' || dash[0] === '?') {
    if (dash.length > 1) throw new CronSyntaxError(`too many hyphens: ${part}`);
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    start = parseNumber(dash[0], bounds);
    end = dash.length === 2 ? parseNumber(dash[1], bounds) : start;
  }
  let step = 1;
  if (slash.length === 2) {
    step = parseNumber(slash[1], { min: 0, max: 0 });
    if (step <= 0) throw new CronSyntaxError(`step of range should be a positive number: ${part}`);
    // `N/STEP` means from N to the field's end.
    if (dash.length === 1 && !star) end = bounds.max;
    if (step > 1) star = false;
  }
  if (start < bounds.min) throw new CronSyntaxError(`beginning of range (${start}) below minimum (${bounds.min}): ${part}`);
  if (end > bounds.max) throw new CronSyntaxError(`end of range (${end}) above maximum (${bounds.max}): ${part}`);
  if (start > end) throw new CronSyntaxError(`beginning of range (${start}) beyond end of range (${end}): ${part}`);
  for (let value = start; value <= end; value += step) into[value] = true;
  return star;
}

function parseField(text: string, bounds: FieldBounds): { set: boolean[]; star: boolean } {
  const set = new Array<boolean>(bounds.max + 1).fill(false);
  let star = false;
  for (const part of text.split(',')) star = parseRange(part, bounds, set) || star;
  return { set, star };
}

/** Parses a schedule; throws an Error whose message is what Kubernetes reports for the field. */
export function parseCronSchedule(spec: string): CronSchedule {
  const trimmed = spec.trim();
  if (trimmed === '') throw new Error('empty spec string');
  let text = trimmed;
  if (text.startsWith('@')) {
    const macro = MACROS[text.toLowerCase()];
    if (!macro) throw new Error(`unrecognized descriptor: ${text}`);
    text = macro;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
  try {
    const [minute, hour, dom, month, dow] = parts.map((part, i) => parseField(part, FIELDS[i]));
    const indexes = (set: boolean[]) => set.flatMap((on, i) => (on ? [i] : []));
    return {
      minutes: indexes(minute.set),
      hours: indexes(hour.set),
      daysOfMonth: dom.set,
      months: month.set,
      daysOfWeek: dow.set,
      dayFieldStarred: dom.star || dow.star,
    };
  } catch (err) {
    if (err instanceof CronSyntaxError) throw new Error(err.message);
    throw err;
  }
}

// ---- Time zones ---------------------------------------------------------------------------------------

/** The controller's own zone, what Kubernetes uses for a CronJob without `timeZone`. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/;
const formatters = new Map<string, Intl.DateTimeFormat>();
/** Zones looked up so far; a bound keeps hostile objects from growing it without end. */
const MAX_CACHED_ZONES = 512;

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    if (formatters.size >= MAX_CACHED_ZONES) formatters.clear();
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** Problems of a `timeZone` value, worded as Kubernetes' validation words them; empty when it is valid. */
export function timeZoneErrors(zone: string): string[] {
  if (zone === '') return ['timeZone must be nil or non-empty string'];
  if (zone.toLowerCase() === 'local') return ['timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'];
  if (zone.length > 64 || !ZONE_NAME.test(zone)) return [`unknown time zone ${zone}`];
  try {
    formatterFor(zone);
  } catch {
    return [`unknown time zone ${zone}`];
  }
  return [];
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function wallClock(ms: number, zone: string): WallClock {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return { year: fields.year, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute };
}

const MINUTE = 60_000;

function asUtc(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

/** The instant the zone's clocks show `w`; undefined when they skip it (a daylight-saving gap). */
function instantOf(w: WallClock, zone: string): number | undefined {
  const naive = asUtc(w);
  const offset = (t: number) => asUtc(wallClock(t, zone)) - Math.floor(t / MINUTE) * MINUTE;
  let t = naive - offset(naive);
  t = naive - offset(t);
  return asUtc(wallClock(t, zone)) === naive ? t : undefined;
}

/** robfig/cron gives up after five years: a schedule like `0 0 30 2 *` never fires. */
const SEARCH_DAYS = 5 * 366;

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  if (!s.months[month]) return false;
  const dom = s.daysOfMonth[day] === true;
  const dow = s.daysOfWeek[new Date(Date.UTC(year, month - 1, day)).getUTCDay()] === true;
  return s.dayFieldStarred ? dom && dow : dom || dow;
}

/** The first time after `afterMs` (whole minutes) the schedule fires in `zone`; undefined if none within five years. */
export function nextCronTime(s: CronSchedule, afterMs: number, zone: string): number | undefined {
  const start = wallClock(afterMs, zone);
  for (let d = 0; d <= SEARCH_DAYS; d++) {
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + d));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(s, year, month, day)) continue;
    for (const hour of s.hours) {
      if (d === 0 && hour < start.hour) continue;
      for (const minute of s.minutes) {
        if (d === 0 && hour === start.hour && minute < start.minute) continue;
        const t = instantOf({ year, month, day, hour, minute }, zone);
        if (t !== undefined && t > afterMs) return t;
      }
    }
  }
  return undefined;
}

export interface MissedSchedule {
  /** The latest scheduled time in (earliest, now]; undefined when none. */
  mostRecent?: number;
  /** More than 100 scheduled times were missed (Kubernetes warns: the controller was behind). */
  tooMany: boolean;
}

const MAX_MISSED = 100;

/**
 * Kubernetes' mostRecentScheduleTime: the last time in (earliestMs, nowMs] the schedule fired. Walks the
 * times one by one up to 100, then searches back from now in widening windows instead of walking years
 * of minutes.
 */
export function mostRecentCronTime(s: CronSchedule, earliestMs: number, nowMs: number, zone: string): MissedSchedule {
  let last: number | undefined;
  let t = nextCronTime(s, earliestMs, zone);
  for (let count = 0; t !== undefined && t <= nowMs; count++) {
    if (count === MAX_MISSED) return { mostRecent: lastWithin(s, Math.max(earliestMs, last ?? earliestMs), nowMs, zone), tooMany: true };
    last = t;
    t = nextCronTime(s, t, zone);
  }
  return { mostRecent: last, tooMany: false };
}

const WINDOWS_MS = [60 * MINUTE, 24 * 60 * MINUTE, 32 * 24 * 60 * MINUTE, 367 * 24 * 60 * MINUTE, SEARCH_DAYS * 24 * 60 * MINUTE];

function lastWithin(s: CronSchedule, earliestMs: number, nowMs: number, zone: string): number | undefined {
  for (const window of WINDOWS_MS) {
    const from = Math.max(earliestMs, nowMs - window);
    let last: number | undefined;
    for (let t = nextCronTime(s, from, zone); t !== undefined && t <= nowMs; t = nextCronTime(s, t, zone)) last = t;
    if (last !== undefined || from === earliestMs) return last;
  }
  return undefined;
}

/** RFC 3339 with the zone's offset at that instant (`2026-03-01T10:00:00+01:00`), as Go formats a time in a location. */
export function formatInZone(ms: number, zone: string): string {
  const w = wallClock(ms, zone);
  const offsetMinutes = Math.round((asUtc(w) - Math.floor(ms / MINUTE) * MINUTE) / MINUTE);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const seconds = Math.floor((ms % MINUTE) / 1000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const offset = offsetMinutes === 0 ? 'Z' : `${sign}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`;
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(seconds)}${offset}`;
}
