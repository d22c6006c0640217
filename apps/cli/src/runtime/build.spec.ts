import { DockerIgnore } from '@berth/dockerfile';
import type { BuildProgress } from '@berth/runtime-client';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { contextTar, PlainProgress } from './build';

async function names(dir: string, ignore: string): Promise<string[]> {
  const parser = extract();
  const seen: string[] = [];
  const done = (async () => {
    for await (const entry of parser) {
      seen.push(entry.header.type === 'symlink' ? `${entry.header.name} -> ${entry.header.linkname}` : entry.header.name);
      entry.resume();
    }
  })();
  for await (const chunk of contextTar(dir, DockerIgnore.parse(ignore))) parser.write(chunk);
  (parser as unknown as NodeJS.WritableStream).end();
  await done;
  return seen;
}

describe('contextTar', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-context-tar-'));
    await mkdir(join(dir, 'node_modules', 'pkg'), { recursive: true });
    await writeFile(join(dir, 'node_modules', 'pkg', 'index.js'), 'x');
    await mkdir(join(dir, 'docs'));
    await writeFile(join(dir, 'docs', 'a.md'), 'a');
    await writeFile(join(dir, 'docs', 'keep.md'), 'k');
    await writeFile(join(dir, 'main.go'), 'package main');
    await symlink('main.go', join(dir, 'link'));
  });

  afterEach(async () => {
    await chmod(join(dir, 'node_modules'), 0o755).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('applies .dockerignore, with exceptions, and never reads an ignored directory nothing re-includes', async () => {
    // Unreadable: walking into it would fail the tar.
    await chmod(join(dir, 'node_modules'), 0o000);
    expect(await names(dir, 'node_modules\ndocs\n!docs/keep.md\n')).toEqual(['docs/keep.md', 'link -> main.go', 'main.go']);
  });
});

describe('PlainProgress', () => {
  it('prints steps, timestamped output lines, CACHED and DONE as BuildKit plain', () => {
    let out = '';
    const progress = new PlainProgress((text) => (out += text));
    const event = (e: Partial<BuildProgress>) => progress.event({ step: 1, name: '', status: 'started', log: Buffer.alloc(0), seconds: 0, error: '', ...e });
    event({ step: 5, name: '[2/4] RUN make', status: 'started' });
    event({ step: 5, status: 'log', log: Buffer.from('one\ntw'), seconds: 0.1234 });
    event({ step: 5, status: 'log', log: Buffer.from('o\n'), seconds: 0.2 });
    event({ step: 5, status: 'done', seconds: 1.23 });
    event({ step: 6, name: '[3/4] COPY . /', status: 'started' });
    event({ step: 6, status: 'cached' });
    event({ step: 7, name: 'exporting to image', status: 'started' });
    event({ step: 7, status: 'detail', log: Buffer.from('naming to docker.io/library/x:latest done') });
    expect(out).toBe(
      '#5 [2/4] RUN make\n#5 0.123 one\n#5 0.200 two\n#5 DONE 1.2s\n\n#6 [3/4] COPY . /\n#6 CACHED\n\n#7 exporting to image\n#7 naming to docker.io/library/x:latest done\n',
    );
  });
});
