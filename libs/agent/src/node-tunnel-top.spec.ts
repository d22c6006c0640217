import { containerProcesses } from './node-tunnel-top';

describe('containerProcesses', () => {
  const base = { pid: 10, ppid: 1, uid: 0, user: 'root', tty: '?', comm: 'sh' };

  it("turns runtimed's facts into the API's: ps's C over the process's life, RFC 3339 start, seconds of CPU", () => {
    const start = Date.parse('2026-12-07T10:00:00.000Z');
    const listed = containerProcesses({ processes: [{ ...base, startTimeMs: start, cpuTimeMs: 2500, args: ['sh', '-c', 'sleep 1'] }], omitted: 3 }, start + 10_000);
    expect(listed).toEqual({
      processes: [{ uid: 0, user: 'root', pid: 10, ppid: 1, cpuPercent: 25, startTime: '2026-12-07T10:00:00.000Z', tty: '?', cpuTimeSeconds: 2.5, cmd: ['sh', '-c', 'sleep 1'] }],
      omitted: 3,
    });
  });

  it('shows a process without a command line by its name in brackets, and no rate for one that started just now', () => {
    const [p] = containerProcesses({ processes: [{ ...base, comm: 'sleep', startTimeMs: 5000, cpuTimeMs: 0, args: [] }], omitted: 0 }, 5000).processes;
    expect(p).toMatchObject({ cmd: ['[sleep]'], cpuPercent: 0 });
  });
});
