import { shellWords } from './shell-words';

describe('shellWords', () => {
  it.each([
    ['echo hi', ['echo', 'hi']],
    ['  sh  -c   "echo a b"  ', ['sh', '-c', 'echo a b']],
    ["echo 'a \"b\" $c'", ['echo', 'a "b" $c']],
    ['echo "a \\"b\\" \\$c \\n"', ['echo', 'a "b" $c \\n']],
    ['echo c\\ d', ['echo', 'c d']],
    ['a""b', ['ab']],
    ["''", ['']],
    ['', []],
    ['python -m http.server --bind 0.0.0.0 8000', ['python', '-m', 'http.server', '--bind', '0.0.0.0', '8000']],
  ])('%j', (line, words) => expect(shellWords(line)).toEqual(words));

  it('refuses an unclosed quote', () => {
    expect(() => shellWords('echo "hi')).toThrow('unclosed double quote');
    expect(() => shellWords("echo 'hi")).toThrow('unclosed single quote');
  });
});
