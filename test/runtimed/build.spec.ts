// berth build on a real runtimed: RUN steps in runc containers, COPY from the context, the cache, multi-stage
// builds, failures in BuildKit's words; then commit and history.
import type { BuildProgress, Image } from '@berth/runtime-client';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { freePort, runBerth } from '@berth/testing';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PrivatePodman } from '../bench/podman';
import { httpRequest, startReferenceRegistry } from '../registry/registries';
import { RuntimedFixture } from './support';

const execFileAsync = promisify(execFile);

/** The directory as a plain tar stream (what the CLI sends). */
function contextTar(dir: string): Readable {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

describe('runtimed build', () => {
  // registries.yaml of the suite's runtimed (read again when it changes): --push's registry is plain HTTP.
  const configDir = mkdtempSync(join(tmpdir(), 'berth-build-config-'));
  const registriesConfig = join(configDir, 'registries.yaml');
  const fx = new RuntimedFixture({ args: ['--registries-config', registriesConfig] });
  const client = fx.client;
  let context: string;

  const build = async (dockerfile: string, options: { tags?: string[]; noCache?: boolean; target?: string; buildArgs?: Record<string, string> } = {}) => {
    writeFileSync(join(context, 'Dockerfile'), dockerfile);
    const events: BuildProgress[] = [];
    let image: Image | undefined;
    let error: Error | undefined;
    try {
      image = await client.buildImage(contextTar(context), { ...options, onProgress: (p) => events.push(p) });
    } catch (err) {
      error = err as Error;
    }
    const steps = new Map<number, { name: string; status: string[]; log: string }>();
    for (const e of events) {
      const step = steps.get(e.step) ?? { name: e.name, status: [], log: '' };
      if (e.status === 'log') step.log += e.log.toString();
      else if (e.status !== 'detail') step.status.push(e.status);
      steps.set(e.step, step);
    }
    return { image, error, steps: [...steps.values()] };
  };

  const runOutput = async (image: string, command?: string[]) => {
    const created = await client.createContainer({ image, ...(command ? { command } : {}) });
    await client.startContainer(created.id);
    await client.waitContainer(created.id);
    let text = '';
    for await (const entry of client.logs(created.id)) text += entry.data.toString();
    await client.removeContainer(created.id, { force: true });
    return text;
  };

  beforeAll(async () => {
    await fx.start();
    await fx.importBusybox();
  });

  beforeEach(() => {
    context = mkdtempSync(join(tmpdir(), 'berth-build-ctx-'));
  });

  afterEach(async () => {
    rmSync(context, { recursive: true, force: true });
    for (const c of await client.listContainers({ all: true })) await client.removeContainer(c.id, { force: true });
    expect(fx.leftovers()).toEqual([]);
  });

  afterAll(async () => {
    try {
      await fx.cleanup();
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });

  const FIVE_STEPS = [
    'FROM busybox',
    'WORKDIR /app',
    'COPY hello.txt ./',
    'RUN echo "built from $(cat hello.txt)" > out && echo step output',
    'ENV GREETING=hi',
    'CMD ["cat", "/app/out"]',
  ].join('\n');

  it('builds a 5-step Dockerfile with RUN in a container, then rebuilds it all CACHED, and a changed file invalidates from its COPY on', async () => {
    writeFileSync(join(context, 'hello.txt'), 'world');
    const first = await build(FIVE_STEPS, { tags: ['five:1'] });
    expect(first.error).toBeUndefined();
    const names = first.steps.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['[1/4] FROM docker.io/library/busybox:latest@' + first.steps.find((s) => s.name.startsWith('[1/4]'))!.name.split('@')[1], '[2/4] WORKDIR /app', '[3/4] COPY hello.txt ./', expect.stringMatching(/^\[4\/4\] RUN echo/)]),
    );
    const run = first.steps.find((s) => s.name.startsWith('[4/4] RUN'))!;
    expect(run.log).toBe('step output\n');
    expect(run.status).toEqual(['started', 'done']);
    expect(await runOutput('five:1')).toBe('built from world\n');

    const inspect = await client.inspectImage('five:1');
    const config = JSON.parse(inspect.configJson);
    expect(config.config).toMatchObject({ Cmd: ['cat', '/app/out'], WorkingDir: '/app' });
    expect(config.config.Env).toContain('GREETING=hi');
    expect(config.history.slice(-5).map((h: { created_by: string }) => h.created_by)).toEqual([
      'WORKDIR /app',
      'COPY hello.txt /app/ # buildkit',
      'RUN /bin/sh -c echo "built from $(cat hello.txt)" > out && echo step output # buildkit',
      'ENV GREETING=hi',
      'CMD ["cat","/app/out"]',
    ]);
    const history = await client.imageHistory('five:1');
    expect(history[0]).toMatchObject({ id: inspect.image.id, createdBy: 'CMD ["cat","/app/out"]', emptyLayer: true, size: 0 });
    expect(history.find((h) => h.createdBy.startsWith('RUN'))!.size).toBeGreaterThan(0);

    const again = await build(FIVE_STEPS, { tags: ['five:1'] });
    const layerSteps = again.steps.filter((s) => /^\[\d\/4\]/.test(s.name));
    expect(layerSteps.map((s) => s.status)).toEqual([['started', 'cached'], ['started', 'cached'], ['started', 'cached'], ['started', 'cached']]);
    expect(again.image!.id).toBe(first.image!.id);

    writeFileSync(join(context, 'hello.txt'), 'changed');
    const changed = await build(FIVE_STEPS, { tags: ['five:2'] });
    expect(changed.steps.filter((s) => /^\[\d\/4\]/.test(s.name)).map((s) => s.status.includes('cached'))).toEqual([true, true, false, false]);
    expect(await runOutput('five:2')).toBe('built from changed\n');
  });

  it('fails a RUN that exits non-zero with BuildKit words', async () => {
    const result = await build('FROM busybox\nRUN echo before\nRUN false\n');
    expect(result.error?.message).toContain('process "/bin/sh -c false" did not complete successfully: exit code: 1');
    expect(result.steps.find((s) => s.name.includes('RUN false'))!.status).toEqual(['started', 'error']);
  });

  it("RUN steps see the node's /etc/resolv.conf and /etc/hosts, read-only, and the layer holds neither", async () => {
    const nodeFile = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
    const result = await build(
      [
        'FROM busybox',
        'RUN echo "<<$(cat /etc/resolv.conf)>>" && echo "[[$(cat /etc/hosts)]]" && echo mine > /etc/marker',
        'RUN if echo changed > /etc/hosts; then echo writable; else echo read-only; fi',
        '',
      ].join('\n'),
      { tags: ['node-files:1'] },
    );
    expect(result.error).toBeUndefined();
    const [catStep, writeStep] = result.steps.filter((s) => s.name.includes('RUN '));
    expect(catStep!.log).toContain(`<<${nodeFile('/etc/resolv.conf').replace(/\n+$/, '')}>>`);
    expect(catStep!.log).toContain(`[[${nodeFile('/etc/hosts').replace(/\n+$/, '')}]]`);
    expect(writeStep!.log).toContain('read-only');

    const dir = mkdtempSync(join(tmpdir(), 'berth-build-layers-'));
    try {
      const archive = join(dir, 'image.tar');
      await client.saveImages(['node-files:1'], archive);
      const manifest = JSON.parse((await execFileAsync('tar', ['-xOf', archive, 'manifest.json'])).stdout) as { Layers: string[] }[];
      const layers = manifest[0]!.Layers;
      const listing = async (layer: string) => {
        await execFileAsync('tar', ['-C', dir, '-xf', archive, layer]);
        return (await execFileAsync('tar', ['-tf', join(dir, layer)])).stdout.split('\n').filter(Boolean).map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
      };
      // The first RUN's layer: its own file under /etc, not the node's files (nor a whiteout of them).
      const first = await listing(layers[layers.length - 1]!);
      expect(first).toContain('etc/marker');
      expect(first.filter((p) => /(^|\/)(\.wh\.)?(hosts|resolv\.conf)$/.test(p))).toEqual([]);
      // The second RUN changed nothing: no layer of its own.
      expect((await client.imageHistory('node-files:1'))[0]!.emptyLayer).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs only the stages the target needs and copies from one to another', async () => {
    mkdirSync(join(context, 'src'));
    writeFileSync(join(context, 'src', 'a.txt'), 'A');
    const dockerfile = [
      'FROM busybox AS unused',
      'RUN false',
      'FROM busybox AS build',
      'COPY src/ /src/',
      'RUN cat /src/a.txt > /artifact && echo -n B >> /artifact',
      'FROM scratch',
      'COPY --from=build /artifact /artifact',
      'COPY --from=build /bin/busybox /bin/busybox',
      'CMD ["/bin/busybox", "cat", "/artifact"]',
    ].join('\n');
    const result = await build(dockerfile, { tags: ['multi:1'] });
    expect(result.error).toBeUndefined();
    expect(result.steps.some((s) => s.name.includes('unused'))).toBe(false);
    expect(result.steps.map((s) => s.name)).toContain('[stage-2 1/2] COPY --from=build /artifact /artifact');
    expect(await runOutput('multi:1')).toMatch(/^AB\n?$/);
  });

  it('builds independent stages at the same time (a stage starts when those it needs are done), each step numbered once', async () => {
    // The listener's RUN ends only when the talker's RUN connects to it: built one stage after the other, the
    // listener gives up and the build fails.
    const port = await freePort();
    const dockerfile = [
      'FROM busybox AS listener',
      'ARG PORT',
      // A connection that brings nothing (a stray one on the port) is not the talker's: listen again.
      'RUN end=$(($(date +%s) + 20)); until [ -s /got ]; do [ $(date +%s) -lt $end ] || exit 1; timeout 20 nc -l -p $PORT > /got; done',
      'FROM busybox AS talker',
      'ARG PORT',
      'RUN i=0; until echo hello | nc 127.0.0.1 $PORT; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done; echo sent > /sent',
      'FROM listener AS after-listener',
      'RUN cp /got /again',
      'FROM busybox',
      'COPY --from=after-listener /again /got',
      'COPY --from=talker /sent /sent',
      'CMD ["cat", "/got", "/sent"]',
    ].join('\n');
    const result = await build(dockerfile, { tags: ['parallel:1'], buildArgs: { PORT: String(port) }, noCache: true });
    expect(result.error).toBeUndefined();
    expect(await runOutput('parallel:1')).toBe('hello\nsent\n');
    const names = result.steps.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\[listener 1\/2\] FROM /),
        expect.stringMatching(/^\[listener 2\/2\] RUN end=/),
        expect.stringMatching(/^\[talker 2\/2\] RUN i=0/),
        '[after-listener 2/2] RUN cp /got /again',
        '[stage-3 3/3] COPY --from=talker /sent /sent',
      ]),
    );
    // A stage needing another starts after it is done.
    const index = (prefix: string) => names.findIndex((n) => n.startsWith(prefix));
    expect(index('[after-listener 1/2]')).toBeGreaterThan(index('[listener 2/2]'));
    const done = result.steps.find((s) => s.name.startsWith('[listener 2/2]'))!;
    expect(done.status).toEqual(['started', 'done']);
  });

  it('stops the other stages after a stage fails, with the first error', async () => {
    const dockerfile = ['FROM busybox AS a', 'RUN exit 3', 'FROM busybox AS b', 'RUN sleep 3', 'RUN echo never', 'FROM busybox', 'COPY --from=a /x /x', 'COPY --from=b /y /y'].join('\n');
    const result = await build(dockerfile, { noCache: true });
    expect(result.error?.message).toContain('process "/bin/sh -c exit 3" did not complete successfully: exit code: 3');
    // b started beside a, and its running step was let finish (no root or shim left behind: see afterEach).
    expect(result.steps.find((s) => s.name === '[b 2/3] RUN sleep 3')!.status).toEqual(['started', 'done']);
    expect(result.steps.some((s) => s.name.includes('RUN echo never'))).toBe(false);
    expect(result.steps.some((s) => s.name.includes('COPY --from'))).toBe(false);
  });

  it('RUN --mount: a cache dir kept across builds and out of the layer, read-only binds from the context, a stage and an image, rw binds whose writes are dropped, tmpfs', async () => {
    writeFileSync(join(context, 'input.txt'), 'from the context');
    const dockerfile = (run: string) =>
      [
        'FROM busybox AS data',
        'RUN echo from a stage > /made',
        'FROM busybox',
        `RUN --mount=type=cache,target=/var/cache/app,id=apt echo ${run} >> /var/cache/app/log && cat /var/cache/app/log > /seen-cache`,
        'RUN --mount=type=bind,source=input.txt,target=/in/input.txt --mount=type=bind,from=data,source=/made,target=/stagebits/made --mount=type=bind,from=busybox,target=/bb \\',
        '  cat /in/input.txt /stagebits/made > /seen-bind && test -x /bb/bin/busybox && (touch /in/input.txt /bb/x 2>/dev/null || echo read-only >> /seen-bind)',
        'RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/f && grep " /scratch " /proc/mounts | cut -d" " -f3 > /seen-tmpfs',
        'RUN --mount=type=bind,from=data,target=/w,rw echo written >> /w/made && cat /w/made > /seen-rw',
        'RUN --mount=type=bind,from=data,target=/w cat /w/made >> /seen-rw',
        'CMD ["sh", "-c", "cat /seen-cache /seen-bind /seen-tmpfs /seen-rw; for p in /var/cache/app /in /stagebits /bb /scratch /w; do [ -e $p ] && echo $p left in the image; done; true"]',
      ].join('\n');
    const first = await build(dockerfile('first'), { tags: ['mounts:1'] });
    expect(first.error).toBeUndefined();
    expect(await runOutput('mounts:1')).toBe('first\nfrom the contextfrom a stage\nread-only\ntmpfs\nfrom a stage\nwritten\nfrom a stage\n');
    // The cache dir outlives the build; a changed bind source runs its step again.
    writeFileSync(join(context, 'input.txt'), 'changed ');
    const second = await build(dockerfile('second'), { tags: ['mounts:2'] });
    expect(second.error).toBeUndefined();
    expect(await runOutput('mounts:2')).toBe('first\nsecond\nchanged from a stage\nread-only\ntmpfs\nfrom a stage\nwritten\nfrom a stage\n');
    const escape = await build('FROM busybox\nRUN --mount=type=bind,source=../../../etc,target=/x cat /x/passwd\n');
    expect(escape.error?.message).toContain('RUN --mount source "../../../etc" is not in the build context');
    // A symlink in the context resolves inside it, as COPY's sources do.
    symlinkSync('/etc', join(context, 'host-etc'));
    const link = await build('FROM busybox\nRUN --mount=type=bind,source=host-etc,target=/x cat /x/hostname\n');
    expect(link.error?.message).toMatch(/RUN --mount source "host-etc" (is not in the build context|not found)/);
  });

  it('ADD extracts local tarballs, COPY takes --chown/--chmod and here-documents, ONBUILD triggers of the base run', async () => {
    mkdirSync(join(context, 'tree', 'inner'), { recursive: true });
    writeFileSync(join(context, 'tree', 'inner', 'f.txt'), 'in the tarball');
    await execFileAsync('tar', ['-C', join(context, 'tree'), '-czf', join(context, 'bundle.tar.gz'), '.']);
    writeFileSync(join(context, 'owned'), 'mine');
    const parent = await build('FROM busybox\nONBUILD RUN echo triggered > /onbuild\n', { tags: ['onbuild-base:1'] });
    expect(parent.error).toBeUndefined();
    const dockerfile = [
      'FROM onbuild-base:1',
      'ADD bundle.tar.gz /unpacked/',
      'COPY --chown=1000:1001 --chmod=600 owned /owned',
      'COPY <<EOF /heredoc.txt',
      'hello from a heredoc',
      'EOF',
      'CMD ["sh", "-c", "cat /unpacked/inner/f.txt; echo; stat -c \'%u:%g %a\' /owned; cat /heredoc.txt /onbuild"]',
    ].join('\n');
    const result = await build(dockerfile, { tags: ['features:1'] });
    expect(result.error).toBeUndefined();
    expect(await runOutput('features:1')).toBe('in the tarball\n1000:1001 600\nhello from a heredoc\ntriggered\n');
    const config = JSON.parse((await client.inspectImage('features:1')).configJson);
    expect(config.config.OnBuild ?? null).toBeNull();
  });

  it('runs RUN here-documents as BuildKit does: a #! script mounted read-only at /dev/pipes, heredocs fed to commands, several in one RUN, <<- tabs', async () => {
    const script = (body: string) =>
      [
        'FROM busybox',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "$0 $(stat -c %a "$0") ' + body + '" > /script-out',
        'touch "$0" 2>/dev/null || echo read-only >> /script-out',
        'EOF',
        'RUN cat <<EOF > /cat-out',
        'from cat in $HOME',
        'EOF',
        'RUN <<-EOT',
        '\t\techo tabbed > /tab-out',
        '\tEOT',
        'RUN cat <<A > /two && cat <<-B >> /two',
        'first',
        'A',
        '\tsecond',
        '\tB',
        'RUN sh <<EOF',
        'echo "fed to sh" > /sh-out',
        'EOF',
        'CMD ["sh", "-c", "cat /script-out /cat-out /tab-out /two /sh-out"]',
      ].join('\n');
    const result = await build(script('one'), { tags: ['heredocs:1'] });
    expect(result.error).toBeUndefined();
    expect(await runOutput('heredocs:1')).toBe('/dev/pipes/EOF 755 one\nread-only\nfrom cat in /root\ntabbed\nfirst\nsecond\nfed to sh\n');
    // The script is the step's input: a changed body runs it again.
    const changed = await build(script('two'), { tags: ['heredocs:2'] });
    expect(changed.steps.find((s) => s.name.includes('RUN <<EOF'))!.status).toEqual(['started', 'done']);
    expect(await runOutput('heredocs:2', ['cat', '/script-out'])).toBe('/dev/pipes/EOF 755 two\nread-only\n');
    const hostile = await build('FROM busybox\nRUN <<../../x\n#!/bin/sh\necho escaped\n../../x\n');
    expect(hostile.error?.message).toContain('the here-document name "../../x" cannot name a file under /dev/pipes');
  });

  it('commits a container and shows its history', async () => {
    const created = await client.createContainer({ image: 'busybox', command: ['sh', '-c', 'echo committed > /note; rm /bin/vi'] });
    await client.startContainer(created.id);
    await client.waitContainer(created.id);
    const image = await client.commitContainer(created.id, { name: 'committed:1', message: 'a note', changes: ['CMD ["cat", "/note"]'] });
    expect(image.names).toEqual(['docker.io/library/committed:1']);
    expect(await runOutput('committed:1')).toBe('committed\n');
    expect(await runOutput('committed:1', ['sh', '-c', 'test -e /bin/vi || echo gone'])).toBe('gone\n');
    const history = await client.imageHistory('committed:1');
    expect(history[0]).toMatchObject({ id: image.id, comment: 'a note', createdBy: 'sh -c echo committed > /note; rm /bin/vi' });
  });

  it('berth build sends the context with .dockerignore applied and prints BuildKit plain progress; berth history shows the steps', async () => {
    mkdirSync(join(context, 'node_modules', 'big'), { recursive: true });
    writeFileSync(join(context, 'node_modules', 'big', 'x.js'), 'ignored');
    writeFileSync(join(context, 'keep.txt'), 'kept');
    writeFileSync(join(context, 'secret.key'), 'hidden');
    writeFileSync(join(context, '.dockerignore'), 'node_modules\n*.key\n');
    writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\nRUN ls -A /ctx | tr "\\n" " "\n');
    const berth = (args: string[]) => runBerth(args, { env: fx.env });
    const built = await berth(['build', '-t', 'ignored:1', context]);
    expect(built.code).toBe(0);
    expect(built.stderr).toMatch(/^#\d+ \[2\/3\] COPY \. \/ctx\/$/m);
    expect(built.stderr).toMatch(/^#\d+ \d+\.\d{3} \.dockerignore Dockerfile keep\.txt $/m);
    expect(built.stderr).toMatch(/^#\d+ DONE \d+\.\ds$/m);
    expect(built.stderr).toMatch(/^#\d+ naming to docker\.io\/library\/ignored:1 done$/m);
    const again = await berth(['build', '-t', 'ignored:1', context]);
    expect(again.stderr.match(/^#\d+ CACHED$/gm)).toHaveLength(3);
    const history = await berth(['history', 'ignored:1']);
    expect(history.stdout.split('\n')[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(history.stdout).toContain('COPY . /ctx/ # buildkit');
    const failed = await berth(['build', context, '-f', join(context, 'missing')]);
    expect(failed).toMatchObject({ code: 1 });
    expect(failed.stderr).toContain('failed to read dockerfile');
  });

  it('berth build --push pushes every tag to its registry (docker\'s push lines), and the image pulls back from there', async () => {
    const registry = await startReferenceRegistry();
    try {
      writeFileSync(registriesConfig, `mirrors:\n  "${registry.host}":\n    endpoint:\n      - "http://${registry.host}"\n`);
      writeFileSync(join(context, 'msg'), 'pushed by berth build');
      writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\nCOPY msg /msg\nRUN echo " and its RUN" >> /msg\nCMD ["cat", "/msg"]\n');
      const tags = [`${registry.host}/built/app:1`, `${registry.host}/built/app:latest`];
      const env = { ...fx.env, DOCKER_CONFIG: join(configDir, 'docker'), KUBECONFIG: join(configDir, 'no-kubeconfig') };
      const built = await runBerth(['build', '--push', ...tags.flatMap((t) => ['-t', t]), context], { env });
      expect({ code: built.code, stderr: built.code ? built.stderr : '' }).toEqual({ code: 0, stderr: '' });
      const pushedDigests = [...built.stdout.matchAll(/^(1|latest): digest: (sha256:[0-9a-f]{64}) size: \d+$/gm)];
      expect(pushedDigests.map((m) => m[1])).toEqual(['1', 'latest']);
      expect(pushedDigests[0]![2]).toBe(pushedDigests[1]![2]);

      // The registry has it: its manifest by the pushed digest, and both tags.
      const tagList = await httpRequest(`${registry.url}/v2/built/app/tags/list`, 'GET');
      expect((tagList.json as { tags: string[] }).tags.sort()).toEqual(['1', 'latest']);
      for (const tag of tags) await client.removeImage(tag);
      const pulled = await client.pullImage(tags[0]!);
      expect(pulled.digest).toBe(pushedDigests[0]![2]);
      expect(await runOutput(tags[0]!)).toBe('pushed by berth build and its RUN\n');
    } finally {
      await registry.stop();
      writeFileSync(registriesConfig, '{}\n');
    }
  });

  it('a built image runs under podman, and an image buildah bud builds from the same Dockerfile runs under berth', async () => {
    const podman = await PrivatePodman.create('berth-build-podman-');
    const storage = mkdtempSync(join(tmpdir(), 'berth-buildah-'));
    try {
      writeFileSync(join(context, 'msg'), 'from berth');
      const dockerfile = 'FROM busybox\nCOPY msg /msg\nRUN echo -n " and RUN" >> /msg\nCMD ["cat", "/msg"]\n';
      const result = await build(dockerfile, { tags: ['podman-me:1'] });
      expect(result.error).toBeUndefined();
      const archive = join(podman.dir, 'image.tar');
      await client.saveImages(['podman-me:1'], archive);
      const name = /Loaded image(?:\(s\))?: (\S+)/.exec(await podman.run('load', '-i', archive))?.[1];
      expect(name).toMatch(/podman-me:1$/);
      expect(await podman.run('run', '--rm', ...podman.runArgs, name!)).toBe('from berth and RUN');

      // buildah's busybox is berth's, saved: the same base for both builders.
      const base = join(storage, 'busybox.tar');
      await client.saveImages(['busybox'], base);
      writeFileSync(join(context, 'Dockerfile'), dockerfile.replace('FROM busybox', 'FROM docker-archive:' + base));
      const buildah = (args: string[]) => execFileAsync('buildah', ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'vfs', ...args], { maxBuffer: 16 << 20 });
      await buildah(['bud', '--ulimit', 'nofile=1024:1024', '--network', 'none', '-t', 'localhost/from-buildah:1', context]);
      const out = join(storage, 'from-buildah.tar');
      await buildah(['push', 'localhost/from-buildah:1', `docker-archive:${out}:from-buildah:1`]);
      await client.loadImages(out);
      const created = await client.createContainer({ image: 'from-buildah:1' });
      await client.startContainer(created.id);
      await client.waitContainer(created.id);
      let text = '';
      for await (const entry of client.logs(created.id)) text += entry.data.toString();
      expect(text).toMatch(/^from berth and RUN\n?$/);
    } finally {
      await podman.destroy();
      await execFileAsync('buildah', ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'vfs', 'rm', '--all']).catch(() => undefined);
      rmSync(storage, { recursive: true, force: true });
    }
  });
});
