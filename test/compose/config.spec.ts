import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject } from '@berth/compose';
import { runBerth } from '@berth/testing';
import { APPS, writeFiles } from '../support/compose-apps';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'compose-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeApp(name: string): string {
  return writeFiles(join(dir, name), APPS[name].files);
}

// No variable of the test's own environment leaks into the projects.
const env = { PATH: process.env.PATH };

describe('berth compose config', () => {
  it.each(Object.keys(APPS))('loads the %s app, and its output loads back into the same project', async (name) => {
    const appDir = writeApp(name);
    const printed = await runBerth(['compose', '--project-directory', appDir, 'config'], { env });
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    const names = await runBerth(['compose', '--project-directory', appDir, 'config', '--services'], { env });
    expect(names.stdout.trim().split('\n').sort()).toEqual(APPS[name].services.filter((s) => s !== 'seed'));

    const project = await loadProject({ workingDir: appDir, env });
    writeFileSync(join(dir, 'printed.yaml'), printed.stdout);
    const again = await loadProject({ workingDir: appDir, files: [join(dir, 'printed.yaml')], env });
    expect({ ...again, files: project.files }).toEqual(project);
  });

  it('reads .env and the profiles of the voting app', async () => {
    const gitea = writeApp('gitea');
    const printed = await runBerth(['compose', '--project-directory', gitea, 'config'], { env });
    expect(printed.stdout).toContain('POSTGRES_PASSWORD: from-dotenv');
    const voting = writeApp('voting');
    const profiles = await runBerth(['compose', '--project-directory', voting, 'config', '--profiles'], { env });
    expect(profiles.stdout).toBe('seed\n');
    const withSeed = await runBerth(['compose', '--project-directory', voting, '--profile', 'seed', 'config', '--services'], { env });
    expect(withSeed.stdout.trim().split('\n').sort()).toEqual(APPS.voting.services);
    // A service named enables its profile, and brings what it depends on.
    const seed = await runBerth(['compose', '--project-directory', voting, 'config', '--services', 'seed'], { env });
    expect(seed.stdout.trim().split('\n').sort()).toEqual(['redis', 'seed', 'vote']);
  });

  it('refuses a wrong key in one line naming file, service and key, exit 1', async () => {
    const appDir = join(dir, 'bad');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'compose.yaml'), 'services:\n  web:\n    image: nginx\n    ports: ["http:80"]\n');
    const result = await runBerth(['compose', '-f', join(appDir, 'compose.yaml'), 'config'], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: compose.yaml: services.web.ports[0]: published must be a port number (0-65535), not "http"\n');
  });

  it('-q only checks; -p names the project', async () => {
    const appDir = writeApp('wordpress');
    const quiet = await runBerth(['compose', '--project-directory', appDir, 'config', '-q'], { env });
    expect(quiet).toEqual({ code: 0, stdout: '', stderr: '' });
    const named = await runBerth(['compose', '--project-directory', appDir, '-p', 'blog', 'config'], { env });
    expect(named.stdout).toMatch(/^name: blog\n/);
    expect(named.stdout).toContain('name: blog_db_data');
  });
});
