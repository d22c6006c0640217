import { isBerthError } from '@berth/errors';
import { nodeConfList, parseConfList } from './conflist';

describe('parseConfList', () => {
  test('accepts a conflist as text or object', () => {
    const list = { cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge' }] };
    expect(parseConfList(JSON.stringify(list))).toEqual(list);
    expect(parseConfList(list)).toBe(list);
  });

  test('lists every problem in one Invalid error', () => {
    try {
      parseConfList({ cniVersion: '0.2.0', name: 'a/b', plugins: [{ type: '../sh' }, {}] });
      throw new Error('expected an error');
    } catch (err) {
      expect(isBerthError(err, 'Invalid')).toBe(true);
      expect((err as Error).message).toBe(
        'cni network "a/b" is invalid: name: Invalid value: "a/b": must be letters, digits, "_", "." or "-", ' +
          'cniVersion: Unsupported value: "0.2.0": supported values: "0.4.0", "1.0.0", ' +
          'plugins[0].type: Invalid value: "../sh": must be a plugin binary name, plugins[1].type: Required value',
      );
    }
  });

  test('rejects text that is not a JSON object', () => {
    expect(() => parseConfList('[1]')).toThrow('must be a JSON object');
    expect(() => parseConfList('{')).toThrow('not JSON');
  });
});

describe('nodeConfList', () => {
  test("is a bridge with host-local over the node's pod CIDR, and portmap", () => {
    const list = nodeConfList({ podCIDR: '10.88.3.0/24', ipamDataDir: '/var/lib/berth/cni/ipam' });
    expect(parseConfList(list)).toBe(list);
    expect(list).toEqual({
      cniVersion: '1.0.0',
      name: 'berth',
      plugins: [
        {
          type: 'bridge',
          bridge: 'berth0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.88.3.0/24' }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: '/var/lib/berth/cni/ipam',
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });
  });

  test('rejects a pod CIDR or bridge name the plugins would refuse', () => {
    expect(() => nodeConfList({ podCIDR: '10.88.3.0/33', ipamDataDir: '/x', bridge: 'a-bridge-name-too-long' })).toThrow(
      'cni network "berth" is invalid: podCIDR: Invalid value: "10.88.3.0/33": must be an IPv4 network address with a prefix length from 8 to 30, such as 10.88.3.0/24, ' +
        'bridge: Invalid value: "a-bridge-name-too-long": must be an interface name of at most 15 characters',
    );
  });
});
