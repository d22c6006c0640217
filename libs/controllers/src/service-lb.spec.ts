import type { ConditionStatus, Endpoints, Node, NodeAddress, Service } from '@berth/api';
import { isServiceLoadBalancer, LB_ENABLED_LABEL, LB_POOL_LABEL, loadBalancerIngress } from './service-lb';

function node(name: string, addresses: NodeAddress[], opts: { ready?: ConditionStatus | ''; labels?: Record<string, string>; unschedulable?: boolean; deleting?: boolean } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: opts.labels, deletionTimestamp: opts.deleting ? '2026-01-01T00:00:00Z' : undefined },
    spec: { unschedulable: opts.unschedulable },
    status: { addresses, conditions: opts.ready === undefined ? [{ type: 'Ready', status: 'True' }] : opts.ready ? [{ type: 'Ready', status: opts.ready }] : [] },
  };
}

const internal = (address: string): NodeAddress => ({ type: 'InternalIP', address });
const external = (address: string): NodeAddress => ({ type: 'ExternalIP', address });

function service(spec: Service['spec'] = {}, labels?: Record<string, string>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', labels }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }], ...spec } };
}

const ips = (svc: Service, nodes: Node[], endpoints?: Endpoints) => loadBalancerIngress(svc, nodes, endpoints).map((i) => i.ip);

describe('load balancer ingress', () => {
  it('lists the InternalIPs of every Ready node, cordoned ones too, sorted, once each, IPv4 only', () => {
    const nodes = [
      node('c', [internal('192.0.2.30'), { type: 'Hostname', address: 'c' }]),
      node('a', [internal('192.0.2.10'), internal('fd00::10')]),
      node('b', [internal('192.0.2.20')], { unschedulable: true }),
      node('twin', [internal('192.0.2.10')]),
      node('down', [internal('192.0.2.40')], { ready: 'False' }),
      node('silent', [internal('192.0.2.50')], { ready: 'Unknown' }),
      node('new', [internal('192.0.2.60')], { ready: '' }),
      node('going', [internal('192.0.2.70')], { deleting: true }),
      node('bare', []),
    ];
    expect(loadBalancerIngress(service(), nodes, undefined)).toEqual([{ ip: '192.0.2.10' }, { ip: '192.0.2.20' }, { ip: '192.0.2.30' }]);
  });

  it('prefers ExternalIPs: once any publishing node has one, only ExternalIPs are listed', () => {
    const nodes = [node('a', [internal('10.0.0.1'), external('203.0.113.1')]), node('b', [internal('10.0.0.2')])];
    expect(ips(service(), nodes)).toEqual(['203.0.113.1']);
    // An ExternalIP on a node that does not publish does not count.
    expect(ips(service(), [node('a', [internal('10.0.0.1'), external('203.0.113.1')], { ready: 'False' }), nodes[1]])).toEqual(['10.0.0.2']);
  });

  it('uses only nodes labelled enablelb=true once any node carries the label, and the Service\'s pool', () => {
    const nodes = [
      node('a', [internal('10.0.0.1')], { labels: { [LB_ENABLED_LABEL]: 'true', [LB_POOL_LABEL]: 'edge' } }),
      node('b', [internal('10.0.0.2')], { labels: { [LB_ENABLED_LABEL]: 'false' } }),
      node('c', [internal('10.0.0.3')], { labels: { [LB_ENABLED_LABEL]: 'true' } }),
      node('d', [internal('10.0.0.4')]),
    ];
    expect(ips(service(), nodes)).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(ips(service({}, { [LB_POOL_LABEL]: 'edge' }), nodes)).toEqual(['10.0.0.1']);
    // Without any labelled node, pools do not apply.
    expect(ips(service({}, { [LB_POOL_LABEL]: 'edge' }), [nodes[3]])).toEqual(['10.0.0.4']);
  });

  it('with externalTrafficPolicy Local, only nodes running a ready endpoint', () => {
    const nodes = [node('a', [internal('10.0.0.1')]), node('b', [internal('10.0.0.2')]), node('c', [internal('10.0.0.3')])];
    const endpoints: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.88.1.5', nodeName: 'b' }], notReadyAddresses: [{ ip: '10.88.2.5', nodeName: 'c' }], ports: [{ port: 80 }] }],
    };
    expect(ips(service({ externalTrafficPolicy: 'Local' }), nodes, endpoints)).toEqual(['10.0.0.2']);
    expect(ips(service({ externalTrafficPolicy: 'Local' }), nodes, undefined)).toEqual([]);
    expect(ips(service({ externalTrafficPolicy: 'Cluster' }), nodes, endpoints)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('answers for LoadBalancer Services without a loadBalancerClass', () => {
    expect(isServiceLoadBalancer(service())).toBe(true);
    expect(isServiceLoadBalancer(service({ loadBalancerClass: 'example.com/metal' }))).toBe(false);
    expect(isServiceLoadBalancer(service({ type: 'NodePort' }))).toBe(false);
  });
});
