import type { KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from './server';

/** A @kubernetes/client-node KubeConfig loaded from the server's own kubeconfig.yaml. */
export function kubeConfigFor(server: TestServer): KubeConfig {
  // Loaded on first use: client-node is large, and most suites importing @berth/testing never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const client = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const kc = new client.KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return kc;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  /**
   * Runs /usr/bin/kubectl against the server; resolves when it exits (never rejects on a non-zero exit).
   * One still running after `timeoutMs` (default 30 s) is killed: code null, and stderr says so.
   */
  run(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** As run, for a command that must succeed: its stdout, or a rejection with the exit code and both outputs. */
  ok(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Starts a long-running kubectl (`get -w`); stop it with kill(). */
  start(args: string[]): { output(): string; kill(): Promise<void> };
  /** Removes the kubectl HOME and discovery cache. */
  cleanup(): void;
}

/**
 * The real kubectl with a kubeconfig: a test server's (the admin's) or any other (`{ kubeconfigPath }`: a
 * node's), with its own HOME and cache dir so discovery caches never leak between tests or servers.
 */
export function kubectlFor(server: Pick<TestServer, 'kubeconfigPath'>): Kubectl {
  const home = mkdtempSync(join(tmpdir(), 'berth-kubectl-'));
  const env = { ...process.env, HOME: home, KUBECONFIG: server.kubeconfigPath };
  const fullArgs = (args: string[]) => ['--cache-dir', join(home, 'cache'), ...args];
  return {
    run(args, opts = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('/usr/bin/kubectl', fullArgs(args), { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timeoutMs = opts.timeoutMs ?? 30_000;
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr: timedOut ? `${stderr}kubectl ${args.join(' ')}: did not exit in ${timeoutMs / 1000} s (killed)\n` : stderr });
        });
        child.stdin.end(opts.input ?? '');
      });
    },
    async ok(args, opts) {
      const result = await this.run(args, opts);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
      return result.stdout;
    },
    start(args) {
      const child = spawn('/usr/bin/kubectl', fullArgs(args), { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      return {
        output: () => output,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    },
    cleanup() {
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Polls until check() returns a truthy value (or throws its last error after timeoutMs). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 15_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The rows of kubectl's column output (`get`, `top`) as objects keyed by header, cells sliced at the header's offsets. */
export function kubectlTable(output: string): Record<string, string>[] {
  const [header, ...rows] = output.trimEnd().split('\n');
  const columns = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index! }));
  return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row.slice(c.at, columns[i + 1]?.at ?? row.length).trim()])));
}
