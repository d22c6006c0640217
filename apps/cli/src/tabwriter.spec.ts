import { DESCRIBE_LAYOUT, TABLE_LAYOUT, tabwrite } from './tabwriter';

describe('tabwrite', () => {
  it('aligns columns like kubectl tables, leaving the last cell unpadded', () => {
    expect(tabwrite('NAME\tREADY\tAGE\nweb\t1/1\t5s\nlonger-name\t0/1\t10m\n', TABLE_LAYOUT)).toBe(
      ['NAME          READY   AGE', 'web           1/1     5s', 'longer-name   0/1     10m', ''].join('\n'),
    );
  });

  it('pads short columns up to the minimum width', () => {
    expect(tabwrite('A\tB\nx\ty', TABLE_LAYOUT)).toBe('A     B\nx     y');
  });

  it('aligns each run of lines separately, as describe output does', () => {
    const text = ['Name:\tweb', 'Namespace:\tdefault', 'Pod Template:', '  Labels:\tapp=web', '  Containers:', '   web:', '    Image:\tbusybox', '    Port:\t80/TCP'].join('\n');
    expect(tabwrite(text, DESCRIBE_LAYOUT)).toBe(
      ['Name:       web', 'Namespace:  default', 'Pod Template:', '  Labels:  app=web', '  Containers:', '   web:', '    Image:  busybox', '    Port:   80/TCP'].join('\n'),
    );
  });

  it('aligns a nested column only over the lines that have it', () => {
    const text = ['Type\tStatus\tReason', 'Available\tTrue\tMinimumReplicasAvailable', 'Label:\tx'].join('\n');
    expect(tabwrite(text, DESCRIBE_LAYOUT)).toBe(['Type       Status  Reason', 'Available  True    MinimumReplicasAvailable', 'Label:     x'].join('\n'));
  });
});
