import { mostRecentCronTime, nextCronTime, parseCronSchedule, timeZoneErrors } from './schedule';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The next n firing times after `from`, as ISO strings. */
function next(schedule: string, from: string, zone = 'UTC', n = 3): Array<string | undefined> {
  const s = parseCronSchedule(schedule);
  const out: Array<string | undefined> = [];
  let t: number | undefined = at(from);
  for (let i = 0; i < n && t !== undefined; i++) {
    t = nextCronTime(s, t, zone);
    out.push(iso(t));
  }
  return out;
}

describe('cron schedules', () => {
  it('reads steps, ranges, lists and names', () => {
    expect(next('*/15 * * * *', '2026-03-01T10:07:30Z')).toEqual(['2026-03-01T10:15:00.000Z', '2026-03-01T10:30:00.000Z', '2026-03-01T10:45:00.000Z']);
    expect(next('5 9-10 * * mon-fri', '2026-03-06T10:06:00Z')).toEqual(['2026-03-09T09:05:00.000Z', '2026-03-09T10:05:00.000Z', '2026-03-10T09:05:00.000Z']);
    expect(next('0 0 1,15 JAN,jul ?', '2026-01-01T00:00:00Z')).toEqual(['2026-01-15T00:00:00.000Z', '2026-07-01T00:00:00.000Z', '2026-07-15T00:00:00.000Z']);
    // `N/STEP` runs from N to the end of the field.
    expect(next('50/5 * * * *', '2026-03-01T10:00:00Z')).toEqual(['2026-03-01T10:50:00.000Z', '2026-03-01T10:55:00.000Z', '2026-03-01T11:50:00.000Z']);
  });

  it('fires on either day field when both are restricted, on both when one is a star', () => {
    // 2026-03-13 is a Friday: the 13th or any Friday.
    expect(next('0 12 13 * 5', '2026-03-01T00:00:00Z')).toEqual(['2026-03-06T12:00:00.000Z', '2026-03-13T12:00:00.000Z', '2026-03-20T12:00:00.000Z']);
    expect(next('0 12 * * 5', '2026-03-01T00:00:00Z', 'UTC', 1)).toEqual(['2026-03-06T12:00:00.000Z']);
    // `*/2` in the day of month is no star: either day field then.
    expect(next('0 0 */10 * 1', '2026-03-01T12:00:00Z', 'UTC', 3)).toEqual(['2026-03-02T00:00:00.000Z', '2026-03-09T00:00:00.000Z', '2026-03-11T00:00:00.000Z']);
  });

  it('knows the macros', () => {
    expect(next('@hourly', '2026-03-01T10:00:00Z', 'UTC', 2)).toEqual(['2026-03-01T11:00:00.000Z', '2026-03-01T12:00:00.000Z']);
    expect(next('@daily', '2026-03-01T10:00:00Z', 'UTC', 1)).toEqual(['2026-03-02T00:00:00.000Z']);
    expect(next('@weekly', '2026-03-01T10:00:00Z', 'UTC', 1)).toEqual(['2026-03-08T00:00:00.000Z']);
    expect(next('@monthly', '2026-03-01T10:00:00Z', 'UTC', 1)).toEqual(['2026-04-01T00:00:00.000Z']);
    expect(next('@yearly', '2026-03-01T10:00:00Z', 'UTC', 1)).toEqual(['2027-01-01T00:00:00.000Z']);
  });

  it('evaluates in the time zone, across daylight-saving changes', () => {
    expect(next('30 9 * * *', '2026-03-06T00:00:00Z', 'America/New_York', 1)).toEqual(['2026-03-06T14:30:00.000Z']);
    // New York springs forward on 2026-03-08: 02:30 does not exist that day.
    expect(next('30 2 * * *', '2026-03-07T12:00:00Z', 'America/New_York', 2)).toEqual(['2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    expect(next('0 9 * * *', '2026-03-08T00:00:00Z', 'America/New_York', 1)).toEqual(['2026-03-08T13:00:00.000Z']);
    expect(next('0 0 * * *', '2026-03-01T00:00:00Z', 'Asia/Kolkata', 1)).toEqual(['2026-03-01T18:30:00.000Z']);
  });

  it('gives up on a day that never comes', () => {
    expect(next('0 0 30 2 *', '2026-01-01T00:00:00Z', 'UTC', 1)).toEqual([undefined]);
  });

  it('refuses malformed schedules with robfig/cron words', () => {
    const error = (s: string) => {
      try {
        parseCronSchedule(s);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(error('')).toBe('empty spec string');
    expect(error('* * * *')).toBe('expected exactly 5 fields, found 4: [* * * *]');
    expect(error('@fortnightly')).toBe('unrecognized descriptor: @fortnightly');
    expect(error('60 * * * *')).toBe('end of range (60) above maximum (59): 60');
    expect(error('* * 0 * *')).toBe('beginning of range (0) below minimum (1): 0');
    expect(error('5-1 * * * *')).toBe('beginning of range (5) beyond end of range (1): 5-1');
    expect(error('*/0 * * * *')).toBe('step of range should be a positive number: */0');
    expect(error('1-2-3 * * * *')).toBe('too many hyphens: 1-2-3');
    expect(error('x * * * *')).toBe('failed to parse int from x');
    expect(error('* * * * 7')).toBe('end of range (7) above maximum (6): 7');
    expect(error('constructor * * * *')).toBe('failed to parse int from constructor');
  });

  it('checks time zones as Kubernetes does', () => {
    expect(timeZoneErrors('Europe/Berlin')).toEqual([]);
    expect(timeZoneErrors('Etc/UTC')).toEqual([]);
    expect(timeZoneErrors('')).toEqual(['timeZone must be nil or non-empty string']);
    expect(timeZoneErrors('Local')).toEqual(['timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones']);
    expect(timeZoneErrors('Mars/Olympus')).toEqual(['unknown time zone Mars/Olympus']);
    expect(timeZoneErrors('../../etc/passwd')).toEqual(['unknown time zone ../../etc/passwd']);
  });

  it('finds the most recent missed time, also far behind', () => {
    const s = parseCronSchedule('*/5 * * * *');
    expect(mostRecentCronTime(s, at('2026-03-01T10:00:00Z'), at('2026-03-01T10:12:00Z'), 'UTC')).toEqual({ mostRecent: at('2026-03-01T10:10:00Z'), tooMany: false });
    expect(mostRecentCronTime(s, at('2026-03-01T10:00:00Z'), at('2026-03-01T10:04:59Z'), 'UTC')).toEqual({ mostRecent: undefined, tooMany: false });
    expect(mostRecentCronTime(s, at('2025-03-01T10:00:00Z'), at('2026-03-01T10:12:00Z'), 'UTC')).toEqual({ mostRecent: at('2026-03-01T10:10:00Z'), tooMany: true });
    const yearly = parseCronSchedule('@yearly');
    expect(mostRecentCronTime(yearly, at('2020-06-01T00:00:00Z'), at('2026-03-01T00:00:00Z'), 'UTC')).toEqual({ mostRecent: at('2026-01-01T00:00:00Z'), tooMany: false });
  });
});
