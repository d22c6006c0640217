import { isBerthError } from '@berth/errors';
import { parseDockerfile, stagesNeeded } from './dockerfile';
import { StageEvaluator } from './evaluate';
import { MAX_DOCKERFILE_BYTES } from './syntax';
import type { RunInstruction } from './types';

const P = { platform: 'linux/amd64', buildPlatform: 'linux/amd64' };

/** Parses, plans and evaluates; any failure must be a BadRequest. */
function total(text: string): 'ok' | 'bad request' {
  try {
    const df = parseDockerfile(text, { ...P, buildArgs: { A: '1' } });
    for (const i of stagesNeeded(df)) {
      const ev = new StageEvaluator(df, i, df.stages[i].base.type === 'scratch' ? undefined : { config: {} });
      for (const inst of df.stages[i].instructions) ev.apply(inst);
    }
    return 'ok';
  } catch (err) {
    if (isBerthError(err, 'BadRequest')) return 'bad request';
    throw err;
  }
}

describe('hostile Dockerfiles', () => {
  it('parses a million continuation lines in bounded time', () => {
    const text = 'FROM scratch\nRUN true' + ' \\\n&& true'.repeat(1_000_000) + '\n';
    const df = parseDockerfile(text, P);
    const run = df.stages[0].instructions[0] as RunInstruction;
    expect(run.endLine).toBe(1_000_002);
    expect(run.original.length).toBe('RUN true'.length + ' && true'.length * 1_000_000);
  });

  it('takes a huge line, bounds an expanded word, and refuses a file over the size bound', () => {
    expect(total('FROM scratch\nLABEL x="' + 'y'.repeat(512 << 10) + '"\n')).toBe('ok');
    expect(() => total('FROM scratch\nLABEL x="' + 'y'.repeat(4 << 20) + '"\n')).not.toThrow();
    expect(total('FROM scratch\nLABEL x="' + 'y'.repeat(4 << 20) + '"\n')).toBe('bad request');
    const over = 'FROM scratch\n#' + 'x'.repeat(MAX_DOCKERFILE_BYTES) + '\n';
    expect(() => parseDockerfile(over, P)).toThrow(`the Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
  });

  it('answers NUL bytes and control characters with a parse result or a BadRequest', () => {
    expect(total('FROM scratch\nENV A=\u0000b\n')).toBe('ok');
    expect(total('FROM scr\u0000atch\nRUN\u0000x\n')).toBe('bad request');
    expect(total('\u0000\u0001\u0002')).toBe('bad request');
  });

  it('refuses deep ${${...}} nesting in FROM and in ENV without overflowing the stack', () => {
    const deep = '${A:-'.repeat(100_000) + 'x' + '}'.repeat(100_000);
    expect(total(`FROM ${deep}\n`)).toBe('bad request');
    expect(total(`FROM scratch\nENV B=${deep}\n`)).toBe('bad request');
  });

  it('plans thousands of chained stages without recursion', () => {
    const lines = ['FROM scratch AS s0'];
    for (let i = 1; i < 5000; i++) lines.push(`FROM s${i - 1} AS s${i}`);
    expect(stagesNeeded(parseDockerfile(lines.join('\n'), P))).toHaveLength(5000);
  });

  it('survives random mutations of a Dockerfile that uses every instruction', () => {
    const seedText = [
      '# syntax=docker/dockerfile:1',
      'ARG BASE=scratch',
      'FROM ${BASE} AS a',
      'ENV A=1 B="two words" C=${A:-x}',
      'RUN --mount=type=cache,target=/c echo "$A" \\',
      '  && echo done',
      'COPY --chown=1:1 --chmod=644 <<EOF /f',
      'content $A',
      'EOF',
      'FROM a',
      'COPY --from=a /f /g',
      'WORKDIR /w',
      'USER u',
      'EXPOSE 80/tcp',
      'VOLUME ["/v"]',
      'LABEL k=v',
      'HEALTHCHECK --interval=1s CMD ["true"]',
      'STOPSIGNAL SIGTERM',
      'SHELL ["/bin/sh", "-c"]',
      'ONBUILD RUN x',
      'CMD ["x"]',
      'ENTRYPOINT y',
      '',
    ].join('\n');
    expect(total(seedText)).toBe('ok');
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['\\', '`', '$', '{', '}', '"', "'", '\n', ' ', '<<', '<<-', '=', '--', '[', ']', ':', '#', '\u0000', 'EOF', 'FROM ', 'a'];
    for (let round = 0; round < 1000; round++) {
      const chars = Array.from(seedText);
      for (let k = 1 + rand(4); k > 0; k--) {
        const at = rand(chars.length);
        const op = rand(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]);
        else chars[at] = alphabet[rand(alphabet.length)];
      }
      expect(['ok', 'bad request']).toContain(total(chars.join('')));
    }
  });
});
