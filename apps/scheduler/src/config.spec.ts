import { FlagError, HelpRequested, misstatedDefaults } from '@berth/flags';
import { parseSchedulerFlags, schedulerCommand } from './config';

describe('parseSchedulerFlags', () => {
  it('defaults, and takes each flag', () => {
    expect(parseSchedulerFlags([])).toEqual({ schedulerName: 'default-scheduler', workers: 64, retrySeconds: 60, logLevel: 'info' });
    expect(parseSchedulerFlags(['--kubeconfig', '/k', '--scheduler-name', 'other', '--workers', '2', '--retry-seconds', '5', '--log-level', 'debug'])).toEqual({
      kubeconfig: '/k',
      schedulerName: 'other',
      workers: 2,
      retrySeconds: 5,
      logLevel: 'debug',
    });
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
