import { expandWord, expandWords, expandWordWithMatches } from './lexer';

const env = new Map(Object.entries({ foo: '/bar', empty: '', file: 'archive.tar.gz', path: 'a/b/a/b', WORDS: 'one  two', 'x_1': 'X' }));
const look = (n: string) => env.get(n);
const x = (w: string, opts = {}) => expandWord(w, look, opts);

describe('expandWord', () => {
  it('does the reference examples', () => {
    // FROM busybox / ENV FOO=/bar / WORKDIR ${FOO} / ADD . $FOO / COPY \$FOO /quux
    expect(x('${foo}')).toBe('/bar');
    expect(x('$foo')).toBe('/bar');
    expect(x('\\$foo')).toBe('$foo');
    expect(x('\\${foo}')).toBe('${foo}');
    expect(x('${foo}_bar')).toBe('/bar_bar');
  });

  it('supports the modifiers :- :+ - + :? ?', () => {
    expect(x('${unset:-word}')).toBe('word');
    expect(x('${empty:-word}')).toBe('word');
    expect(x('${empty-word}')).toBe('');
    expect(x('${unset-word}')).toBe('word');
    expect(x('${foo:-word}')).toBe('/bar');
    expect(x('${foo:+word}')).toBe('word');
    expect(x('${empty:+word}')).toBe('');
    expect(x('${empty+word}')).toBe('word');
    expect(x('${unset:+word}')).toBe('');
    expect(x('${unset:-$foo/x}')).toBe('/bar/x');
    expect(x('${foo:?oops}')).toBe('/bar');
    expect(() => x('${unset:?must be set}')).toThrow('unset: must be set');
    expect(() => x('${empty:?}')).toThrow('empty: is not allowed to be empty');
    expect(() => x('${unset?}')).toThrow('unset: is not allowed to be unset');
  });

  it('supports the pattern forms # ## % %% / //', () => {
    expect(x('${file#*.}')).toBe('tar.gz');
    expect(x('${file##*.}')).toBe('gz');
    expect(x('${file%.*}')).toBe('archive.tar');
    expect(x('${file%%.*}')).toBe('archive');
    expect(x('${file#nomatch}')).toBe('archive.tar.gz');
    expect(x('${path/b/X}')).toBe('a/X/a/b');
    expect(x('${path//b/X}')).toBe('a/X/a/X');
    expect(x('${path//?\\//-}')).toBe('---b');
    expect(x('${file%\\*}')).toBe('archive.tar.gz');
    expect(() => x('${file%\\q}')).toThrow("invalid escape '\\q'");
  });

  it('quotes: single literal, double expanding, escapes inside double quotes only for " $ and the escape', () => {
    expect(x("'$foo'")).toBe('$foo');
    expect(x('"$foo"')).toBe('/bar');
    expect(x('"a\\"b"')).toBe('a"b');
    expect(x('"a\\nb"')).toBe('a\\nb');
    expect(x('a\\ b')).toBe('a b');
    expect(x('"it\'s"')).toBe("it's");
    expect(() => x('"open')).toThrow('unexpected end of statement while looking for matching double-quote');
    expect(() => x("'open")).toThrow('unexpected end of statement while looking for matching single-quote');
  });

  it('treats $ without a name literally, and reads digits and special parameters as names', () => {
    expect(x('cost: $')).toBe('cost: $');
    expect(x('$-x')).toBe('x');
    expect(x('$1a')).toBe('a');
    expect(x('$x_1!')).toBe('X!');
  });

  it('reports syntax errors as BuildKit does', () => {
    expect(() => x('${foo')).toThrow("missing '}'");
    expect(() => x('${}')).toThrow('bad substitution');
    expect(() => x('${:-a}')).toThrow('bad substitution');
    expect(() => x('${foo^^}')).toThrow('unsupported modifier (^) in substitution');
    expect(() => x('${foo:=x}')).toThrow('unsupported modifier (:=) in substitution');
  });

  it('uses the backtick escape when told', () => {
    expect(x('`$foo', { escape: '`' })).toBe('$foo');
    expect(x('C:\\dir', { escape: '`' })).toBe('C:\\dir');
  });

  it('expands heredoc bodies as a shell here-document: quotes kept, escapes only before $ ` \\', () => {
    expect(x('say "$foo" \'$foo\' \\$foo \\n', { heredoc: true })).toBe('say "/bar" \'/bar\' $foo \\n');
  });

  it('keeps unset references with skipUnset', () => {
    expect(x('$unset ${unset:-d} $foo', { skipUnset: true })).toBe('$unset ${unset:-d} /bar');
  });
});

describe('expandWords', () => {
  it('splits on unquoted whitespace, also inside expanded values', () => {
    expect(expandWords('$WORDS "a b" c', look)).toEqual(['one', 'two', 'a b', 'c']);
  });
});

describe('expandWordWithMatches', () => {
  it('names the variables used', () => {
    expect([...expandWordWithMatches('$foo ${unset:-x}', look).used].sort()).toEqual(['foo', 'unset']);
  });
});

describe('hostile words', () => {
  it('refuses nesting beyond the bound instead of overflowing the stack', () => {
    const deep = '${a:-'.repeat(10_000) + 'x' + '}'.repeat(10_000);
    expect(() => x(deep)).toThrow('nested too deeply');
    const ok = '${a:-'.repeat(50) + 'x' + '}'.repeat(50);
    expect(x(ok)).toBe('x');
  });

  it('bounds the result size', () => {
    const big = new Map([['v', 'x'.repeat(600_000)]]);
    expect(() => expandWord('$v$v', (n) => big.get(n))).toThrow('longer than');
  });

  it('bounds pattern work', () => {
    const big = new Map([['v', 'a'.repeat(100_000)]]);
    expect(() => expandWord('${v//*b/x}', (n) => big.get(n))).toThrow('too costly');
    expect(expandWord('${v##*a}', (n) => big.get(n))).toBe('');
  });

  it('never reads Object.prototype', () => {
    expect(x('${constructor}${__proto__}${toString:-d}')).toBe('d');
  });
});
