import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogEntry, parseLogLine, readLog } from './logs';

async function all(source: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of source) out.push(`${e.stream}:${e.data.toString()}`);
  return out;
}

describe('readLog', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
    path = join(dir, 'log');
    writeFileSync(
      path,
      [
        '2026-01-01T00:00:01.000000001Z stdout F one',
        '2026-01-01T00:00:02Z stderr F two',
        '2026-01-01T00:00:03Z stdout P thr',
        '2026-01-01T00:00:03Z stdout F ee',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses CRI lines, joining partial pieces into whole lines', async () => {
    expect(await all(readLog(path, { tail: -1 }))).toEqual(['stdout:one\n', 'stderr:two\n', 'stdout:thr', 'stdout:ee\n']);
    expect(parseLogLine(Buffer.from('garbage'))).toBeUndefined();
  });

  it('keeps the last N lines, counting partial pieces with their line', async () => {
    expect(await all(readLog(path, { tail: 1 }))).toEqual(['stdout:thr', 'stdout:ee\n']);
    expect(await all(readLog(path, { tail: 0 }))).toEqual([]);
  });

  it('filters by time', async () => {
    expect(await all(readLog(path, { tail: -1, since: '2026-01-01T00:00:02Z' }))).toHaveLength(3);
  });

  it('follows appended lines until the process exits, reading what came before the exit', async () => {
    let exit!: () => void;
    const exited = new Promise<void>((resolve) => (exit = resolve));
    const seen: string[] = [];
    for await (const e of readLog(path, { tail: 1, follow: true, exited })) {
      seen.push(e.data.toString());
      if (e.data.toString() === 'ee\n') appendFileSync(path, '2026-01-01T00:00:04Z stdout F four\n');
      if (e.data.toString() === 'four\n') {
        appendFileSync(path, '2026-01-01T00:00:05Z stdout F last\n');
        exit();
      }
    }
    expect(seen).toEqual(['thr', 'ee\n', 'four\n', 'last\n']);
  });

  it('starts at the offset taken when it attached, even when lines were appended before it was first read', async () => {
    const attachedAt = statSync(path).size;
    const log = readLog(path, { tail: -1, follow: true, fromOffset: attachedAt, exited: Promise.resolve() });
    // The answer to the first input typed lands before the reader opened the file: it is still shown.
    appendFileSync(path, '2026-01-01T00:00:04Z stdout F got typed\n');
    expect(await all(log)).toEqual(['stdout:got typed\n']);
  });
});
