import type { ImageProgress } from '@berth/runtime-client';
import { ProgressDisplay, progressText } from './progress';

/** A terminal just capable enough for docker's progress: \n, \r, cursor up/down, clear line. */
function screen(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let column = 0;
  for (let i = 0; i < output.length; i++) {
    const escape = /^\x1b\[(\d*)([ABK])/.exec(output.slice(i));
    if (escape) {
      const n = Number(escape[1] || 1);
      if (escape[2] === 'A') row = Math.max(0, row - n);
      if (escape[2] === 'B') row += n;
      if (escape[2] === 'K') lines[row] = '';
      while (lines.length <= row) lines.push('');
      i += escape[0].length - 1;
      continue;
    }
    const char = output[i]!;
    if (char === '\n') {
      row++;
      column = 0;
      while (lines.length <= row) lines.push('');
    } else if (char === '\r') {
      column = 0;
    } else {
      const line = lines[row]!.padEnd(column);
      lines[row] = line.slice(0, column) + char + line.slice(column + 1);
      column++;
    }
  }
  return lines;
}

const MB = 1_000_000;
const step = (id: string, status: string, current = 0, total = 0): ImageProgress => ({ id, status, current, total });
const PULL: ImageProgress[] = [
  step('', 'latest: Pulling from library/app'),
  step('a1b2c3d4e5f6', 'Pulling fs layer'),
  step('0f0e0d0c0b0a', 'Pulling fs layer'),
  step('a1b2c3d4e5f6', 'Downloading', 12.3 * MB, 48.1 * MB),
  step('0f0e0d0c0b0a', 'Downloading', 1024, 2048),
  step('0f0e0d0c0b0a', 'Download complete'),
  step('a1b2c3d4e5f6', 'Downloading', 30 * MB, 48.1 * MB),
  step('a1b2c3d4e5f6', 'Download complete'),
  step('a1b2c3d4e5f6', 'Extracting', 48.1 * MB, 48.1 * MB),
  step('a1b2c3d4e5f6', 'Pull complete'),
  step('0f0e0d0c0b0a', 'Pull complete'),
  { ...step('', ''), digest: 'sha256:abc' },
  step('', ''),
];

describe('ProgressDisplay', () => {
  it('keeps one line per layer on a terminal, redrawn in place', () => {
    let written = '';
    const display = new ProgressDisplay({ isTTY: true, columns: 80, write: (text: string) => (written += text) });
    PULL.slice(0, 5).forEach((p) => display.update(p));
    expect(screen(written)).toEqual(['latest: Pulling from library/app', 'a1b2c3d4e5f6: Downloading   12.3MB/48.1MB', '0f0e0d0c0b0a: Downloading  1.024kB/2.048kB', '']);
    PULL.slice(5).forEach((p) => display.update(p));
    expect(screen(written)).toEqual(['latest: Pulling from library/app', 'a1b2c3d4e5f6: Pull complete', '0f0e0d0c0b0a: Pull complete', '']);
    expect(written).toContain('\x1b[2A');
  });

  it('draws docker\'s bar on a wide terminal', () => {
    let written = '';
    const display = new ProgressDisplay({ isTTY: true, columns: 120, write: (text: string) => (written += text) });
    display.update(step('a1b2c3d4e5f6', 'Downloading', 24 * MB, 48 * MB));
    expect(screen(written)[0]).toBe(`a1b2c3d4e5f6: Downloading [${'='.repeat(25)}>${' '.repeat(25)}]     24MB/48MB`);
  });

  it('prints plain status lines, without byte counts or cursor movement, when not on a terminal', () => {
    let written = '';
    const display = new ProgressDisplay({ isTTY: false, write: (text: string) => (written += text) });
    PULL.forEach((p) => display.update(p));
    expect(written).toBe(
      [
        'latest: Pulling from library/app',
        'a1b2c3d4e5f6: Pulling fs layer',
        '0f0e0d0c0b0a: Pulling fs layer',
        '0f0e0d0c0b0a: Download complete',
        'a1b2c3d4e5f6: Download complete',
        'a1b2c3d4e5f6: Pull complete',
        '0f0e0d0c0b0a: Pull complete',
        '',
      ].join('\n'),
    );
  });

  it('words byte counts as docker does', () => {
    expect(progressText(0, 0, 80)).toBe('');
    expect(progressText(4_573_000, 31_370_000, 80)).toBe(' 4.573MB/31.37MB');
    expect(progressText(512, 0, 80)).toBe('    512B');
    expect(progressText(10, 5, 80)).toBe('');
  });
});
