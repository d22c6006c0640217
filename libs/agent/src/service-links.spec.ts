import type { Service } from '@berth/api';
import { serviceEnvironment } from './service-links';

const service = (namespace: string, name: string, clusterIP: string, ports: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP' }>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { clusterIP, ports },
});

const services = [
  service('shop', 'redis-primary', '10.43.0.11', [{ port: 6379 }]),
  service('shop', 'web', '10.43.0.12', [{ name: 'http', port: 80 }, { name: 'dns-udp', port: 53, protocol: 'UDP' }]),
  service('shop', 'headless', 'None', [{ port: 80 }]),
  service('other', 'elsewhere', '10.43.0.13', [{ port: 80 }]),
  service('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443 }]),
];

describe('serviceEnvironment', () => {
  it("gives the variables kubelet gives for the namespace's Services with a cluster IP, and the API server's", () => {
    expect(Object.fromEntries(serviceEnvironment(services, 'shop', true))).toEqual({
      KUBERNETES_SERVICE_HOST: '10.43.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://10.43.0.1:443',
      KUBERNETES_PORT_443_TCP: 'tcp://10.43.0.1:443',
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_443_TCP_PORT: '443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.43.0.1',
      REDIS_PRIMARY_SERVICE_HOST: '10.43.0.11',
      REDIS_PRIMARY_SERVICE_PORT: '6379',
      REDIS_PRIMARY_PORT: 'tcp://10.43.0.11:6379',
      REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.43.0.11:6379',
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.43.0.11',
      WEB_SERVICE_HOST: '10.43.0.12',
      WEB_SERVICE_PORT: '80',
      WEB_SERVICE_PORT_HTTP: '80',
      WEB_SERVICE_PORT_DNS_UDP: '53',
      WEB_PORT: 'tcp://10.43.0.12:80',
      WEB_PORT_80_TCP: 'tcp://10.43.0.12:80',
      WEB_PORT_80_TCP_PROTO: 'tcp',
      WEB_PORT_80_TCP_PORT: '80',
      WEB_PORT_80_TCP_ADDR: '10.43.0.12',
      WEB_PORT_53_UDP: 'udp://10.43.0.12:53',
      WEB_PORT_53_UDP_PROTO: 'udp',
      WEB_PORT_53_UDP_PORT: '53',
      WEB_PORT_53_UDP_ADDR: '10.43.0.12',
    });
  });

  it("gives only the API server's without enableServiceLinks", () => {
    expect([...serviceEnvironment(services, 'shop', false).keys()].every((name) => name.startsWith('KUBERNETES_'))).toBe(true);
  });
});
