import type { Deployment, Pod } from '@berth/api';
import { exposeService } from './expose';

const deployment: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox', ports: [{ containerPort: 8080 }] }] } },
  },
};

describe('berth expose', () => {
  it('selects the deployment\'s pods and targets its first container port, as kubectl expose does', () => {
    expect(exposeService(deployment, { port: 80 })).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
  });

  it('takes a type, a node port, a named target port, affinity and a name', () => {
    const service = exposeService(deployment, { port: 80, targetPort: 'http', type: 'NodePort', nodePort: 30080, sessionAffinity: 'ClientIP', name: 'front', protocol: 'udp' });
    expect(service.metadata.name).toBe('front');
    expect(service.spec).toMatchObject({ type: 'NodePort', sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 'http', nodePort: 30080, protocol: 'UDP' }] });
  });

  it('makes a LoadBalancer Service, with a node port if asked', () => {
    expect(exposeService(deployment, { port: 80, type: 'LoadBalancer' }).spec).toMatchObject({ type: 'LoadBalancer', ports: [{ port: 80, targetPort: 8080 }] });
    expect(exposeService(deployment, { port: 80, type: 'LoadBalancer', nodePort: 30080 }).spec?.ports).toEqual([{ port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }]);
  });

  it('exposes a pod by its labels, on its container port by default', () => {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { run: 'p' } }, spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 53 }] }] } };
    expect(exposeService(pod, {}).spec).toMatchObject({ selector: { run: 'p' }, ports: [{ port: 53, targetPort: 53 }] });
  });

  it('refuses what cannot be exposed, in one line', () => {
    const bare: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect(() => exposeService(bare, { port: 80 })).toThrow('has no labels');
    expect(() => exposeService({ ...bare, metadata: { name: 'p', labels: { a: 'b' } } }, {})).toThrow("couldn't find port");
    expect(() => exposeService(deployment, { port: 80, type: 'ExternalName' })).toThrow('use ClusterIP, NodePort, LoadBalancer');
    expect(() => exposeService(deployment, { port: 80, nodePort: 30080 })).toThrow('--node-port needs --type NodePort or LoadBalancer');
    expect(() => exposeService(deployment, { port: 80, sessionAffinity: 'Sticky' })).toThrow('use None or ClientIP');
  });
});
