import { DESCRIBE_LAYOUT, tabwrite } from '../tabwriter';

/**
 * Collects describe output as kubectl's prefix writer does: each line indented by a number of
 * spaces, cells separated by tabs, then aligned as a whole.
 */
export class DescribeWriter {
  private readonly lines: string[] = [];

  line(indent: number, ...cells: string[]): void {
    this.lines.push(' '.repeat(indent) + cells.join('\t'));
  }

  /** Lines of free text (ConfigMap data), written without alignment. */
  text(indent: number, text: string): void {
    for (const line of text.split('\n')) this.lines.push(' '.repeat(indent) + line);
  }

  blank(): void {
    this.lines.push('');
  }

  toString(): string {
    return `${tabwrite(this.lines.join('\n'), DESCRIBE_LAYOUT)}\n`;
  }
}
