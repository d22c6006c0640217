import { FlagError, HelpRequested, misstatedDefaults } from '@berth/flags';
import { parseSchedulerFlags, schedulerCommand } from './config';

describe('parseSchedulerFlags', () => {
  it('defaults, and takes each flag', () => {
    const election = { leaderElect: true, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, resourceName: 'kube-scheduler', resourceNamespace: 'kube-system' };
    expect(parseSchedulerFlags([])).toEqual({ schedulerName: 'default-scheduler', workers: 64, retrySeconds: 60, logLevel: 'info', leaderElection: election });
    expect(parseSchedulerFlags(['--kubeconfig', '/k', '--scheduler-name', 'other', '--workers', '2', '--retry-seconds', '5', '--log-level', 'debug'])).toEqual({
      kubeconfig: '/k',
      schedulerName: 'other',
      workers: 2,
      retrySeconds: 5,
      logLevel: 'debug',
      leaderElection: election,
    });
  });

  it("takes Kubernetes' leader election flags", () => {
    const argv = ['--leader-elect=false', '--leader-elect-lease-duration', '30s', '--leader-elect-renew-deadline', '20s', '--leader-elect-retry-period', '4s'];
    argv.push('--leader-elect-resource-name', 'mine', '--leader-elect-resource-namespace', 'ha');
    expect(parseSchedulerFlags(argv).leaderElection).toEqual({ leaderElect: false, leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4_000, resourceName: 'mine', resourceNamespace: 'ha' });
    expect(parseSchedulerFlags(['--leader-elect']).leaderElection.leaderElect).toBe(true);
    expect(() => parseSchedulerFlags(['--leader-elect=maybe'])).toThrow('must be true or false');
    expect(() => parseSchedulerFlags(['--leader-elect-renew-deadline', '15s'])).toThrow(new FlagError('--leader-elect-*: the lease duration must be longer than the renew deadline'));
    expect(() => parseSchedulerFlags(['--leader-elect-retry-period', '9s'])).toThrow('the renew deadline must be longer than 1.2 × the retry period');
  });

  it.each([[['--workers', '0']], [['--retry-seconds', 'x']], [['--log-level', 'loud']], [['--bogus']], [['extra']]])('refuses %j with one line', (argv) => {
    expect(() => parseSchedulerFlags(argv)).toThrow(FlagError);
  });

  it('answers --help with every flag and its default', () => {
    expect(() => parseSchedulerFlags(['--help'])).toThrow(HelpRequested);
    const usage = schedulerCommand().helpInformation().replace(/\s+/g, ' ');
    for (const option of schedulerCommand().options) expect(usage).toContain(option.long);
    expect(usage).toContain('--workers <n> bindings in flight at once (default: 64)');
    expect(misstatedDefaults(schedulerCommand())).toEqual([]);
  });
});
