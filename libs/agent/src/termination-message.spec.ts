import type { Container as RuntimeContainer } from '@berth/runtime-client';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminationLogMount, terminationLogPath, terminationMessage } from './termination-message';

describe('termination messages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-termination-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'container.log');
  const run = (exitCode: number): RuntimeContainer => ({ state: 'exited', exit: { exitCode, exitedAt: '', reason: '' }, logPath: log }) as unknown as RuntimeContainer;
  const container = { name: 'c', terminationMessagePath: '/dev/termination-log' };

  it('makes a world-writable file per run, keeping only the previous run besides', async () => {
    for (const attempt of [0, 1, 2]) expect(await terminationLogMount(dir, container, attempt)).toEqual({ type: 'bind', source: terminationLogPath(dir, 'c', attempt), destination: '/dev/termination-log', readOnly: false });
    expect(readdirSync(join(dir, 'containers', 'c')).sort()).toEqual(['1.termination-log', '2.termination-log']);
    expect(statSync(terminationLogPath(dir, 'c', 2)).mode & 0o777).toBe(0o666);
    expect(await terminationLogMount(dir, { name: 'c', terminationMessagePath: '' }, 3)).toBeUndefined();
  });

  it('reads the file, at most 4 KiB of it', async () => {
    writeFileSync(terminationLogPath(dir, 'c', 2), 'x'.repeat(5000));
    expect(await terminationMessage(dir, container, run(1), 2)).toBe('x'.repeat(4096));
  });

  it('falls back to the end of the log for a failed run that wrote no message, when asked to', async () => {
    writeFileSync(terminationLogPath(dir, 'c', 1), '');
    const lines = Array.from({ length: 100 }, (_, i) => `2026-01-01T00:00:00.000000000Z stdout F line ${i}`);
    writeFileSync(log, [...lines, '2026-01-01T00:00:00.000000000Z stderr P par', '2026-01-01T00:00:00.000000000Z stderr F tial', ''].join('\n'));
    const fallback = { ...container, terminationMessagePolicy: 'FallbackToLogsOnError' as const };
    const message = await terminationMessage(dir, fallback, run(1), 1);
    expect(message.split('\n')).toHaveLength(80);
    expect(message.endsWith('line 99\npartial')).toBe(true);
    expect(await terminationMessage(dir, fallback, run(0), 1)).toBe('');
    expect(await terminationMessage(dir, container, run(1), 1)).toBe('');
  });
});
