import { parseDockerfile } from './dockerfile';
import { applyChanges, DEFAULT_PATH, StageEvaluator, type EvaluatedStep, type Step } from './evaluate';
import type { ImageRuntimeConfig } from './types';

const P = { platform: 'linux/amd64', buildPlatform: 'linux/amd64' };

/** Evaluates the last stage of `text` over `base`; returns the evaluator and each step. */
function run(text: string, opts: { buildArgs?: Record<string, string>; base?: ImageRuntimeConfig } = {}) {
  const df = parseDockerfile(text, { ...P, buildArgs: opts.buildArgs });
  const ev = new StageEvaluator(df, df.target, opts.base ? { config: opts.base } : undefined);
  const steps: EvaluatedStep[] = [...ev.onbuild, ...df.stages[df.target].instructions].map((i) => ev.apply(i));
  return { ev, steps, step: <K extends Step['kind']>(i: number) => steps[i].step as Extract<Step, { kind: K }> };
}

describe('StageEvaluator: RUN', () => {
  it('runs the shell form through SHELL, with ARG values in env (ENV wins) and the |N history prefix', () => {
    const { step, steps } = run('FROM scratch\nARG A=1\nARG B\nENV A=env\nSHELL ["/bin/bash", "-c"]\nRUN echo $A\nRUN ["/bin/true"]\n', { buildArgs: { B: 'two', HTTP_PROXY: 'http://p' } });
    const r = step<'RUN'>(4);
    expect(r.args).toEqual(['/bin/bash', '-c', 'echo $A']);
    expect(r.env).toEqual([DEFAULT_PATH, 'A=env', 'B=two', 'HTTP_PROXY=http://p']);
    expect(steps[4].createdBy).toBe('RUN |1 B=two /bin/bash -c echo $A # buildkit');
    expect(steps[4].emptyLayer).toBe(false);
    expect(step<'RUN'>(5).args).toEqual(['/bin/true']);
  });

  it('turns heredocs into the command BuildKit runs', () => {
    const text = [
      'FROM scratch',
      'RUN <<EOF',
      'echo one',
      'echo two',
      'EOF',
      'RUN <<-EOT',
      '#!/usr/bin/env python3',
      '\tprint("hi")',
      '\tEOT',
      'RUN python3 <<EOF',
      'print(1)',
      'EOF',
      'RUN <<-EOT',
      '\t#!/bin/sh',
      '\techo indented',
      '\tEOT',
    ].join('\n');
    const { step } = run(text);
    expect(step<'RUN'>(0)).toMatchObject({ args: ['/bin/sh', '-c', 'echo one\necho two\n'], scripts: [] });
    expect(step<'RUN'>(1)).toMatchObject({
      args: ['/bin/sh', '-c', '/dev/pipes/EOT'],
      scripts: [{ name: 'EOT', content: '#!/usr/bin/env python3\nprint("hi")\n', mode: 0o755 }],
    });
    expect(step<'RUN'>(2).args).toEqual(['/bin/sh', '-c', 'python3 <<EOF\nprint(1)\nEOF']);
    // BuildKit checks for `#!` before stripping tabs: an indented one is shell text.
    expect(step<'RUN'>(3)).toMatchObject({ args: ['/bin/sh', '-c', '#!/bin/sh\necho indented\n'], scripts: [] });
  });

  it('expands --mount values', () => {
    const { step } = run('FROM scratch\nARG T=/cache\nRUN --mount=type=cache,target=$T,id=${T}-id x\n');
    expect(step<'RUN'>(1).mounts).toEqual([{ mount: { type: 'cache', target: '/cache', id: '/cache-id', readonly: false, sharing: 'shared' } }]);
    const withFrom = run('FROM scratch AS tools\nFROM scratch\nARG S=tools\nRUN --mount=from=$S,target=/t --mount=type=cache,from=alpine,target=/c x\n');
    expect(withFrom.step<'RUN'>(1).mounts.map((m) => m.from)).toEqual([{ type: 'stage', stage: 0 }, { type: 'image', ref: 'alpine' }]);
    expect(() => run('FROM scratch AS me\nRUN --mount=from=me,target=/t x\n')).toThrow('circular dependency detected on stage: me');
  });
});

describe('StageEvaluator: ARG', () => {
  it('keeps an earlier value when ARG is redeclared without one, and takes the global default when redeclared', () => {
    const { step } = run('ARG G=global\nFROM scratch\nARG X=1\nARG X\nARG G\nARG NONE\nRUN env\n');
    expect(step<'RUN'>(4).env).toEqual([DEFAULT_PATH, 'X=1', 'G=global']);
  });
});

describe('StageEvaluator: COPY/ADD', () => {
  it('expands sources and destination, resolves it against WORKDIR, keeps a directory spelling', () => {
    const { step } = run('FROM scratch\nENV D=sub F=file\nWORKDIR /app\nCOPY $F ${F}2 $D/\nCOPY a .\nCOPY b rel\nADD c /abs\n');
    expect(step<'COPY' | 'ADD'>(2)).toMatchObject({ kind: 'COPY', sources: ['file', 'file2'], dest: '/app/sub/' });
    expect(step<'COPY' | 'ADD'>(3).dest).toBe('/app/');
    expect(step<'COPY' | 'ADD'>(4).dest).toBe('/app/rel');
    expect(step<'COPY' | 'ADD'>(5)).toMatchObject({ kind: 'ADD', dest: '/abs' });
  });

  it('resolves --from to a stage or an image, and parses --chown/--chmod after expansion', () => {
    const text = 'FROM scratch AS build\nFROM scratch\nARG U=app\nCOPY --from=build --chown=$U:staff --chmod=755 /a /b\nCOPY --from=nginx /c /d\nCOPY --from=0 /e /f\n';
    const { step } = run(text);
    expect(step<'COPY' | 'ADD'>(1)).toMatchObject({ from: { type: 'stage', stage: 0 }, chown: { user: 'app', group: 'staff' }, chmod: 0o755 });
    expect(step<'COPY' | 'ADD'>(2).from).toEqual({ type: 'image', ref: 'nginx' });
    expect(step<'COPY' | 'ADD'>(3).from).toEqual({ type: 'stage', stage: 0 });
    expect(() => run('FROM scratch\nCOPY --chmod=999 a b\n')).toThrow('dockerfile parse error on line 2: invalid chmod parameter: 999');
    expect(() => run('FROM scratch\nCOPY --chown=a:b:c a b\n')).toThrow(/line 2: invalid --chown value/);
  });

  it('expands heredoc files unless the delimiter was quoted', () => {
    const { step } = run("FROM scratch\nENV NAME=world\nCOPY <<EOF <<'RAW' /dst/\nhello $NAME \\$NAME \"$NAME\"\nEOF\nraw $NAME\nRAW\n");
    expect(step<'COPY' | 'ADD'>(1).files).toEqual([
      { name: 'EOF', content: 'hello world $NAME "world"\n' },
      { name: 'RAW', content: 'raw $NAME\n' },
    ]);
  });
});

describe('StageEvaluator: the image config', () => {
  it('follows BuildKit where buildah differs: SHELL applies to CMD/ENTRYPOINT, ports normalised, ENV replaced in place', () => {
    const { ev } = run('FROM scratch\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT exec top\nEXPOSE 53/UDP 7000-7002\nENV PATH=/x\n');
    expect(ev.config.Entrypoint).toEqual(['/bin/bash', '-c', 'exec top']);
    expect(Object.keys(ev.config.ExposedPorts!)).toEqual(['53/udp', '7000/tcp', '7001/tcp', '7002/tcp']);
    expect(ev.config.Env).toEqual(['PATH=/x']);
  });

  it('expands with the escape directive\'s character (the reference\'s Windows example)', () => {
    const { ev, step } = run('# escape=`\nFROM scratch\nENV A=C:\\Windows B=`$A\nCOPY testfile.txt c:\\\n');
    expect(ev.config.Env).toEqual([DEFAULT_PATH, 'A=C:\\Windows', 'B=$A']);
    expect(step<'COPY' | 'ADD'>(1).dest).toBe('/c:\\');
  });

  it('inherits a base config, runs its ONBUILD triggers and does not pass them on; ENTRYPOINT resets its CMD', () => {
    const base: ImageRuntimeConfig = { Env: ['PATH=/bin', 'B=1'], Cmd: ['base'], OnBuild: ['ENV T=$B-triggered'], WorkingDir: '/srv' };
    const { ev } = run('FROM img\nENTRYPOINT ["/e"]\nWORKDIR x\n', { base });
    expect(ev.config).toEqual({ Env: ['PATH=/bin', 'B=1', 'T=1-triggered'], Entrypoint: ['/e'], WorkingDir: '/srv/x' });
    const kept = run('FROM img\nCMD ["mine"]\nENTRYPOINT ["/e"]\n', { base }).ev.config;
    expect(kept.Cmd).toEqual(['mine']);
  });

  it('validates STOPSIGNAL, ports and volumes after expansion', () => {
    expect(run('FROM scratch\nENV S=KILL\nSTOPSIGNAL SIG$S\n').ev.config.StopSignal).toBe('SIGKILL');
    expect(run('FROM scratch\nSTOPSIGNAL 9\n').ev.config.StopSignal).toBe('9');
    expect(() => run('FROM scratch\nSTOPSIGNAL SIGNOPE\n')).toThrow('dockerfile parse error on line 2: Invalid signal: SIGNOPE');
    expect(() => run('FROM scratch\nEXPOSE 80/xyz\n')).toThrow('dockerfile parse error on line 2: invalid proto: xyz');
    expect(() => run('FROM scratch\nEXPOSE 70000\n')).toThrow('invalid containerPort: 70000');
    expect(() => run('FROM scratch\nVOLUME $UNSET\n')).toThrow('VOLUME specified can not be an empty string');
  });

  it('keeps hostile keys as keys and hostile base configs harmless', () => {
    const { ev } = run('FROM img\nLABEL __proto__=x constructor=y\nEXPOSE 1\n', {
      base: JSON.parse('{"Env":["A=1",7,null],"Labels":{"__proto__":{"polluted":1}},"OnBuild":[3]}') as ImageRuntimeConfig,
    });
    expect(Object.getPrototypeOf(ev.config.Labels)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(ev.config.Labels, '__proto__')).toBe(true);
    expect(ev.config.Labels!['constructor' as never]).toBe('y');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(ev.config.Env).toEqual(['A=1']);
    expect(ev.onbuild).toEqual([]);
  });

  it('records MAINTAINER as the author and ONBUILD expressions in the config', () => {
    const { ev, steps } = run('FROM scratch\nMAINTAINER Jane\nONBUILD RUN make\nLABEL a=b\n');
    expect(ev.author).toBe('Jane');
    expect(ev.config.OnBuild).toEqual(['RUN make']);
    expect(steps.map((s) => [s.createdBy, s.emptyLayer])).toEqual([['MAINTAINER Jane', true], ['ONBUILD RUN make', true], ['LABEL a=b', true]]);
  });
});

describe('applyChanges (commit --change)', () => {
  it('applies config changes in order, keeping the image triggers', () => {
    const base: ImageRuntimeConfig = { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: ['RUN old'] };
    expect(applyChanges(base, ['ENV A=1', 'ENV B=$A-2', 'CMD ["run"]', 'EXPOSE 80', 'WORKDIR /w', 'ONBUILD RUN new', 'LABEL x=y'])).toEqual({
      Env: ['PATH=/bin', 'A=1', 'B=1-2'],
      Cmd: ['run'],
      ExposedPorts: { '80/tcp': {} },
      WorkingDir: '/w',
      OnBuild: ['RUN old', 'RUN new'],
      Labels: { x: 'y' },
    });
    expect(base.Env).toEqual(['PATH=/bin']);
  });

  it('refuses what docker commit refuses', () => {
    expect(() => applyChanges({}, ['RUN make'])).toThrow('RUN is not a valid change command');
    expect(() => applyChanges({}, ['FROM x'])).toThrow('FROM is not a valid change command');
    expect(() => applyChanges({}, ['CMD'])).toThrow('CMD requires at least one argument');
  });
});
