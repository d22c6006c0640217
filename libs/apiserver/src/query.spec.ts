import { booleanParam } from './query';

describe('booleanParam', () => {
  it('is true for true and 1 only', () => {
    const q = new URLSearchParams('a=true&b=1&c=false&d=0&e=&f=True&g=yes');
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'absent'].map((name) => booleanParam(q, name))).toEqual([true, true, false, false, false, false, false, false]);
  });
});
