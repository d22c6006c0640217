import { cidrContains, DEFAULT_AFFINITY_TIMEOUT_SECONDS, parseCidr } from './model';
import type { Service } from '@berth/api';
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
        externalIPs: [],
        affinityTimeoutSeconds: undefined,
        internalPolicy: 'Cluster',
        externalPolicy: 'Cluster',
        endpoints: [
          { ip: '10.244.1.9', port: 8080 },
          { ip: '10.244.2.7', port: 8080 },
          { ip: '10.244.2.7', port: 9090 },
          { ip: '10.244.3.1', port: 9090 },
        ],
        localEndpoints: [],
      },
      {
        id: 'default/web/udp/dns',
        protocol: 'udp',
        clusterIP: '10.96.0.10',
        port: 53,
        nodePort: undefined,
        externalIPs: [],
        affinityTimeoutSeconds: undefined,
        internalPolicy: 'Cluster',
        externalPolicy: 'Cluster',
        endpoints: [{ ip: '10.244.1.9', port: 5353 }, { ip: '10.244.2.7', port: 5353 }],
        localEndpoints: [],
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

  test('external IPs: spec.externalIPs, and load-balancer ingress IPs of LoadBalancer Services only', () => {
    const ingress = { loadBalancer: { ingress: [{ ip: '192.168.0.2' }, { hostname: 'lb.example.com' }, { ip: '192.168.0.1' }] } };
    const model = modelOf(
      [
        { ...service('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.1', externalIPs: ['203.0.113.5', '192.168.0.1', 'fd00::1'], ports: [{ port: 80, nodePort: 30080 }] }), status: ingress },
        // Left over from when it was a LoadBalancer: not served.
        { ...service('was-lb', { type: 'ClusterIP', clusterIP: '10.96.0.2', ports: [{ port: 81 }] }), status: ingress },
      ],
      [],
    );
    expect(model.servicePorts.map((p) => [p.id, p.externalIPs])).toEqual([
      ['default/lb/tcp/', ['192.168.0.1', '192.168.0.2', '203.0.113.5']],
      ['default/was-lb/tcp/', []],
    ]);
  });

  test('127.0.0.1 too when the load balancer is the nodes themselves (an ingress IP is a Node address), whichever node this is', () => {
    const onNodes = { loadBalancer: { ingress: [{ ip: '192.168.0.2' }] } };
    const elsewhere = { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } };
    const created = (name: string, at: string, spec: Service['spec'], status: Service['status']) => ({
      ...service(name, spec),
      metadata: { namespace: 'default', name, creationTimestamp: at },
      status,
    });
    const model = modelOf(
      [
        created('published', '2026-01-01T00:00:00Z', { type: 'LoadBalancer', clusterIP: '10.96.0.1', ports: [{ port: 8080, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }] }, onNodes),
        // Another implementation's load balancer: the node's loopback is not its to take.
        created('cloud', '2026-01-01T00:00:00Z', { type: 'LoadBalancer', clusterIP: '10.96.0.2', ports: [{ port: 80 }] }, elsewhere),
        // Not yet given an ingress, or no longer a LoadBalancer.
        created('pending', '2026-01-01T00:00:00Z', { type: 'LoadBalancer', clusterIP: '10.96.0.3', ports: [{ port: 81 }] }, {}),
        created('was-lb', '2026-01-01T00:00:00Z', { type: 'ClusterIP', clusterIP: '10.96.0.4', ports: [{ port: 82 }] }, onNodes),
        // The same port, published later: the older Service keeps 127.0.0.1:8080 as it keeps the node addresses.
        created('later', '2026-01-02T00:00:00Z', { type: 'LoadBalancer', clusterIP: '10.96.0.5', ports: [{ port: 8080 }] }, onNodes),
      ],
      [],
      [node('n1', '10.244.1.0/24', '192.168.0.1'), node('n2', '10.244.2.0/24', '192.168.0.2')],
      'n1',
    );
    expect(model.servicePorts.map((p) => [p.id, p.externalIPs])).toEqual([
      ['default/cloud/tcp/', ['203.0.113.9']],
      ['default/later/tcp/', []],
      ['default/pending/tcp/', []],
      ['default/published/tcp/', ['127.0.0.1', '192.168.0.2']],
      ['default/published/udp/dns', ['127.0.0.1', '192.168.0.2']],
      ['default/was-lb/tcp/', []],
    ]);
    expect(model.conflicts).toEqual(["127.0.0.1 tcp/8080 is default/published's, not default/later's", "192.168.0.2 tcp/8080 is default/published's, not default/later's"]);
  });

  test('an external address and port two Services ask for is the older one\'s; the conflict is reported', () => {
    const created = (name: string, at: string, spec: Service['spec']) => ({ ...service(name, spec), metadata: { namespace: 'default', name, creationTimestamp: at } });
    const model = modelOf(
      [
        created('newer', '2026-01-02T00:00:00Z', { clusterIP: '10.96.0.2', externalIPs: ['192.168.0.1'], ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }),
        created('older', '2026-01-01T00:00:00Z', { clusterIP: '10.96.0.1', externalIPs: ['192.168.0.1'], ports: [{ port: 80 }] }),
        // An external address that is another Service's ClusterIP and port.
        created('thief', '2025-12-01T00:00:00Z', { clusterIP: '10.96.0.3', externalIPs: ['10.96.0.1'], ports: [{ port: 80 }] }),
      ],
      [],
    );
    expect(model.servicePorts.map((p) => [p.id, p.externalIPs])).toEqual([
      ['default/newer/tcp/http', []],
      ['default/newer/tcp/https', ['192.168.0.1']],
      ['default/older/tcp/', ['192.168.0.1']],
      ['default/thief/tcp/', []],
    ]);
    expect(model.conflicts).toEqual(["10.96.0.1 tcp/80 is default/older's, not default/thief's", "192.168.0.1 tcp/80 is default/older's, not default/newer's"]);
  });

  test("traffic policies, and the endpoints on this node by their address's nodeName", () => {
    const model = modelOf(
      [
        service('local', { type: 'NodePort', clusterIP: '10.96.0.1', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30080 }] }),
        // No NodePort and no external IP: nothing external for the policy to apply to.
        service('internal', { clusterIP: '10.96.0.2', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
      ],
      [
        endpoints('local', [
          { addresses: [{ ip: '10.244.1.5', nodeName: 'n1' }, { ip: '10.244.2.5', nodeName: 'n2' }, { ip: '10.244.3.5' }], ports: [{ port: 80 }] },
          { addresses: [{ ip: '10.244.1.6', nodeName: 'n1' }], notReadyAddresses: [{ ip: '10.244.1.7', nodeName: 'n1' }], ports: [{ port: 80 }] },
        ]),
      ],
      [],
      'n1',
    );
    const [internal, local] = model.servicePorts;
    expect([internal.internalPolicy, internal.externalPolicy]).toEqual(['Cluster', 'Cluster']);
    expect([local.internalPolicy, local.externalPolicy]).toEqual(['Local', 'Local']);
    expect(local.endpoints.map((b) => b.ip)).toEqual(['10.244.1.5', '10.244.1.6', '10.244.2.5', '10.244.3.5']);
    expect(local.localEndpoints).toEqual([{ ip: '10.244.1.5', port: 80 }, { ip: '10.244.1.6', port: 80 }]);
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
