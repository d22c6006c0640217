import { isBerthError } from '@berth/errors';
import { familiarReference, normalizeReference } from './reference';

describe('image references', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['me/app:v1', 'docker.io/me/app:v1'],
    ['index.docker.io/me/app', 'docker.io/me/app:latest'],
    ['quay.io/org/app:2', 'quay.io/org/app:2'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:dev', 'localhost:5000/app:dev'],
    [`busybox@${digest}`, `docker.io/library/busybox@${digest}`],
    [`busybox:1@${digest}`, `docker.io/library/busybox:1@${digest}`],
  ])('normalises %s as docker does', (input, expected) => {
    expect(normalizeReference(input)).toBe(expected);
  });

  it.each(['Busybox', 'busybox:', 'a//b', 'busybox@sha256:short', ':tag', 'app:bad/tag'])('refuses %s', (input) => {
    let failure: unknown;
    try {
      normalizeReference(input);
    } catch (err) {
      failure = err;
    }
    expect(isBerthError(failure, 'BadRequest')).toBe(true);
  });

  it('prints docker hub names in their short form', () => {
    expect(familiarReference('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarReference('docker.io/me/app:v1')).toBe('me/app:v1');
    expect(familiarReference('quay.io/org/app:2')).toBe('quay.io/org/app:2');
  });
});
