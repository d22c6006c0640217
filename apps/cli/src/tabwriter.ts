/**
 * Column alignment with the semantics of Go's text/tabwriter, which kubectl prints through: cells end
 * at a tab, a column is aligned over each run of consecutive lines that have a cell in it, and the text
 * after a line's last tab is never padded. kubectl's tables use minWidth 6 / padding 3, describe 0 / 2.
 */
export interface TabwriterOptions {
  minWidth: number;
  padding: number;
}

export const TABLE_LAYOUT: TabwriterOptions = { minWidth: 6, padding: 3 };
export const DESCRIBE_LAYOUT: TabwriterOptions = { minWidth: 0, padding: 2 };

export function textWidth(text: string): number {
  return [...text].length;
}

export function tabwrite(text: string, options: TabwriterOptions): string {
  const lines = text.split('\n').map((line) => line.split('\t'));
  const output: string[] = new Array(lines.length);
  const widths: number[] = [];
  const terminatedCells = (line: number) => lines[line].length - 1;

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      output[i] = cells.map((cell, j) => (j < cells.length - 1 ? cell + ' '.repeat(Math.max(0, widths[j] - textWidth(cell))) : cell)).join('');
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let line = line0; line < line1; line++) {
      if (column >= terminatedCells(line)) continue;
      writeLines(line0, line);
      line0 = line;
      let width = options.minWidth;
      for (; line < line1 && column < terminatedCells(line); line++) {
        width = Math.max(width, textWidth(lines[line][column]) + options.padding);
      }
      widths.push(width);
      format(line0, line);
      widths.pop();
      line0 = line;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return output.join('\n');
}
