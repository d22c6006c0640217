import { cidrContains, DEFAULT_AFFINITY_TIMEOUT_SECONDS, parseCidr } from './model';
import { endpoints, modelOf, node, service } from './spec-helpers';

describe('proxyModel', () => {
  test('one entry per Service port, with the ready addresses of the endpoint port of the same name and protocol', () => {
    const model = modelOf(
      [service('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'dns', port: 53, protocol: 'UDP' }] })],
      [
        endpoints('web', [
          {
            addresses: [{ ip: '10.244.2.7' }, { ip: '10.244.1.9' }],
            notReadyAddresses: [{ ip: '10.244.1.10' }],
            ports: [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }],
          },
          // Another subset: same port name, other target port.
          { addresses: [{ ip: '10.244.3.1' }, { ip: '10.244.2.7' }], ports: [{ name: 'http', port: 9090 }] },
          // A subset without the port contributes nothing to it.
          { addresses: [{ ip: '10.244.4.1' }], ports: [{ name: 'metrics', port: 9100 }] },
        ]),
      ],
    );
    expect(model.servicePorts).toEqual([
      {
        id: 'default/web/tcp/http',
        protocol: 'tcp',
        clusterIP: '10.96.0.10',
        port: 80,
        nodePort: undefined,
        affinityTimeoutSeconds: undefined,
        endpoints: [
          { ip: '10.244.1.9', port: 8080 },
          { ip: '10.244.2.7', port: 8080 },
          { ip: '10.244.2.7', port: 9090 },
          { ip: '10.244.3.1', port: 9090 },
        ],
      },
      {
        id: 'default/web/udp/dns',
        protocol: 'udp',
        clusterIP: '10.96.0.10',
        port: 53,
        nodePort: undefined,
        affinityTimeoutSeconds: undefined,
        endpoints: [{ ip: '10.244.1.9', port: 5353 }, { ip: '10.244.2.7', port: 5353 }],
      },
    ]);
  });

  test('an unnamed port matches the unnamed endpoint port; a protocol mismatch matches nothing', () => {
    const model = modelOf(
      [service('a', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }), service('b', { clusterIP: '10.96.0.2', ports: [{ port: 53, protocol: 'UDP' }] })],
      [endpoints('a', [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 8080 }] }]), endpoints('b', [{ addresses: [{ ip: '10.0.0.2' }], ports: [{ port: 53 }] }])],
    );
    expect(model.servicePorts.map((p) => [p.id, p.endpoints])).toEqual([
      ['default/a/tcp/', [{ ip: '10.0.0.1', port: 8080 }]],
      ['default/b/udp/', []],
    ]);
  });

  test('headless and ExternalName Services, and non-IPv4 addresses, get nothing', () => {
    const model = modelOf(
      [
        service('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        service('external', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }),
        service('v6', { clusterIP: 'fd00::1', ports: [{ port: 80 }] }),
        service('pending', { ports: [{ port: 80 }] }),
        service('ok', { clusterIP: '10.96.0.5', ports: [{ port: 80 }] }),
      ],
      [endpoints('ok', [{ addresses: [{ ip: 'fd00::5' }, { ip: 'not-an-ip' }, { ip: '10.0.0.5' }], ports: [{ port: 80 }] }])],
    );
    expect(model.servicePorts.map((p) => [p.id, p.endpoints])).toEqual([['default/ok/tcp/', [{ ip: '10.0.0.5', port: 80 }]]]);
  });

  test('NodePorts for NodePort and LoadBalancer Services only; ClientIP affinity with its timeout or the default', () => {
    const model = modelOf(
      [
        service('np', { type: 'NodePort', clusterIP: '10.96.0.1', sessionAffinity: 'ClientIP', ports: [{ port: 80, nodePort: 30080 }] }),
        service('lb', {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.2',
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
          ports: [{ port: 80, nodePort: 30081 }],
        }),
        // A nodePort left over on a ClusterIP Service is not served.
        service('cip', { type: 'ClusterIP', clusterIP: '10.96.0.3', ports: [{ port: 80, nodePort: 30082 }] }),
      ],
      [],
    );
    expect(model.servicePorts.map((p) => [p.id, p.nodePort, p.affinityTimeoutSeconds])).toEqual([
      ['default/cip/tcp/', undefined, undefined],
      ['default/lb/tcp/', 30081, 60],
      ['default/np/tcp/', 30080, DEFAULT_AFFINITY_TIMEOUT_SECONDS],
    ]);
  });

  test("every node's pod CIDR, and this node's apart", () => {
    const model = modelOf([], [], [node('n2', '10.244.2.0/24'), node('n1', '10.244.1.0/24'), node('n3'), node('bad', 'nonsense')], 'n1');
    expect(model.podCIDRs).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    expect(model.localPodCIDR).toBe('10.244.1.0/24');
    expect(modelOf([], [], [node('n2', '10.244.2.0/24')], 'n1').localPodCIDR).toBeUndefined();
  });
});

describe('CIDRs', () => {
  test('parse to canonical form; containment', () => {
    expect(parseCidr('10.244.1.7/24')).toBe('10.244.1.0/24');
    expect(parseCidr('fd00::/64')).toBeUndefined();
    expect(parseCidr(undefined)).toBeUndefined();
    expect(cidrContains('10.244.1.0/24', '10.244.1.200')).toBe(true);
    expect(cidrContains('10.244.1.0/24', '10.244.2.1')).toBe(false);
  });
});
