import { isBerthError } from '@berth/errors';
import { parseContainerProcesses } from './pod-top';

const good = { uid: 0, user: 'root', pid: 12, ppid: 1, cpuPercent: 0.5, startTime: '2026-12-07T10:00:00.000Z', tty: '?', cpuTimeSeconds: 0.01, cmd: ['sleep', '600'] };

describe('parseContainerProcesses', () => {
  it("passes on the node's processes field by field, nothing else", () => {
    const text = JSON.stringify({ processes: [{ ...good, extra: 'x' }], omitted: 0, more: true });
    expect(parseContainerProcesses(text, 'n1')).toEqual({ processes: [good], omitted: 0 });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['no omitted count', JSON.stringify({ processes: [] })],
    ['a process with a negative pid', JSON.stringify({ processes: [{ ...good, pid: -1 }], omitted: 0 })],
    ['a process with a non-string argument', JSON.stringify({ processes: [{ ...good, cmd: ['a', 1] }], omitted: 0 })],
    ['a process with a start that is no time', JSON.stringify({ processes: [{ ...good, startTime: 'soon' }], omitted: 0 })],
    ['a process with an inherited field only', '{"processes":[{"__proto__":{"pid":1}}],"omitted":0}'],
    ['too many processes', JSON.stringify({ processes: Array.from({ length: 4097 }, () => good), omitted: 0 })],
  ])('refuses %s as the node\'s fault', (_what, text) => {
    let caught: unknown;
    try {
      parseContainerProcesses(text, 'n1');
    } catch (err) {
      caught = err;
    }
    expect(isBerthError(caught, 'InternalError')).toBe(true);
    expect((caught as Error).message).toMatch(/^node "n1" sent a malformed process list: /);
  });
});
