import { Expectations } from './expectations';

describe('Expectations', () => {
  it('is satisfied once every expected creation and deletion is observed', () => {
    const expectations = new Expectations();
    expect(expectations.satisfied('ns/rs')).toBe(true);
    expectations.expectCreations('ns/rs', 2);
    expectations.creationObserved('ns/rs');
    expect(expectations.satisfied('ns/rs')).toBe(false);
    expectations.creationObserved('ns/rs');
    expect(expectations.satisfied('ns/rs')).toBe(true);

    expectations.expectDeletions('ns/rs', ['ns/a', 'ns/b']);
    expectations.deletionObserved('ns/rs', 'ns/a');
    expectations.deletionObserved('ns/rs', 'ns/other');
    expect(expectations.satisfied('ns/rs')).toBe(false);
    expectations.deletionObserved('ns/rs', 'ns/b');
    expect(expectations.satisfied('ns/rs')).toBe(true);
  });

  it('expires, so a lost watch event cannot stall the controller forever', () => {
    let now = 1000;
    const expectations = new Expectations(100, () => now);
    expectations.expectCreations('ns/rs', 1);
    expect(expectations.satisfied('ns/rs')).toBe(false);
    now += 101;
    expect(expectations.satisfied('ns/rs')).toBe(true);
  });
});
