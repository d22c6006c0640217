import { isCgroupPath, isInterfaceName } from './layout';

describe('isCgroupPath', () => {
  it('takes absolute cgroup paths', () => {
    expect(['/berth', '/berth/abc123', '/berth-hosts-1.2/x_y'].every(isCgroupPath)).toBe(true);
  });

  it('refuses relative paths, odd characters and . or .. segments, which would name a cgroup above', () => {
    expect(['berth', '/', '/berth/', '/berth//x', '/berth/..', '/berth/../..', '/./berth', '/berth/a b'].some(isCgroupPath)).toBe(false);
  });
});

describe('isInterfaceName', () => {
  it('takes names of at most 15 safe characters', () => {
    expect(isInterfaceName('berth0')).toBe(true);
    expect(isInterfaceName('a'.repeat(16))).toBe(false);
    expect(isInterfaceName('br/0')).toBe(false);
  });
});
