import { desiredRoutes, parseRoutes, routeChanges } from './routes';
import { node } from './spec-helpers';

describe('host-gw routes', () => {
  test('one route per other node with a pod CIDR and an InternalIP, none to this node', () => {
    const nodes = [
      node('n3', '10.244.3.0/24', '192.168.0.3'),
      node('n1', '10.244.1.0/24', '192.168.0.1'),
      node('n2', '10.244.2.0/24', '192.168.0.2'),
      node('no-cidr', undefined, '192.168.0.4'),
      node('no-ip', '10.244.5.0/24'),
      // A node claiming this node's own CIDR or address gets no route that would hijack local traffic.
      node('clash', '10.244.1.0/24', '192.168.0.9'),
      node('same-ip', '10.244.6.0/24', '192.168.0.1'),
    ];
    expect(desiredRoutes(nodes, 'n1')).toEqual([
      { cidr: '10.244.2.0/24', via: '192.168.0.2' },
      { cidr: '10.244.3.0/24', via: '192.168.0.3' },
    ]);
  });

  test('parses `ip -j route show` output', () => {
    const json = JSON.stringify([
      { dst: '10.244.2.0/24', gateway: '192.168.0.2', dev: 'eth0', protocol: '199', flags: [] },
      { dst: '10.9.9.9', gateway: '192.168.0.7', dev: 'eth0', protocol: '199', flags: [] },
      { dst: '10.244.4.0/24', dev: 'eth0', protocol: '199', flags: [] },
    ]);
    expect(parseRoutes(json)).toEqual([
      { cidr: '10.244.2.0/24', via: '192.168.0.2' },
      { cidr: '10.9.9.9/32', via: '192.168.0.7' },
    ]);
    expect(parseRoutes('')).toEqual([]);
  });

  test('changes: routes of vanished nodes go, new and moved ones are replaced, the rest stay', () => {
    const current = [
      { cidr: '10.244.2.0/24', via: '192.168.0.2' },
      { cidr: '10.244.3.0/24', via: '192.168.0.3' },
      { cidr: '10.244.4.0/24', via: '192.168.0.4' },
    ];
    const desired = [
      { cidr: '10.244.2.0/24', via: '192.168.0.2' },
      { cidr: '10.244.3.0/24', via: '192.168.0.33' },
      { cidr: '10.244.5.0/24', via: '192.168.0.5' },
    ];
    expect(routeChanges(current, desired)).toEqual({
      remove: [{ cidr: '10.244.4.0/24', via: '192.168.0.4' }],
      replace: [
        { cidr: '10.244.3.0/24', via: '192.168.0.33' },
        { cidr: '10.244.5.0/24', via: '192.168.0.5' },
      ],
    });
    expect(routeChanges(desired, desired)).toEqual({ remove: [], replace: [] });
  });
});
