import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDockerfile, stagesNeeded, StageEvaluator, type ImageRuntimeConfig } from '@berth/dockerfile';

const execFileAsync = promisify(execFile);

interface DockerImage {
  author?: string;
  config?: ImageRuntimeConfig;
}

/**
 * The Dockerfile's meaning, berth's against buildah's: for small Dockerfiles on scratch (or on a base made by
 * `buildah from scratch` + `buildah config`), the image config StageEvaluator leaves equals the one
 * `buildah bud --format docker` writes. One private buildah storage (vfs) in a temp dir for the whole file.
 */
describe('Dockerfile interpretation against buildah bud', () => {
  let dir: string;
  let context: string;

  const buildah = async (...args: string[]) =>
    (await execFileAsync('buildah', ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs', ...args], { maxBuffer: 16 << 20 })).stdout;

  async function inspect(ref: string): Promise<DockerImage> {
    const out = JSON.parse(await buildah('inspect', '--type', 'image', ref)) as { Docker: DockerImage };
    return out.Docker;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dockerfile-buildah-'));
    context = join(dir, 'context');
    await mkdir(context);
    await writeFile(join(context, 'file'), 'file\n');
    // A base image with a config to inherit: Cmd, Entrypoint, Env, Labels, an ONBUILD trigger.
    const ctr = (await buildah('from', 'scratch')).trim();
    await buildah(
      'config', '--cmd', '["/base-cmd"]', '--entrypoint', '["/base-entry"]', '--env', 'BASE=base', '--env', 'PATH=/base/bin',
      '--label', 'base.label=1', '--workingdir', '/srv', '--onbuild', 'ENV TRIGGERED=yes', '--port', '9000/tcp', ctr,
    );
    await buildah('commit', '--format', 'docker', ctr, 'localhost/berth-base:1');
    await buildah('rm', ctr);
  });

  afterAll(async () => {
    if (!dir) return;
    try {
      await buildah('rm', '--all');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** What berth's evaluator makes of the Dockerfile: the target stage's config and author. */
  async function evaluate(text: string, buildArgs: Record<string, string>, target?: string): Promise<DockerImage> {
    const df = parseDockerfile(text, { buildArgs, target, platform: 'linux/amd64', buildPlatform: 'linux/amd64' });
    const done = new Map<number, DockerImage>();
    for (const index of stagesNeeded(df)) {
      const stage = df.stages[index];
      const base =
        stage.base.type === 'stage' ? done.get(stage.base.stage) : stage.base.type === 'image' ? await inspect(stage.base.ref) : undefined;
      const ev = new StageEvaluator(df, index, base && { config: base.config, author: base.author });
      for (const inst of [...ev.onbuild, ...stage.instructions]) ev.apply(inst);
      done.set(index, { config: ev.config, author: ev.author });
    }
    return done.get(df.target)!;
  }

  /**
   * The fields the brief compares, with docker's "empty" spellings ([] / {} / "" / null) as absent. Env is
   * compared as a set: buildah moves a redefined variable to the end, BuildKit (and berth) replace it in place.
   */
  function normalize(image: DockerImage) {
    const c = (image.config ?? {}) as Record<string, unknown>;
    const labels = { ...((c.Labels as Record<string, string>) ?? {}) };
    delete labels['io.buildah.version'];
    const out: Record<string, unknown> = {
      Env: Array.isArray(c.Env) ? [...(c.Env as string[])].sort() : c.Env, Cmd: c.Cmd, Entrypoint: c.Entrypoint, WorkingDir: c.WorkingDir, User: c.User, ExposedPorts: c.ExposedPorts,
      Labels: labels, Volumes: c.Volumes, StopSignal: c.StopSignal, Healthcheck: c.Healthcheck, Shell: c.Shell, OnBuild: c.OnBuild,
      author: image.author,
    };
    for (const [k, v] of Object.entries(out)) {
      const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length) || (typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.keys(v).length);
      if (empty) delete out[k];
    }
    return out;
  }

  const cases: { name: string; dockerfile: string; buildArgs?: Record<string, string>; target?: string }[] = [
    {
      name: 'ENV forms and the reference example (one ENV expands with the values before it)',
      dockerfile: 'FROM scratch\nENV A=1 B="x y" C=$A\nENV D $A-legacy  value\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\nenv E=${A:-d} F=${UNSET:-dflt} G=${A:+set} H=${UNSET:+set} I=\\$A J=\'$A\' K="$A q"\n',
    },
    {
      name: 'ARG scoping: global ARGs need redeclaring, build args override defaults, ENV wins over ARG',
      dockerfile: 'ARG V=global\nARG ONLY_GLOBAL=g\nFROM scratch\nENV BEFORE=${V:-unset}\nARG V\nENV AFTER=$V G=${ONLY_GLOBAL:-none}\nARG X=${V}-x\nENV Y=$X\nARG Z=zdefault\nENV Z=env\nARG Z=again\nENV ZZ=$Z\n',
      buildArgs: { V: 'from-build-arg' },
    },
    {
      name: 'the reference ENV examples (quotes, escaped spaces, several per line)',
      dockerfile: 'FROM scratch\nENV MY_NAME="John Doe"\nENV MY_DOG=Rex\\ The\\ Dog\nENV MY_CAT=fluffy\nENV MY_NAME2="John Doe" MY_DOG2=Rex\\ The\\ Dog \\\n    MY_CAT2=fluffy\nENV Q=\'single $MY_CAT\' R="double $MY_CAT" S=mixed"$MY_CAT"\'$MY_CAT\'\n',
    },
    {
      name: 'the platform ARGs, available in a stage once declared',
      dockerfile: 'FROM scratch\nENV BEFORE=${TARGETARCH:-unset}\nARG TARGETARCH\nARG TARGETOS TARGETPLATFORM\nENV ARCH=$TARGETARCH OS=$TARGETOS P=$TARGETPLATFORM\n',
    },
    {
      name: 'WORKDIR absolute, relative, .. and variables; USER; STOPSIGNAL',
      dockerfile: 'FROM scratch\nENV DIR=/opt\nWORKDIR /a\nWORKDIR b\nWORKDIR ../c/\nWORKDIR $DIR/app\nUSER app:staff\nSTOPSIGNAL SIGKILL\n',
    },
    {
      // buildah 1.28 keeps `53/UDP` and `7000-7002/udp` as written; BuildKit (and berth) lowercase the protocol
      // and list a range's ports one by one: those are in dockerfile.spec.ts.
      name: 'EXPOSE protocols and variables; VOLUME JSON and list',
      dockerfile: 'FROM scratch\nENV P=8080\nEXPOSE 80 443/tcp 53/udp $P\nVOLUME ["/data", "/logs"]\nVOLUME /cache /tmp/x\n',
    },
    {
      name: 'LABEL forms, the reference examples',
      dockerfile: 'FROM scratch\nLABEL "com.example.vendor"="ACME Incorporated"\nLABEL com.example.label-with-value="foo"\nLABEL version="1.0"\nLABEL description="This text illustrates \\\nthat label-values can span multiple lines."\nLABEL multi.label1="value1" multi.label2="value2" other="value3"\nLABEL legacy key with spaces\n',
    },
    {
      // buildah 1.28 runs shell-form CMD and ENTRYPOINT through /bin/sh whatever SHELL says; BuildKit (and berth)
      // use SHELL, as the reference says ("affects shell form RUN, CMD, ENTRYPOINT"): that case is in
      // dockerfile.spec.ts. SHELL itself is still compared.
      name: 'CMD/ENTRYPOINT shell and exec forms; SHELL',
      dockerfile: 'FROM scratch\nENTRYPOINT exec top -b\nCMD echo "hello world"\nCMD ["-l"]\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n',
    },
    {
      name: 'HEALTHCHECK with options, then NONE in a child stage',
      dockerfile: 'FROM scratch AS checked\nHEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --retries=4 CMD curl -f http://localhost/ || exit 1\nFROM checked\nHEALTHCHECK NONE\n',
    },
    {
      name: 'HEALTHCHECK exec form',
      dockerfile: 'FROM scratch\nHEALTHCHECK CMD ["/bin/check", "--fast"]\n',
    },
    {
      name: 'a base image: its ONBUILD trigger runs, its CMD is reset by ENTRYPOINT, its config is inherited',
      dockerfile: 'FROM localhost/berth-base:1\nENTRYPOINT ["/mine"]\nENV PATH=$PATH:/extra\nWORKDIR rel\nEXPOSE 9001\n',
    },
    {
      name: 'a stage built FROM an earlier stage runs that stage\'s ONBUILD triggers',
      dockerfile: 'FROM scratch AS parent\nONBUILD ENV X=from-trigger\nONBUILD LABEL t=1\nFROM parent\nENV Y=$X\n',
    },
    {
      name: 'ONBUILD and MAINTAINER',
      dockerfile: 'FROM scratch\nMAINTAINER Jane Doe <jane@example.com>\nONBUILD ADD . /app/src\nONBUILD RUN /usr/local/bin/python-build --dir /app/src\n',
    },
    {
      name: 'multi-stage: a later stage from an earlier one, --target picks the middle one',
      dockerfile: 'FROM scratch AS one\nENV X=1\nFROM one AS two\nENV Y=$X-2\nFROM scratch\nENV Z=3\n',
      target: 'two',
    },
    {
      // buildah 1.28 expands words with the backslash as escape whatever the directive says; BuildKit (and berth)
      // use the directive's escape character (`ENV A=C:\Windows` stays as written): in evaluate.spec.ts.
      name: 'the escape directive (backtick), continuations with comments and empty lines',
      dockerfile: '# escape=`\nFROM scratch\nENV A=C:/Windows B=x `\n  # a comment inside\n\n  C=y\nWORKDIR /dir\nlabel   a=b `\n   c=d\n',
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const file = join(dir, 'Dockerfile');
      await writeFile(file, c.dockerfile);
      const args = ['bud', '--format', 'docker', '--layers=false', '-f', file, '-t', 'localhost/berth-case:1'];
      for (const [k, v] of Object.entries(c.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
      if (c.target) args.push('--target', c.target);
      await buildah(...args, context);
      const theirs = normalize(await inspect('localhost/berth-case:1'));
      const ours = normalize(await evaluate(c.dockerfile, c.buildArgs ?? {}, c.target));
      expect(ours).toEqual(theirs);
    });
  }
});
