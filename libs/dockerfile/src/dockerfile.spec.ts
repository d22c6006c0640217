import { isBerthError } from '@berth/errors';
import { parseDockerfile, stagesNeeded } from './dockerfile';
import { parseInstruction } from './instruction-text';
import { heredocContent } from './syntax';
import type { CopyInstruction, Instruction, RunInstruction } from './types';

const P = { platform: 'linux/amd64', buildPlatform: 'linux/amd64' };
const parse = (text: string, opts = {}) => parseDockerfile(text, { ...P, ...opts });
const only = (text: string): Instruction => parse(text).stages[0].instructions[0];

function parseErrorOf(text: string, opts = {}): string {
  try {
    parse(text, opts);
  } catch (err) {
    expect(isBerthError(err, 'BadRequest')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a parse error');
}

describe('parser directives', () => {
  it('reads syntax and escape at the top, case-insensitively, with spaces', () => {
    const df = parse('# Syntax = docker/dockerfile:1\n#escape=`\nFROM scratch\n');
    expect(df.directives).toEqual({ syntax: 'docker/dockerfile:1', escape: '`' });
  });

  it('stops at the first non-directive line, comment or instruction (the reference cases)', () => {
    expect(parse('# About my dockerfile\n# directive=value\n# escape=`\nFROM scratch\n').directives.escape).toBe('\\');
    expect(parse('FROM scratch\n# escape=`\n').directives.escape).toBe('\\');
    expect(parse('# unknowndirective=value\n# escape=`\nFROM scratch\n').directives.escape).toBe('\\');
    expect(parse('\n# escape=`\nFROM scratch\n').directives.escape).toBe('\\');
  });

  it('refuses a repeated directive and a bad escape token', () => {
    expect(parseErrorOf('# escape=\\\n# escape=`\nFROM scratch\n')).toBe('dockerfile parse error on line 2: only one escape parser directive can be used');
    expect(parseErrorOf('# escape=x\nFROM scratch\n')).toBe("dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\");
  });

  it('makes the reference Windows example work with the backtick escape', () => {
    const df = parse('# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n');
    const [copy, run] = df.stages[0].instructions as [CopyInstruction, RunInstruction];
    expect(copy.dest).toBe('c:\\');
    expect(run.command).toEqual({ form: 'shell', command: 'dir c:\\' });
    // The same file without the directive continues `COPY ... c:\` into the RUN line.
    const plain = parse('FROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n');
    expect(plain.stages[0].instructions).toHaveLength(1);
    expect((plain.stages[0].instructions[0] as CopyInstruction).sources).toEqual(['testfile.txt', 'c:RUN', 'dir']);
  });
});

describe('lines', () => {
  it('joins continuations, drops comment lines inside them, warns on empty continuation lines', () => {
    const df = parse('FROM scratch\nRUN echo a \\\n  # a comment\n\n  && echo b\nRUN x \\\n');
    const [run, last] = df.stages[0].instructions as RunInstruction[];
    expect(run.command).toEqual({ form: 'shell', command: 'echo a   && echo b' });
    expect(run.original).toBe('RUN echo a   && echo b');
    expect([run.line, run.endLine]).toEqual([2, 5]);
    expect(df.warnings.some((w) => w.line === 2 && w.message.startsWith('Empty continuation line'))).toBe(true);
    expect(last.command).toEqual({ form: 'shell', command: 'x' });
  });

  it('reads instruction names case-insensitively and keeps line numbers over comments and CRLF', () => {
    const df = parse('\ufeff# c\r\nfrom scratch\r\n\r\n  Env A=1\r\nwOrKdIr /x\r\n');
    expect(df.stages[0].from.line).toBe(2);
    expect(df.stages[0].instructions.map((i) => [i.kind, i.line])).toEqual([['ENV', 4], ['WORKDIR', 5]]);
  });

  it('words errors as BuildKit: unknown instruction with its line', () => {
    expect(parseErrorOf('FROM scratch\n\nRUNN make\n')).toBe('dockerfile parse error on line 3: unknown instruction: RUNN');
  });

  it('refuses instructions before FROM (ARG excepted) and empty files', () => {
    expect(parseErrorOf('ARG A\nRUN x\nFROM scratch\n')).toBe('dockerfile parse error on line 2: no build stage in current context');
    expect(parseErrorOf('ARG A\n')).toBe('dockerfile parse error on line 1: no build stage in current context');
    expect(parseErrorOf('# only a comment\n\n')).toBe('the Dockerfile cannot be empty');
  });
});

describe('heredocs', () => {
  it('attaches RUN heredocs with their content, <<- chomping tabs, quoted delimiters not expanding', () => {
    const df = parse('FROM scratch\nRUN <<EOF\necho $HOME\nEOF\nRUN <<-"END" cat\n\tindented\n\tEND\nRUN echo after\n');
    const [a, b, c] = df.stages[0].instructions as RunInstruction[];
    expect(a.heredocs).toEqual([{ name: 'EOF', content: 'echo $HOME\n', expand: true, chomp: false, fd: 0 }]);
    expect([a.line, a.endLine]).toEqual([2, 4]);
    expect(b.heredocs[0]).toMatchObject({ name: 'END', expand: false, chomp: true });
    expect(heredocContent(b.heredocs[0])).toBe('indented\n');
    expect(c.line).toBe(8);
  });

  it('reads several heredocs in order (the reference example)', () => {
    const text = 'FROM scratch\nRUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n';
    const run = parse(text).stages[0].instructions[0] as RunInstruction;
    expect(run.heredocs.map((h) => [h.name, h.content])).toEqual([['FILE1', 'I am\nfirst\n'], ['FILE2', 'I am\nsecond\n']]);
  });

  it('makes COPY heredocs inline files', () => {
    const copy = only('FROM scratch\nCOPY <<EOF <<\'RAW\' file /dest/\nhello $X\nEOF\nraw $X\nRAW\n') as CopyInstruction;
    expect(copy.sources).toEqual(['file']);
    expect(copy.files.map((f) => [f.name, f.content, f.expand])).toEqual([['EOF', 'hello $X\n', true], ['RAW', 'raw $X\n', false]]);
    expect(copy.dest).toBe('/dest/');
  });

  it('refuses an unterminated heredoc', () => {
    expect(parseErrorOf('FROM scratch\nRUN <<EOF\nno end\n')).toBe('dockerfile parse error on line 2: unterminated heredoc');
  });

  it('ignores << in the exec form and in other instructions', () => {
    const df = parse('FROM scratch\nRUN ["cat", "<<EOF"]\nENV A=<<EOF\n');
    expect((df.stages[0].instructions[0] as RunInstruction).heredocs).toEqual([]);
    expect(df.stages[0].instructions).toHaveLength(2);
  });
});

describe('instructions', () => {
  it('parses FROM with --platform and AS, lowercasing the stage name', () => {
    const df = parse('FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\nFROM build\n');
    expect(df.stages[0]).toMatchObject({ name: 'build', platform: 'linux/amd64', base: { type: 'image', ref: 'golang:1.22' } });
    expect(df.stages[1].base).toEqual({ type: 'stage', stage: 0 });
    expect(parseErrorOf('FROM a AS\n')).toBe('dockerfile parse error on line 1: FROM requires either one or three arguments');
    expect(parseErrorOf('FROM a FOR b\n')).toBe('dockerfile parse error on line 1: FROM requires either one or three arguments');
    expect(parseErrorOf('FROM a AS 1x\n')).toMatch(/invalid name for build stage: "1x"/);
    expect(parseErrorOf('FROM a AS x\nFROM b AS X\n')).toBe('dockerfile parse error on line 2: duplicate stage name "x"');
  });

  it('expands global ARGs (and build args) in FROM; a blank result is an error', () => {
    const text = 'ARG VERSION=latest\nARG REPO\nFROM ${REPO:-busybox}:$VERSION\nARG VERSION\n';
    expect(parse(text).stages[0].base).toEqual({ type: 'image', ref: 'busybox:latest' });
    expect(parse(text, { buildArgs: { VERSION: '1.36', REPO: 'alpine' } }).stages[0].base).toEqual({ type: 'image', ref: 'alpine:1.36' });
    expect(parseErrorOf('ARG B\nFROM $B\n')).toBe('dockerfile parse error on line 2: base name ($B) should not be blank');
    expect(parse('FROM scratch\n').stages[0].base).toEqual({ type: 'scratch' });
  });

  it('parses RUN shell and exec forms, --mount and --network, and refuses what the builder cannot do', () => {
    const run = only('FROM scratch\nRUN --mount=type=cache,target=/root/.cache,id=go,sharing=locked,mode=0700,uid=1 --mount=type=bind,from=build,source=/out,target=/in --mount=type=tmpfs,dst=/t,size=64m --network=none go build\n') as RunInstruction;
    expect(run.mounts.map((m) => m.mount)).toEqual([
      { type: 'cache', target: '/root/.cache', readonly: false, sharing: 'locked', id: 'go', mode: 0o700, uid: 1 },
      { type: 'bind', target: '/in', source: '/out', from: 'build', readonly: true },
      { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024 },
    ]);
    expect(run.network).toBe('none');
    expect(run.command).toEqual({ form: 'shell', command: 'go build' });
    expect((only('FROM scratch\nRUN ["/bin/echo", "a b"]\n') as RunInstruction).command).toEqual({ form: 'exec', args: ['/bin/echo', 'a b'] });
    expect((only('FROM scratch\nRUN [not json\n') as RunInstruction).command).toEqual({ form: 'shell', command: '[not json' });
    expect(parseErrorOf('FROM scratch\nRUN --mount=type=secret,id=x cat /run/secrets/x\n')).toMatch(/type=secret is not supported by berth's builder/);
    expect(parseErrorOf('FROM scratch\nRUN --mount=type=ssh git clone x\n')).toMatch(/type=ssh is not supported/);
    expect(parseErrorOf('FROM scratch\nRUN --network=host x\n')).toMatch(/--network=host is not supported/);
    expect(parseErrorOf('FROM scratch\nRUN --security=insecure x\n')).toMatch(/--security=insecure is not supported/);
    expect(parseErrorOf('FROM scratch\nRUN --mount=type=cache x\n')).toMatch(/mount target is required/);
    expect(parseErrorOf('FROM scratch\nRUN --mount=type=bind,target=/a,bogus=1 x\n')).toMatch(/unexpected key 'bogus'/);
    expect(parseErrorOf('FROM scratch\nRUN --frobnicate x\n')).toBe('dockerfile parse error on line 2: unknown flag: frobnicate');
    expect(parseErrorOf('FROM scratch\nRUN\n')).toBe('dockerfile parse error on line 2: RUN requires at least one argument');
  });

  it('parses COPY and ADD flags, sources and destination', () => {
    const copy = only('FROM scratch\nCOPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.tmp --exclude=x a "b c" /dest/\n') as CopyInstruction;
    expect(copy).toMatchObject({ from: 'build', chown: 'app:app', chmod: '0644', link: true, parents: true, excludes: ['*.tmp', 'x'], sources: ['a', '"b', 'c"'], dest: '/dest/' });
    const json = only('FROM scratch\nCOPY ["a b", "/c d/"]\n') as CopyInstruction;
    expect([json.sources, json.dest]).toEqual([['a b'], '/c d/']);
    const add = only('FROM scratch\nADD --keep-git-dir=true --checksum=sha256:abc https://x/y.tar /\n') as CopyInstruction;
    expect(add).toMatchObject({ kind: 'ADD', keepGitDir: true, checksum: 'sha256:abc', link: false });
    expect(parseErrorOf('FROM scratch\nADD --from=x a /b\n')).toBe('dockerfile parse error on line 2: unknown flag: from');
    expect(parseErrorOf('FROM scratch\nCOPY a\n')).toMatch(/COPY requires at least two arguments/);
    expect(parseErrorOf('FROM scratch\nCOPY --link=maybe a b\n')).toMatch(/expecting boolean value for flag link, not: maybe/);
    expect(parseErrorOf('FROM scratch\nCOPY --from=a --from=b a b\n')).toMatch(/Duplicate flag specified: from/);
    expect(parseErrorOf('FROM scratch\nCOPY --chown a b\n')).toMatch(/Missing a value on flag: chown/);
  });

  it('parses ENV and LABEL in both forms and refuses malformed ones', () => {
    const env = only('FROM scratch\nENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy\n');
    expect(env).toMatchObject({ kind: 'ENV', pairs: [{ key: 'MY_NAME', value: '"John Doe"' }, { key: 'MY_DOG', value: 'Rex\\ The\\ Dog' }, { key: 'MY_CAT', value: 'fluffy' }] });
    const legacy = parse('FROM scratch\nENV MY_VAR my-value with  spaces\n');
    expect(legacy.stages[0].instructions[0]).toMatchObject({ pairs: [{ key: 'MY_VAR', value: 'my-value with  spaces' }] });
    expect(legacy.warnings.some((w) => w.message.includes('legacy'))).toBe(true);
    expect(parseErrorOf('FROM scratch\nENV\n')).toBe('dockerfile parse error on line 2: ENV requires at least one argument');
    expect(parseErrorOf('FROM scratch\nENV ONLY\n')).toBe('dockerfile parse error on line 2: ENV must have two arguments');
    expect(parseErrorOf('FROM scratch\nENV =x\n')).toBe('dockerfile parse error on line 2: ENV names can not be blank');
    expect(parseErrorOf('FROM scratch\nENV a=1 b\n')).toBe('dockerfile parse error on line 2: Syntax error - can\'t find = in "b". Must be of the form: name=value');
    expect(only('FROM scratch\nLABEL "a b"="c d" e=f\n')).toMatchObject({ kind: 'LABEL', pairs: [{ key: '"a b"', value: '"c d"' }, { key: 'e', value: 'f' }] });
  });

  it('parses ARG with and without defaults', () => {
    expect(only('FROM scratch\nARG a b=2 c="x y"\n')).toMatchObject({ kind: 'ARG', args: [{ key: 'a' }, { key: 'b', value: '2' }, { key: 'c', value: '"x y"' }] });
    expect(parseErrorOf('FROM scratch\nARG\n')).toBe('dockerfile parse error on line 2: ARG requires at least one argument');
  });

  it('parses the one-argument instructions and lists', () => {
    const df = parse('FROM scratch\nWORKDIR /a b\nUSER 1000:1000\nSTOPSIGNAL SIGTERM\nMAINTAINER me <me@x>\nEXPOSE 80 443/udp\nVOLUME ["/a", "/b"]\nVOLUME /c /d\n');
    expect(df.stages[0].instructions.map((i) => ('value' in i ? i.value : 'values' in i ? i.values : undefined))).toEqual([
      '/a b', '1000:1000', 'SIGTERM', 'me <me@x>', ['80', '443/udp'], ['/a', '/b'], ['/c', '/d'],
    ]);
    expect(parseErrorOf('FROM scratch\nWORKDIR\n')).toBe('dockerfile parse error on line 2: WORKDIR requires exactly one argument');
    expect(parseErrorOf('FROM scratch\nEXPOSE\n')).toBe('dockerfile parse error on line 2: EXPOSE requires at least one argument');
    expect(parseErrorOf('FROM scratch\nVOLUME [""]\n')).toBe('dockerfile parse error on line 2: VOLUME specified can not be an empty string');
  });

  it('parses HEALTHCHECK with durations and retries, NONE, and refuses bad ones', () => {
    expect(only('FROM scratch\nHEALTHCHECK --interval=5m --timeout=3s --start-period=1.5s --start-interval=100ms --retries=3 CMD curl -f http://localhost/ || exit 1\n')).toMatchObject({
      health: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 300e9, Timeout: 3e9, StartPeriod: 1.5e9, StartInterval: 100e6, Retries: 3 },
    });
    expect(only('FROM scratch\nHEALTHCHECK CMD ["/check"]\n')).toMatchObject({ health: { Test: ['CMD', '/check'] } });
    expect(only('FROM scratch\nhealthcheck none\n')).toMatchObject({ health: { Test: ['NONE'] } });
    expect(parseErrorOf('FROM scratch\nHEALTHCHECK NONE x\n')).toMatch(/HEALTHCHECK NONE takes no arguments/);
    expect(parseErrorOf('FROM scratch\nHEALTHCHECK RUN x\n')).toMatch(/Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
    expect(parseErrorOf('FROM scratch\nHEALTHCHECK --interval=10 CMD x\n')).toMatch(/time: missing unit in duration "10"/);
    expect(parseErrorOf('FROM scratch\nHEALTHCHECK --interval=10us CMD x\n')).toMatch(/cannot be less than 1ms/);
    expect(parseErrorOf('FROM scratch\nHEALTHCHECK --retries=-1 CMD x\n')).toMatch(/--retries cannot be negative/);
  });

  it('requires SHELL in JSON form', () => {
    expect(only('FROM scratch\nSHELL ["powershell", "-command"]\n')).toMatchObject({ shell: ['powershell', '-command'] });
    expect(parseErrorOf('FROM scratch\nSHELL /bin/bash -c\n')).toMatch(/SHELL requires the arguments to be in JSON form/);
  });

  it('parses ONBUILD triggers and refuses the forbidden ones', () => {
    expect(only('FROM scratch\nONBUILD ADD . /app/src\n')).toMatchObject({ expression: 'ADD . /app/src', trigger: { kind: 'ADD', sources: ['.'], dest: '/app/src' } });
    expect(parseErrorOf('FROM scratch\nONBUILD ONBUILD RUN x\n')).toMatch(/Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/);
    expect(parseErrorOf('FROM scratch\nONBUILD FROM x\n')).toMatch(/FROM isn't allowed as an ONBUILD trigger/);
    expect(parseErrorOf('FROM scratch\nONBUILD MAINTAINER x\n')).toMatch(/MAINTAINER isn't allowed as an ONBUILD trigger/);
  });

  it('parseInstruction reads one instruction (commit --change, image triggers)', () => {
    expect(parseInstruction('CMD ["x"]').instruction).toMatchObject({ kind: 'CMD', command: { form: 'exec', args: ['x'] }, line: 1 });
    expect(() => parseInstruction('FROM x', { onbuild: true })).toThrow(/FROM isn't allowed/);
    expect(() => parseInstruction('ENV A=1\nENV B=2')).toThrow(/exactly one instruction/);
  });
});

describe('stages', () => {
  const multi = [
    'FROM alpine AS base', // 0
    'FROM base AS deps', // 1
    'FROM scratch AS unused', // 2
    'FROM base AS build', // 3
    'COPY --from=deps /a /a',
    'RUN --mount=type=bind,from=tools,target=/t make',
    'FROM busybox AS tools', // 4
    'FROM scratch', // 5
    'COPY --from=3 /out /out',
    'COPY --from=nginx:latest /etc/nginx /etc/nginx',
  ].join('\n');

  it('runs only the stages the target needs, dependencies first (forward references by name included)', () => {
    const df = parse(multi);
    expect(df.target).toBe(5);
    expect(stagesNeeded(df)).toEqual([0, 1, 4, 3, 5]);
    expect(stagesNeeded(df, 'deps')).toEqual([0, 1]);
    expect(stagesNeeded(df, 2)).toEqual([2]);
    expect(parse(multi, { target: 'BUILD' }).target).toBe(3);
  });

  it('treats a FROM naming a later stage as an image, as BuildKit does', () => {
    const df = parse('FROM later\nFROM scratch AS later\n');
    expect(df.stages[0].base).toEqual({ type: 'image', ref: 'later' });
  });

  it('expands --from with the stage ARGs', () => {
    const df = parse('ARG SRC=one\nFROM scratch AS one\nFROM scratch AS two\nFROM scratch\nARG SRC\nCOPY --from=$SRC /a /b\n', { buildArgs: { SRC: 'two' } });
    expect(stagesNeeded(df)).toEqual([1, 2]);
  });

  it('reports cycles, unknown targets and bad stage indexes', () => {
    expect(() => stagesNeeded(parse('FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\n'))).toThrow('circular dependency detected on stage: stage0');
    const three = 'FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\nFROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\nFROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\n';
    expect(() => stagesNeeded(parse(three))).toThrow(/circular dependency detected on stage: stage[012]/);
    expect(() => stagesNeeded(parse('FROM busybox\nCOPY --from=0 a b\n'))).toThrow('circular dependency detected on stage: stage-0');
    expect(parseErrorOf('FROM scratch AS a\n', { target: 'b' })).toBe('target stage "b" could not be found');
    expect(() => stagesNeeded(parse('FROM scratch\nCOPY --from=7 a b\n'))).toThrow('dockerfile parse error on line 2: invalid stage index 7');
  });

  it('lists build args no ARG of the built stages declares (proxy args excepted)', () => {
    const df = parse('ARG G\nFROM scratch AS a\nARG USED\nFROM scratch\nARG OTHER\n', {
      buildArgs: { G: '1', USED: '1', OTHER: '1', NOBODY: '1', HTTP_PROXY: 'x' },
      target: 'a',
    });
    expect(df.unusedBuildArgs).toEqual(['NOBODY', 'OTHER']);
    expect(df.warnings).toContainEqual({ message: 'One or more build-args [NOBODY OTHER] were not consumed' });
  });

  it('sets the platform ARGs from the options', () => {
    const df = parse('FROM --platform=$TARGETPLATFORM img-$TARGETARCH$TARGETVARIANT\n', { platform: 'linux/arm/v7', buildPlatform: 'linux/amd64' });
    expect(df.stages[0]).toMatchObject({ platform: 'linux/arm/v7', base: { ref: 'img-armv7' } });
    expect(df.platformArgs).toMatchObject({ BUILDARCH: 'amd64', TARGETOS: 'linux', TARGETVARIANT: 'v7' });
    expect(() => parse('FROM scratch\n', { platform: 'nonsense' })).toThrow(/invalid target platform "nonsense"/);
  });
});
