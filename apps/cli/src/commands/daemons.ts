import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';

/** berth's daemons: `berth NAME` runs the app bundled beside the CLI (bin/berth starts them directly). */
export const DAEMONS = [
  { name: 'server', app: 'server', description: 'run the control plane and, unless --disable-agent, this host as its node' },
  { name: 'agent', app: 'agent', description: "join this host to a cluster as a node (runs the host's runtimed)" },
  { name: 'runtimed', app: 'runtimed', description: "run this node's container runtime (images, containers, pod sandboxes)" },
  { name: 'controller-manager', app: 'controller-manager', description: 'run the controllers against an API server' },
  { name: 'scheduler', app: 'scheduler', description: 'run the scheduler against an API server' },
];

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Runs a daemon in the foreground: its output is the terminal's, signals reach it, its exit code is ours. */
function runDaemon(app: string, flags: string[]): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, join(__dirname, '..', app, 'main.js'), ...flags], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise(() => {
    child.once('error', (err) => {
      process.stderr.write(`berth: cannot start ${app}: ${err.message}\n`);
      process.exit(1);
    });
    child.once('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

/** `berth server|agent|runtimed|controller-manager|scheduler [FLAGS]`: each daemon's flags and --help are its own. */
export function registerDaemonCommands(program: Command): void {
  for (const daemon of DAEMONS) {
    program
      .command(daemon.name)
      .description(daemon.description)
      .usage('[flags]')
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[flags...]')
      .action((flags: string[]) => runDaemon(daemon.app, flags));
  }
}
