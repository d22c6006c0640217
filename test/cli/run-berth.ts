import { ChildProcess, spawn } from 'node:child_process';
import { BERTH_BIN, runBerth as runBerthCommand, withDiscoveryCache, type BerthResult } from '@berth/testing';

export type { BerthResult };

/** Runs `bin/berth ARGS` against a kubeconfig, optionally feeding stdin, and collects its output. */
export function runBerth(kubeconfig: string, args: string[], input?: string): Promise<BerthResult> {
  return runBerthCommand(args, { env: { ...process.env, KUBECONFIG: kubeconfig }, input });
}

/** A long-running `bin/berth` (get -w) whose output can be awaited line by line. */
export class BackgroundBerth {
  private readonly child: ChildProcess;
  private output = '';
  private errors = '';
  private readonly waiters: { match: RegExp; resolve: () => void }[] = [];
  private readonly exited: Promise<void>;

  constructor(kubeconfig: string, args: string[]) {
    this.child = spawn(BERTH_BIN, args, { env: withDiscoveryCache({ ...process.env, KUBECONFIG: kubeconfig }), stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.stdout!.on('data', (d) => {
      this.output += d;
      for (const waiter of [...this.waiters]) {
        if (waiter.match.test(this.output)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
    this.child.stderr!.on('data', (d) => (this.errors += d));
  }

  get stdout(): string {
    return this.output;
  }

  /** Resolves once stdout matches; fails with what was printed if the process ends first. */
  waitFor(match: RegExp): Promise<void> {
    if (match.test(this.output)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      this.exited.then(() => reject(new Error(`berth exited before printing ${match}:\nstdout: ${this.output}\nstderr: ${this.errors}`)));
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
