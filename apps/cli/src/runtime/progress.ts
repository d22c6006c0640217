import type { ImageProgress } from '@berth/runtime-client';
import { humanSize } from './format';

export interface ProgressOutput {
  write(text: string): unknown;
  /** A terminal: lines are redrawn in place. */
  isTTY?: boolean;
  columns?: number;
}

/** docker's JSONProgress.String(): `[====>    ]  12.35MB/48.1MB`, the bar only on a terminal wider than 110 columns. */
export function progressText(current: number, total: number, width: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const percentage = Math.min(50, Math.floor((current / total) * 100) / 2) | 0;
  const bar = width > 110 ? `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] ` : '';
  const numbers = current > total ? '' : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return `${bar}${numbers}`;
}

/**
 * Draws pull and push progress as docker's CLI does (moby's jsonmessage.DisplayJSONMessagesStream).
 * On a terminal every layer keeps one line, redrawn in place (cursor up, clear line, write, cursor
 * down), so `a1b2c3d4e5f6: Downloading  12.35MB/48.1MB` turns into `a1b2c3d4e5f6: Pull complete`. Not
 * on a terminal, only the status changes are printed, one plain line each: byte counts are left out, and
 * there is no cursor movement.
 */
export class ProgressDisplay {
  /** Line of each layer id, counted from the first layer line. */
  private lines = new Map<string, number>();

  constructor(private readonly out: ProgressOutput) {}

  /** One progress message; a line about the whole image with no status (a bare result) prints nothing. */
  update(progress: ImageProgress): void {
    if (!progress.id && !progress.status) return;
    const terminal = !!this.out.isTTY;
    const bytes = progressText(progress.current, progress.total, this.out.columns ?? 80);
    if (!progress.id) {
      // A line about the whole image ends the table of layers above it, as in docker.
      this.lines.clear();
      this.out.write(`${progress.status}\n`);
      return;
    }
    if (!terminal) {
      if (!bytes) this.out.write(`${progress.id}: ${progress.status}\n`);
      return;
    }
    let line = this.lines.get(progress.id);
    if (line === undefined) {
      line = this.lines.size;
      this.lines.set(progress.id, line);
      this.out.write('\n');
    }
    const up = this.lines.size - line;
    this.out.write(`\x1b[${up}A\x1b[2K\r${progress.id}: ${progress.status}${bytes ? ` ${bytes}` : ''}\r\x1b[${up}B`);
  }
}
