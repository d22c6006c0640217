import { isBerthError } from '@berth/errors';
import { cleanPath, DockerIgnore, readDockerignore } from './dockerignore';

describe('readDockerignore', () => {
  it('drops comments and blanks, cleans patterns, removes a leading / and keeps ! in front', () => {
    const text = '\ufeff# comment\n\n  *.md  \n/abs/path\n!  /keep/./me/\n./a/../b\n  # not a comment (leading space)\n';
    expect(readDockerignore(text)).toEqual(['*.md', 'abs/path', '!keep/me', 'b', '# not a comment (leading space)']);
  });

  it('cleans as Go filepath.Clean', () => {
    expect(cleanPath('a//b/./c/..')).toBe('a/b');
    expect(cleanPath('../../x')).toBe('../../x');
    expect(cleanPath('/../x')).toBe('/x');
    expect(cleanPath('')).toBe('.');
    expect(cleanPath('./')).toBe('.');
  });
});

describe('DockerIgnore.ignores', () => {
  it('follows the reference examples', () => {
    // https://docs.docker.com/build/concepts/context/#dockerignore-files
    const m = DockerIgnore.parse('# comment\n*/temp*\n*/*/temp*\ntemp?\n');
    expect(m.ignores('somedir/temporary.txt')).toBe(true);
    expect(m.ignores('somedir/temp')).toBe(true);
    expect(m.ignores('somedir/subdir/temporary.txt')).toBe(true);
    expect(m.ignores('tempa')).toBe(true);
    expect(m.ignores('tempb/file')).toBe(true); // a matched directory takes what is inside
    expect(m.ignores('temporary.txt')).toBe(false);
    expect(m.ignores('a/b/c/temp')).toBe(false);
  });

  it('lets the last matching line win: exceptions and re-exclusions', () => {
    const m = DockerIgnore.parse('*.md\n!README*.md\nREADME-secret.md\n');
    expect(m.ignores('CHANGES.md')).toBe(true);
    expect(m.ignores('README.md')).toBe(false);
    expect(m.ignores('README-secret.md')).toBe(true);
    const n = DockerIgnore.parse('*.md\nREADME-secret.md\n!README*.md\n');
    expect(n.ignores('README-secret.md')).toBe(false);
  });

  it('re-includes a file inside an excluded directory', () => {
    const m = DockerIgnore.parse('dir\n!dir/keep\n');
    expect(m.ignores('dir')).toBe(true);
    expect(m.ignores('dir/other')).toBe(true);
    expect(m.ignores('dir/keep')).toBe(false);
    expect(m.ignores('dir/keep/deeper/file')).toBe(false);
  });

  it('matches ** across any number of directories, * and ? within one', () => {
    const m = DockerIgnore.parse('**/*.go\nvendor/**\na/**/z\n');
    expect(m.ignores('main.go')).toBe(true);
    expect(m.ignores('x/y/main.go')).toBe(true);
    expect(m.ignores('vendor/x/y')).toBe(true);
    expect(m.ignores('vendor')).toBe(false);
    expect(m.ignores('a/z')).toBe(true);
    expect(m.ignores('a/b/c/z')).toBe(true);
    expect(m.ignores('az')).toBe(false);
    const q = DockerIgnore.parse('f?o\n[a-c]x\n[^a]y\nlit\\*star\n');
    expect(q.ignores('foo')).toBe(true);
    expect(q.ignores('f/o')).toBe(false);
    expect(q.ignores('bx')).toBe(true);
    expect(q.ignores('dx')).toBe(false);
    expect(q.ignores('by')).toBe(true);
    expect(q.ignores('ay')).toBe(false);
    expect(q.ignores('lit*star')).toBe(true);
    expect(q.ignores('litXstar')).toBe(false);
  });

  it('refuses a lone ! and broken character classes', () => {
    expect(() => new DockerIgnore(['!'])).toThrow('illegal exclusion pattern: "!"');
    expect(() => new DockerIgnore(['[a-'])).toThrow(/syntax error in pattern/);
    // A class holding a / is a valid pattern (its segments alone are not).
    const slash = new DockerIgnore(['x[a/b]y', '!x[a/b]y/keep']);
    expect(slash.ignores('x/y')).toBe(true);
    expect(slash.shouldWalk('x/y')).toBe(true);
  });

  it('answers any pattern text with a matcher or a BadRequest, and any path with a boolean', () => {
    let seed = 3;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['*', '**', '?', '[', ']', '^', '-', '\\', '/', '!', '#', ' ', '\n', 'a', '.', '..', '\u0000', '\u00e9'];
    for (let round = 0; round < 2000; round++) {
      const text = Array.from({ length: rand(20) }, () => alphabet[rand(alphabet.length)]).join('');
      let m: DockerIgnore;
      try {
        m = DockerIgnore.parse(text);
      } catch (err) {
        expect(isBerthError(err, 'BadRequest')).toBe(true);
        continue;
      }
      for (const path of ['a', 'a/b', '.a/..', 'x/a.a', '\u00e9/a']) {
        expect(typeof m.ignores(path)).toBe('boolean');
        expect(typeof m.shouldWalk(path)).toBe('boolean');
      }
    }
  });

  it('stays linear on patterns that make regexps backtrack', () => {
    const m = new DockerIgnore(['*a*a*a*a*a*a*a*a*a*a*a*b', '**/**/**/**/**/**/**/**/x']);
    const long = 'a'.repeat(5000);
    expect(m.ignores(long)).toBe(false);
    expect(m.ignores(Array(500).fill('d').join('/') + '/y')).toBe(false);
  });
});

describe('DockerIgnore.shouldWalk', () => {
  it('skips an ignored directory unless an exception could re-include something inside', () => {
    expect(DockerIgnore.parse('node_modules\n').shouldWalk('node_modules')).toBe(false);
    expect(DockerIgnore.parse('node_modules\n').shouldWalk('src')).toBe(true);
    const m = DockerIgnore.parse('dir\n!dir/keep\n');
    expect(m.shouldWalk('dir')).toBe(true);
    expect(m.shouldWalk('dir/other')).toBe(false);
    expect(m.shouldWalk('dir/keep')).toBe(true);
    expect(DockerIgnore.parse('*\n!**/*.go\n').shouldWalk('deep')).toBe(true);
    expect(DockerIgnore.parse('*\n!src/*/x\n').shouldWalk('src/a')).toBe(true);
    expect(DockerIgnore.parse('*\n!src/*/x\n').shouldWalk('lib')).toBe(false);
  });

  // moby's algorithm, written the way moby writes it (a regexp per pattern, parents checked), to compare
  // with on random trees: a walk that skips what shouldWalk refuses finds exactly the files ignores() keeps.
  function mobyRegexp(p: string): RegExp {
    let re = '^';
    for (let i = 0; i < p.length; i++) {
      const ch = p[i];
      if (ch === '*') {
        if (p[i + 1] === '*') {
          i++;
          if (p[i + 1] === '/') i++;
          re += i + 1 >= p.length ? '.*' : '(.*/)?';
        } else re += '[^/]*';
      } else if (ch === '?') re += '[^/]';
      else if ('.+()|{}$^'.includes(ch)) re += '\\' + ch;
      else re += ch;
    }
    return new RegExp(re + '$');
  }
  function mobyIgnores(patterns: string[], file: string): boolean {
    const parts = file.split('/');
    let matched = false;
    for (const raw of patterns) {
      const exclusion = raw.startsWith('!');
      if (exclusion !== matched) continue;
      const re = mobyRegexp(exclusion ? raw.slice(1) : raw);
      let hit = re.test(file);
      for (let i = 1; !hit && i < parts.length; i++) hit = re.test(parts.slice(0, i).join('/'));
      if (hit) matched = !exclusion;
    }
    return matched;
  }

  it('agrees with moby on random trees and patterns, and its walk finds every kept file', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const names = ['a', 'b', 'ab', 'x.go', 'y.md', 'tmp'];
    const pieces = ['a', 'b', '*', '**', '?b', '*.go', 'tmp', 'x.go', '*.md'];
    for (let round = 0; round < 200; round++) {
      const files = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const depth = 1 + rand(4);
        files.add(Array.from({ length: depth }, () => names[rand(names.length)]).join('/'));
      }
      const patterns = Array.from({ length: 1 + rand(4) }, () => {
        const p = Array.from({ length: 1 + rand(3) }, () => pieces[rand(pieces.length)]).join('/');
        return rand(3) === 0 ? '!' + p : p;
      });
      const m = new DockerIgnore(patterns);
      const all = new Set<string>();
      for (const f of files) {
        const parts = f.split('/');
        for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
      }
      for (const path of all) expect([patterns, path, m.ignores(path)]).toEqual([patterns, path, mobyIgnores(patterns, path)]);
      // Walk: a path is reached when every parent directory is walked.
      for (const path of all) {
        if (m.ignores(path)) continue;
        const parts = path.split('/');
        for (let i = 1; i < parts.length; i++) {
          const dir = parts.slice(0, i).join('/');
          expect([patterns, dir, path, m.shouldWalk(dir)]).toEqual([patterns, dir, path, true]);
        }
      }
    }
  });
});
