import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootTimeMs, hostUserNames, parseProcess, readHostProcess, ttyName } from './processes';

describe('parseProcess', () => {
  // A command name with spaces and parentheses: the fields are counted after its last ')'.
  const stat = '4242 (a) b (c) S 17 4242 4242 34817 4242 4194304 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 100';
  const status = 'Name:\ta) b (c\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n';

  it('reads pid, ppid, effective uid, start, cpu time, tty and the command line', () => {
    const p = parseProcess(4242, stat, status, Buffer.from('sh\0-c\0sleep 1000\0'), 1_000_000);
    expect(p).toEqual({ pid: 4242, ppid: 17, uid: 0, startTimeMs: 1_000_000 + 123_450, cpuTimeMs: 3000, tty: 'pts/1', comm: 'a) b (c', args: ['sh', '-c', 'sleep 1000'] });
  });

  it('keeps an empty command line empty (a kernel thread, a zombie)', () => {
    expect(parseProcess(4242, stat, status, Buffer.alloc(0), 0)?.args).toEqual([]);
  });

  it('refuses what is not a stat line', () => {
    expect(parseProcess(1, 'garbage', status, Buffer.alloc(0), 0)).toBeUndefined();
    expect(parseProcess(1, '1 (x) S notanumber', status, Buffer.alloc(0), 0)).toBeUndefined();
  });
});

describe('ttyName', () => {
  it('names pts, consoles and serial lines as ps does, ? for none', () => {
    expect(ttyName(0)).toBe('?');
    expect(ttyName((136 << 8) | 3)).toBe('pts/3');
    expect(ttyName((137 << 8) | 2)).toBe('pts/258');
    expect(ttyName((4 << 8) | 1)).toBe('tty1');
    expect(ttyName((4 << 8) | 65)).toBe('ttyS1');
    expect(ttyName((5 << 8) | 1)).toBe('?');
  });
});

describe('readHostProcess', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  it('reads a live process from /proc', async () => {
    child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const started = Date.now();
    const p = await readHostProcess(child.pid!, await bootTimeMs());
    expect(p).toMatchObject({ pid: child.pid, ppid: process.pid, uid: process.geteuid!(), tty: expect.any(String), comm: 'sleep', args: ['sleep', '1000'] });
    // The start as the kernel counts it (ticks since boot): within a second or so of when it was spawned.
    expect(Math.abs(p!.startTimeMs - started)).toBeLessThan(5000);
  });

  it('is undefined for a process that is gone', async () => {
    child = spawn('true', { stdio: 'ignore' });
    const pid = child.pid!;
    await new Promise((resolve) => child!.once('exit', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await readHostProcess(pid, 0)).toBeUndefined();
  });
});

describe('hostUserNames', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-passwd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps uids to names, the first line of a uid winning, and ignores malformed lines', async () => {
    const path = join(dir, 'passwd');
    writeFileSync(path, 'root:x:0:0::/root:/bin/sh\n__proto__:x:7:7::/:/bin/false\nbroken\nnobody:x:notanumber\nroot2:x:0:0::/:/bin/sh\n');
    const names = await hostUserNames(path);
    expect([...names]).toEqual([
      [0, 'root'],
      [7, '__proto__'],
    ]);
  });
});
