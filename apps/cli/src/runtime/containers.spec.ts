import { resolve } from 'node:path';
import { parseTmpfsFlag, parseVolumeFlag } from './containers';

describe('docker -v and --tmpfs flags', () => {
  it('tells anonymous volumes, named volumes and bind mounts apart', () => {
    expect(parseVolumeFlag('/data')).toEqual({ type: 'volume', destination: '/data', readOnly: false });
    expect(parseVolumeFlag('db:/var/lib/db')).toEqual({ type: 'volume', source: 'db', destination: '/var/lib/db', readOnly: false });
    expect(parseVolumeFlag('db:/var/lib/db:ro')).toEqual({ type: 'volume', source: 'db', destination: '/var/lib/db', readOnly: true });
    expect(parseVolumeFlag('/srv/www:/usr/share/www:ro')).toEqual({ type: 'bind', source: '/srv/www', destination: '/usr/share/www', readOnly: true });
    expect(parseVolumeFlag('./site:/site')).toEqual({ type: 'bind', source: resolve('site'), destination: '/site', readOnly: false });
  });

  it.each(['', 'db:relative', '/a:/b:rx', 'a:b:c:d', '/a::/b'])('refuses %j', (flag) => {
    expect(() => parseVolumeFlag(flag)).toThrow(/volume specification/);
  });

  it('reads tmpfs size, mode and ro', () => {
    expect(parseTmpfsFlag('/run')).toEqual({ type: 'tmpfs', destination: '/run' });
    expect(parseTmpfsFlag('/run:size=64m,mode=1770,ro')).toEqual({ type: 'tmpfs', destination: '/run', sizeBytes: 64 * 1024 * 1024, mode: 0o1770, readOnly: true });
    expect(() => parseTmpfsFlag('run')).toThrow(/absolute/);
    expect(() => parseTmpfsFlag('/run:exec')).toThrow(/invalid --tmpfs option/);
  });
});
