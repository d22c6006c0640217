import { REPO_ROOT, runBerth } from '@berth/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const DAEMONS = ['server', 'agent', 'runtimed', 'controller-manager', 'scheduler'];

/** The CLI bundle run directly (not through bin/berth, which starts the daemons itself). */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("berth's daemons on the command line", () => {
  it('berth --help lists the daemons and node reset with the other commands', async () => {
    const help = await runBerth(['--help']);
    expect(help.code).toBe(0);
    for (const name of [...DAEMONS, 'node', 'apply', 'images']) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(help.stdout).toMatch(/^  node +this host's node: berth node reset stops it/m);
    const node = await runBerth(['node', '--help']);
    expect(node.stdout).toMatch(/^  reset \[options\]/m);
    expect(node.stdout).toMatch(/^  ls \[options\]/m);
  });

  it.each(DAEMONS)('berth %s --help prints its usage and every flag with its default, exit 0; an unknown flag is one line, exit 1', async (daemon) => {
    const help = await runBerth([daemon, '--help']);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(new RegExp(`^Usage: berth ${daemon} \\[options\\]\\n`));
    // Descriptions wrap at the terminal's width: compared with the lines joined.
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/ --log-level <level> trace, debug, info, warn, error, fatal, silent \(default: info\) /);

    const bad = await runBerth([daemon, '--no-such-flag']);
    expect({ code: bad.code, stdout: bad.stdout, stderr: bad.stderr }).toEqual({ code: 1, stdout: '', stderr: `berth ${daemon}: unknown option '--no-such-flag'\n` });
  });

  it('the CLI runs a daemon with its own flags and exit code', async () => {
    const help = await runCli(['controller-manager', '--kubeconfig', '/nowhere', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: berth controller-manager \[options\]/);
    const bad = await runCli(['runtimed', '--root', '/tmp/x,y']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 1, stderr: "berth runtimed: option '--root <dir>' argument '/tmp/x,y' is invalid. must not contain \",\" or \":\" (overlay mount options are lists of paths)\n" });
  });
});
