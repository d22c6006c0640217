/**
 * A shell line split into words as a POSIX shell splits a simple command (`command: echo "a b" c\ d` is
 * `['echo', 'a b', 'c d']`): blanks separate words; single quotes keep everything literally; double quotes
 * keep blanks and let a backslash escape `$`, `` ` ``, `"`, `\` and a newline; a backslash outside quotes
 * keeps the next character. Nothing is expanded (no variables, globs or `~`): compose does not either.
 * Throws an Error for an unclosed quote.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '\\') {
      i++;
      if (i < line.length && line[i] !== '\n') word = (word ?? '') + line[i];
      else if (i >= line.length) word = (word ?? '') + '\\';
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`the shell line ${JSON.stringify(line)} has an unclosed single quote`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1])) {
          i++;
          if (line[i] !== '\n') text += line[i];
        } else {
          text += line[i];
        }
      }
      if (i >= line.length) throw new Error(`the shell line ${JSON.stringify(line)} has an unclosed double quote`);
      word = (word ?? '') + text;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
