import { humanSize } from '../../runtime/format';
import { isImageOf } from './listing';

describe('isImageOf', () => {
  const digest = 'sha256:' + 'ab'.repeat(32);

  it("finds a container's image among a node's by its reference however written, or by its digest", () => {
    expect(isImageOf(['docker.io/library/busybox:latest'], 'busybox', '')).toBe(true);
    expect(isImageOf(['docker.io/library/busybox:latest'], 'busybox:latest', '')).toBe(true);
    expect(isImageOf(['busybox:latest'], 'docker.io/library/busybox', '')).toBe(true);
    expect(isImageOf([`registry.local:5000/shop/web@${digest}`], 'registry.local:5000/shop/web:1', digest)).toBe(true);
  });

  it('does not take another tag, repository or digest for it', () => {
    expect(isImageOf(['docker.io/library/busybox:1.36'], 'busybox', '')).toBe(false);
    expect(isImageOf(['docker.io/library/alpine:latest'], 'busybox', '')).toBe(false);
    expect(isImageOf([`busybox@sha256:${'cd'.repeat(32)}`], 'web:1', digest)).toBe(false);
    expect(isImageOf(['not a reference!'], 'busybox', '')).toBe(false);
  });
});

describe('the SIZE column', () => {
  it('is in decimal units with 4 significant digits, as docker prints it', () => {
    expect(humanSize(4_260_000)).toBe('4.26MB');
    expect(humanSize(4_266_123)).toBe('4.266MB');
    expect(humanSize(999)).toBe('999B');
  });
});
