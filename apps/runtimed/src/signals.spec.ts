import { INIT_PATH, parseSignal, withInit } from './containers';

describe('parseSignal', () => {
  it('takes names with or without SIG, numbers, the real-time signals and the aliases Kubernetes allows', () => {
    expect(parseSignal('SIGQUIT')).toBe('SIGQUIT');
    expect(parseSignal('term')).toBe('SIGTERM');
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('SIGRTMIN')).toBe(34);
    expect(parseSignal('SIGRTMIN+15')).toBe(49);
    expect(parseSignal('SIGRTMAX-14')).toBe(50);
    expect(parseSignal('SIGRTMAX')).toBe(64);
    expect(parseSignal('SIGCLD')).toBe('SIGCHLD');
    expect(parseSignal('SIGPOLL')).toBe('SIGPOLL');
  });

  it('refuses anything else', () => {
    for (const bad of ['SIGNOPE', '0', '65', 'SIGRTMIN-1', 'SIGRTMAX+1', 'SIGRTMIN+99', 'constructor', '__proto__']) {
      expect(() => parseSignal(bad)).toThrow(`invalid signal ${bad}`);
    }
  });
});

describe('withInit', () => {
  it("runs the process as the init's child, after --", () => {
    expect(withInit(['sleep', '1'], true)).toEqual([INIT_PATH, '--', 'sleep', '1']);
    expect(withInit(['sleep', '1'], false)).toEqual(['sleep', '1']);
  });
});
