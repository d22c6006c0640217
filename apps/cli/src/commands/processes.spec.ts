import type { PodProcess } from '@berth/client';
import { COMPOSE_TOP_LAYOUT, cpuTimeColumn, DOCKER_TOP_LAYOUT, processTable, startColumn } from './processes';

describe('ps columns', () => {
  const now = new Date(2026, 11, 7, 18, 30);

  it('STIME: the clock within a day, MonDD within a year, else the year (local time, as ps)', () => {
    expect(startColumn(new Date(2026, 11, 7, 9, 5).toISOString(), now)).toBe('09:05');
    expect(startColumn(new Date(2026, 11, 6, 19, 0).toISOString(), now)).toBe('19:00');
    expect(startColumn(new Date(2026, 11, 5, 9, 5).toISOString(), now)).toBe('Dec05');
    expect(startColumn(new Date(2025, 0, 2).toISOString(), now)).toBe('2025');
    expect(startColumn('not a time', now)).toBe('?');
  });

  it('TIME: HH:MM:SS of CPU, days in front when there are any', () => {
    expect(cpuTimeColumn(0.99)).toBe('00:00:00');
    expect(cpuTimeColumn(3725)).toBe('01:02:05');
    expect(cpuTimeColumn(2 * 86400 + 61)).toBe('2-00:01:01');
  });

  const processes: PodProcess[] = [
    { uid: 0, user: 'root', pid: 4100, ppid: 4080, cpuPercent: 1.9, startTime: new Date(2026, 11, 7, 18, 1).toISOString(), tty: '?', cpuTimeSeconds: 1, cmd: ['sh', '-c', 'sleep 600 & wait'] },
    { uid: 1234, user: '', pid: 4120, ppid: 4100, cpuPercent: 0, startTime: new Date(2026, 11, 7, 18, 1).toISOString(), tty: 'pts/0', cpuTimeSeconds: 0, cmd: ['sleep', '600'] },
  ];

  it("prints docker top's table: the user's name or else the uid, C as a whole percent, CMD last and unpadded", () => {
    expect(processTable(processes, DOCKER_TOP_LAYOUT, now).split('\n')).toEqual([
      'UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD',
      'root                4100                4080                1                   18:01               ?                   00:00:01            sh -c sleep 600 & wait',
      '1234                4120                4100                0                   18:01               pts/0               00:00:00            sleep 600',
      '',
    ]);
    expect(processTable(processes, COMPOSE_TOP_LAYOUT, now).split('\n')[1]).toBe('root   4100   4080   1    18:01   ?       00:00:01   sh -c sleep 600 & wait');
  });
});
