import { decodeKey, encodeKey, prefixFilter } from './nats-subjects';

describe('NATS key encoding', () => {
  const keys = [
    '/registry/apps/deployments/default/web',
    '/registry/pods/kube-system/coredns-5d78c9869d-abc.12',
    '/registry/x/a:b*c>d e\tf',
    '/registry/x/_lead_and=equals',
    '/ünï/😀',
    '',
    '/',
    'no-leading-slash',
    '/trailing/',
  ];

  it.each(keys)('round-trips %j into a valid KV key', (key) => {
    const encoded = encodeKey(key);
    expect(encoded).toMatch(/^[-_A-Za-z0-9]+(\.[-_A-Za-z0-9]+)*$/);
    expect(decodeKey(encoded)).toBe(key);
  });

  it('keeps distinct keys distinct', () => {
    const encoded = new Set(keys.map(encodeKey));
    expect(encoded.size).toBe(keys.length);
    expect(encodeKey('/a.b')).not.toBe(encodeKey('/a/b'));
    expect(encodeKey('/a_2Eb')).not.toBe(encodeKey('/a.b'));
  });

  it('turns a prefix into a filter over its complete segments', () => {
    expect(prefixFilter('')).toBe('>');
    expect(prefixFilter('/')).toBe('_.>');
    expect(prefixFilter('/registry/pods/')).toBe('_.registry.pods.>');
    expect(prefixFilter('/registry/po')).toBe('_.registry.>');
    expect(prefixFilter('/a.b/')).toBe('_.a_2Eb.>');
  });
});
