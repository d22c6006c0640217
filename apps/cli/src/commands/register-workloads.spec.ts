import { Command } from 'commander';
import type { Session } from '../session';
import { registerWorkloadCommands } from './register-workloads';

/** Parses a command line as main does and records what each verb's action would receive. */
function parse(argv: string[]): { options: Record<string, unknown>; args: unknown[] } {
  const program = new Command('berth').option('--kubeconfig <path>').option('-n, --namespace <namespace>').exitOverride().configureOutput({ writeErr: () => undefined });
  let seen: { options: Record<string, unknown>; args: unknown[] } | undefined;
  registerWorkloadCommands(program, async (_action: (session: Session) => Promise<void>, command: Command) => {
    seen = { options: command.optsWithGlobals(), args: command.processedArgs };
  });
  program.parse(['node', 'berth', ...argv]);
  if (!seen) throw new Error('no action ran');
  return seen;
}

describe('workload verb command lines', () => {
  it('run: everything after -- is the command, options before it are berth\'s', () => {
    const { options, args } = parse(['run', 'web', '--image', 'busybox', '--replicas', '2', '-e', 'A=1', '--env', 'B=2', '-n', 'team', '--', 'sh', '-c', 'echo -n hi']);
    expect(args).toEqual(['web', ['sh', '-c', 'echo -n hi']]);
    expect(options).toMatchObject({ image: 'busybox', replicas: 2, env: ['A=1', 'B=2'], namespace: 'team', restart: 'Always' });
    expect(parse(['run', 'web', '--image', 'b', '-p', '8080:80', '--publish', '9090:90']).options).toMatchObject({ publish: ['8080:80', '9090:90'] });
  });

  it('run: --image is required and --restart takes only the policies', () => {
    expect(() => parse(['run', 'web'])).toThrow("required option '--image <image>' not specified");
    expect(() => parse(['run', 'web', '--image', 'b', '--restart', 'Sometimes'])).toThrow('Allowed choices are Always, OnFailure, Never');
    expect(() => parse(['run', 'web', '--image', 'b', '--replicas', 'x'])).toThrow('invalid value "x" for --replicas');
  });

  it('exec: -it and -c before --, the command after it', () => {
    const { options, args } = parse(['exec', '-it', 'web-1', '-c', 'main', '--', 'sh', '-c', 'ls -l']);
    expect(args).toEqual(['web-1', ['sh', '-c', 'ls -l']]);
    expect(options).toMatchObject({ stdin: true, tty: true, container: 'main' });
  });

  it('scale, rollout, logs, ps, stop, rm and top read kubectl\'s and docker\'s flags', () => {
    expect(parse(['scale', 'deploy/web', '--replicas', '0'])).toMatchObject({ args: [['deploy/web']], options: { replicas: 0 } });
    expect(() => parse(['scale', 'deploy/web'])).toThrow("required option '--replicas <count>' not specified");
    expect(parse(['rollout', 'status', 'deployment', 'web', '--timeout', '90s'])).toMatchObject({ args: [['deployment', 'web']], options: { timeout: '90s' } });
    expect(parse(['rollout', 'undo', 'deploy/web', '--to-revision', '1'])).toMatchObject({ options: { toRevision: 1 } });
    expect(parse(['logs', '-f', '--tail', '5', '--since', '1h', '--timestamps', 'deploy/web'])).toMatchObject({
      args: ['deploy/web', undefined],
      options: { follow: true, tail: 5, since: '1h', timestamps: true },
    });
    expect(parse(['ps', '-A', '-l', 'app=web', '-o', 'wide']).options).toMatchObject({ allNamespaces: true, selector: 'app=web', output: 'wide' });
    expect(parse(['stop', 'web-1', 'deploy/web']).options).toMatchObject({ wait: true, timeout: '0' });
    expect(parse(['rm', '-f', '--no-wait', 'deploy/web']).options).toMatchObject({ force: true, wait: false });
    expect(parse(['top', 'nodes']).args).toEqual(['nodes', undefined]);
    // Bare `berth top` is the pods' metrics (top() reads no type as pods): a word there may also name a pod.
    expect(parse(['top']).args).toEqual([undefined, undefined]);
  });
});
