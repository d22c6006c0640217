import { ago, binarySize, commandColumn, humanDuration, humanSize, parseBytes, table } from './format';

describe('docker-style formatting', () => {
  it('words sizes as go-units does', () => {
    expect([0, 999, 1234, 4_266_123, 1e9].map(humanSize)).toEqual(['0B', '999B', '1.234kB', '4.266MB', '1GB']);
    expect([512, 1536, 64 * 1024 * 1024].map(binarySize)).toEqual(['512B', '1.5KiB', '64MiB']);
  });

  it('words durations and ages', () => {
    expect([500, 1000, 5000, 70_000, 600_000, 3_600_000, 10 * 3_600_000, 3 * 86_400_000].map(humanDuration)).toEqual([
      'Less than a second',
      '1 second',
      '5 seconds',
      'About a minute',
      '10 minutes',
      'About an hour',
      '10 hours',
      '3 days',
    ]);
    expect(ago('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:30Z'))).toBe('30 seconds ago');
  });

  it('parses --memory sizes', () => {
    expect(parseBytes('64m')).toBe(64 * 1024 * 1024);
    expect(parseBytes('1g')).toBe(1024 ** 3);
    expect(parseBytes('512')).toBe(512);
    expect(parseBytes('1.5k')).toBe(1536);
    expect(() => parseBytes('lots')).toThrow(/invalid size/);
  });

  it('aligns tables with three spaces and quotes commands', () => {
    expect(table(['A', 'LONGER HEADER'], [['x', 'y']])).toBe('A         LONGER HEADER\nx         y\n');
    expect(commandColumn(['sh', '-c', 'echo hello world'], true)).toBe('"sh -c echo hello wo…"');
  });
});
