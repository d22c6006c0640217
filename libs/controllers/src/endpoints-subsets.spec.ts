import type { ContainerPort, Endpoints, Pod, Service, ServicePort } from '@berth/api';
import { endpointsLabels, endpointsToWrite, endpointSubsets, HEADLESS_SERVICE_LABEL, resolveTargetPort } from './endpoints-subsets';

interface PodShape {
  name: string;
  ip?: string;
  ips?: string[];
  ready?: boolean;
  labels?: Record<string, string>;
  node?: string;
  ports?: ContainerPort[];
  namespace?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  terminating?: boolean;
}

function pod({ name, ip, ips, ready = true, labels = { app: 'web' }, node = 'node-a', ports, namespace = 'ns', phase = 'Running', terminating }: PodShape): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: `uid-${name}`, labels, ...(terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: node, containers: [{ name: 'main', ...(ports ? { ports } : {}) }] },
    status: {
      phase,
      ...(ip ? { podIP: ip } : {}),
      ...(ips ? { podIPs: ips.map((i) => ({ ip: i })) } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

function service(ports: ServicePort[], spec: Service['spec'] = {}, labels?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'ns', ...(labels ? { labels } : {}) },
    spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports, ...spec },
  };
}

const http: ServicePort = { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' };
const address = (name: string, ip: string, node = 'node-a') => ({ ip, nodeName: node, targetRef: { kind: 'Pod', namespace: 'ns', name, uid: `uid-${name}` } });

describe('endpoint subsets', () => {
  it('splits ready and not-ready pods, sorted by IP, with the resolved port', () => {
    const pods = [pod({ name: 'c', ip: '10.88.0.10' }), pod({ name: 'a', ip: '10.88.0.9' }), pod({ name: 'b', ip: '10.88.1.2', ready: false, node: 'node-b' })];
    expect(endpointSubsets(service([http]), pods)).toEqual([
      {
        addresses: [address('a', '10.88.0.9'), address('c', '10.88.0.10')],
        notReadyAddresses: [address('b', '10.88.1.2', 'node-b')],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('leaves out pods without an IP or a node, finished, terminating, unselected or from another namespace', () => {
    const pods = [
      pod({ name: 'no-ip' }),
      pod({ name: 'unscheduled', ip: '10.88.0.2', node: '' }),
      pod({ name: 'done', ip: '10.88.0.3', phase: 'Succeeded' }),
      pod({ name: 'leaving', ip: '10.88.0.4', terminating: true }),
      pod({ name: 'other-app', ip: '10.88.0.5', labels: { app: 'db' } }),
      pod({ name: 'elsewhere', ip: '10.88.0.6', namespace: 'other' }),
      pod({ name: 'kept', ip: '10.88.0.7' }),
    ];
    const [subset] = endpointSubsets(service([http]), pods);
    expect(subset.addresses?.map((a) => a.targetRef?.name)).toEqual(['kept']);
    expect(subset.notReadyAddresses).toBeUndefined();
  });

  it('publishes not-ready and terminating pods as addresses when the service asks for it', () => {
    const pods = [pod({ name: 'a', ip: '10.88.0.2', ready: false }), pod({ name: 'b', ip: '10.88.0.3', terminating: true })];
    const [subset] = endpointSubsets(service([http], { publishNotReadyAddresses: true }), pods);
    expect(subset.addresses?.map((a) => a.targetRef?.name)).toEqual(['a', 'b']);
    expect(subset.notReadyAddresses).toBeUndefined();
  });

  it('resolves named target ports per pod and leaves out pods without that port', () => {
    const named: ServicePort = { name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' };
    const pods = [
      pod({ name: 'a', ip: '10.88.0.2', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod({ name: 'b', ip: '10.88.0.3', ports: [{ name: 'web', containerPort: 9090, protocol: 'TCP' }] }),
      pod({ name: 'c', ip: '10.88.0.4', ports: [{ name: 'other', containerPort: 8080 }] }),
      pod({ name: 'udp', ip: '10.88.0.5', ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }),
    ];
    expect(endpointSubsets(service([named]), pods)).toEqual([
      { addresses: [address('a', '10.88.0.2')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [address('b', '10.88.0.3')], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
    ]);
  });

  it('puts ports served by the same pods in one subset and the others apart, as RepackSubsets does', () => {
    const metrics: ServicePort = { name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' };
    const pods = [
      pod({ name: 'a', ip: '10.88.0.2', ports: [{ name: 'metrics', containerPort: 9100 }] }),
      pod({ name: 'b', ip: '10.88.0.3' }),
    ];
    expect(endpointSubsets(service([metrics, http]), pods)).toEqual([
      { addresses: [address('a', '10.88.0.2'), address('b', '10.88.0.3')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [address('a', '10.88.0.2')], ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] },
    ]);
    const both: ServicePort = { name: 'admin', port: 81, targetPort: 8081, protocol: 'TCP' };
    expect(endpointSubsets(service([http, both]), pods)).toEqual([
      {
        addresses: [address('a', '10.88.0.2'), address('b', '10.88.0.3')],
        ports: [
          { name: 'admin', port: 8081, protocol: 'TCP' },
          { name: 'http', port: 8080, protocol: 'TCP' },
        ],
      },
    ]);
  });

  it('gives the same value whatever order the pods come in', () => {
    const pods = [pod({ name: 'a', ip: '10.88.0.2' }), pod({ name: 'b', ip: '10.88.0.3', ready: false }), pod({ name: 'c', ip: '10.88.0.1' })];
    const svc = service([http, { name: 'admin', port: 81, protocol: 'TCP' }]);
    expect(endpointSubsets(svc, [...pods].reverse())).toEqual(endpointSubsets(svc, pods));
  });

  it('gives a headless service without ports one subset without ports, and a non-headless one nothing', () => {
    const pods = [pod({ name: 'a', ip: '10.88.0.2' })];
    expect(endpointSubsets(service([], { clusterIP: 'None' }), pods)).toEqual([{ addresses: [address('a', '10.88.0.2')] }]);
    expect(endpointSubsets(service([]), pods)).toEqual([]);
  });

  it('picks the pod address of the service IP family', () => {
    const dual = [pod({ name: 'a', ip: '10.88.0.2', ips: ['10.88.0.2', 'fd00::2'] })];
    const ipsOf = (svc: Service) => endpointSubsets(svc, dual).flatMap((s) => s.addresses ?? []).map((a) => a.ip);
    expect(ipsOf(service([http]))).toEqual(['10.88.0.2']);
    expect(ipsOf(service([http], { clusterIP: 'fd00:96::10' }))).toEqual(['fd00::2']);
    expect(ipsOf(service([http], { clusterIP: 'None', ipFamilies: ['IPv6'] }))).toEqual(['fd00::2']);
    // Headless without families: the pod's primary address decides.
    expect(ipsOf(service([http], { clusterIP: 'None' }))).toEqual(['10.88.0.2']);
  });

  it('sets the hostname of pods whose subdomain is the service', () => {
    const p = pod({ name: 'a', ip: '10.88.0.2' });
    p.spec = { ...p.spec!, hostname: 'db-0', subdomain: 'web' };
    expect(endpointSubsets(service([http]), [p])[0].addresses?.[0].hostname).toBe('db-0');
    p.spec.subdomain = 'elsewhere';
    expect(endpointSubsets(service([http]), [p])[0].addresses?.[0].hostname).toBeUndefined();
  });

  it('manages nothing for selector-less and ExternalName services', () => {
    const pods = [pod({ name: 'a', ip: '10.88.0.2' })];
    expect(endpointSubsets(service([http], { selector: undefined }), pods)).toEqual([]);
    expect(endpointSubsets(service([http], { selector: {} }), pods)).toEqual([]);
    expect(endpointSubsets(service([http], { type: 'ExternalName', externalName: 'example.com' }), pods)).toEqual([]);
  });
});

describe('target ports', () => {
  it('takes numbers as they are and defaults to the service port', () => {
    const p = pod({ name: 'a' });
    expect(resolveTargetPort(p, { port: 80, targetPort: 8080 })).toBe(8080);
    expect(resolveTargetPort(p, { port: 80 })).toBe(80);
  });

  it('finds named ports on sidecars too', () => {
    const p = pod({ name: 'a' });
    p.spec!.initContainers = [
      { name: 'setup', ports: [{ name: 'proxy', containerPort: 1000 }] },
      { name: 'sidecar', restartPolicy: 'Always', ports: [{ name: 'proxy', containerPort: 15001 }] },
    ];
    expect(resolveTargetPort(p, { port: 80, targetPort: 'proxy' })).toBe(15001);
  });
});

describe('endpoints labels and writes', () => {
  it('copies the service labels and marks exactly the headless ones', () => {
    expect(endpointsLabels(service([http], {}, { app: 'web' }))).toEqual({ app: 'web' });
    expect(endpointsLabels(service([http], { clusterIP: 'None' }, { app: 'web' }))).toEqual({ app: 'web', [HEADLESS_SERVICE_LABEL]: '' });
    expect(endpointsLabels(service([http], {}, { [HEADLESS_SERVICE_LABEL]: '' }))).toEqual({});
  });

  it('writes nothing when subsets and labels already match, and keeps what else the object has', () => {
    const svc = service([http], {}, { app: 'web' });
    const subsets = endpointSubsets(svc, [pod({ name: 'a', ip: '10.88.0.2' })]);
    const created = endpointsToWrite(svc, subsets, undefined)!;
    expect(created).toEqual({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' } }, subsets });
    const stored: Endpoints = { ...structuredClone(created), metadata: { ...created.metadata, resourceVersion: '7', annotations: { note: 'kept' } } };
    expect(endpointsToWrite(svc, structuredClone(subsets), stored)).toBeUndefined();

    const updated = endpointsToWrite(svc, [], stored)!;
    expect(updated.subsets).toBeUndefined();
    expect(updated.metadata).toMatchObject({ resourceVersion: '7', annotations: { note: 'kept' }, labels: { app: 'web' } });
    expect(endpointsToWrite({ ...svc, metadata: { ...svc.metadata, labels: { app: 'web', tier: 'front' } } }, subsets, stored)?.metadata.labels).toEqual({ app: 'web', tier: 'front' });
    expect(endpointsToWrite(svc, [], { ...stored, subsets: [] })).toBeUndefined();
  });
});
