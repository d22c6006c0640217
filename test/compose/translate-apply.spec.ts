// The objects translateProject makes pass the real apiserver's validation: kubectl apply --dry-run=server.
import { composeProject, composeService, DEPENDS_ON_GATE, translateProject, translateServices } from '@berth/compose';
import type { KubeObject } from '@berth/api';
import { kubectlFor, startBerthServer, type Kubectl, type TestServer } from '@berth/testing';

let server: TestServer;
let kubectl: Kubectl;

beforeAll(async () => {
  server = await startBerthServer();
  kubectl = kubectlFor(server);
});

afterAll(async () => {
  kubectl?.cleanup();
  await server?.cleanup();
});

/**
 * A three-service app and its migration: a built web front end that waits for the database to be healthy and the
 * migration to complete, a worker, a database with a named volume, a healthcheck, a config and a secret.
 */
function threeServices() {
  return composeProject(
    'shop',
    [
      composeService('web', {
        image: undefined,
        build: { context: '/tmp/shop/web', dockerfile: 'Dockerfile', args: {}, labels: {}, tags: [] },
        ports: [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }, { target: 9090, published: 19090, protocol: 'tcp', mode: 'host' }],
        environment: { DB_HOST: 'db', EMPTY: null },
        depends_on: {
          db: { condition: 'service_healthy', required: true, restart: false },
          migrate: { condition: 'service_completed_successfully', required: true, restart: false },
        },
        labels: { tier: 'front', 'com.example.description': 'the shop, as served' },
        deploy: {
          labels: {},
          replicas: 2,
          resources: { limits: { cpus: '0.5', memory: 128 * 1024 * 1024 } },
          update_config: { parallelism: 1, order: 'start-first', delay: '5s', monitor: '30s', failure_action: 'rollback' },
          placement: { constraints: ['node.platform.os==linux'], preferences: [] },
        },
        configs: [{ source: 'site_conf', target: '/etc/site.conf' }],
      }),
      composeService('worker', {
        command: ['sh', '-c', 'while true; do sleep 5; done'],
        user: '1000:1000',
        read_only: true,
        cap_drop: ['ALL'],
        tmpfs: ['/tmp:size=16m'],
        stop_grace_period: '20s',
        deploy: { labels: {}, mode: 'global' },
      }),
      composeService('db', {
        expose: ['5432'],
        volumes: [{ type: 'volume', source: 'db_data', target: '/var/lib/db' }],
        healthcheck: { test: ['CMD-SHELL', 'test -f /var/lib/db/ready'], interval: '2s', timeout: '1s', retries: 5, start_period: '10s' },
        secrets: [{ source: 'db_password' }],
      }),
      composeService('migrate', { restart: 'no', command: ['true'] }),
    ],
    {
      volumes: { db_data: { name: 'shop_db_data', driver_opts: {}, labels: {} } },
      configs: { site_conf: { name: 'shop_site_conf', content: 'listen 80\n', labels: {} } },
      secrets: { db_password: { name: 'shop_db_password', environment: 'DB_PASSWORD', labels: {} } },
    },
  );
}

it("passes the apiserver's validation, every kind of object the translation makes", async () => {
  const objects = translateProject(threeServices(), { images: { web: '127.0.0.1:5000/shop-web:latest' }, env: { DB_PASSWORD: 'secret' } });
  expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(['Namespace', 'ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Service', 'Deployment', 'DaemonSet', 'Job']));
  const [namespace, ...rest] = objects;
  const web = rest.find((o) => o.kind === 'Deployment' && o.metadata.name === 'web') as KubeObject & { spec: { template: { spec: { schedulingGates?: unknown } } } };
  expect(web.spec.template.spec.schedulingGates).toEqual([{ name: DEPENDS_ON_GATE }]);
  // A dry run does not create the namespace; the rest needs it to exist.
  await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(namespace) });
  const out = await kubectl.ok(['apply', '--dry-run=server', '-f', '-'], { input: rest.map((o) => JSON.stringify(o)).join('\n') });
  for (const object of rest) expect(out).toContain(`${object.metadata.name} created (server dry run)`);
  expect(out.trim().split('\n')).toHaveLength(rest.length);
});

it("passes validation with scoped networks, the node's network, extra hosts and DNS settings", async () => {
  const project = composeProject(
    'nets',
    [
      composeService('front', { expose: ['80'], networks: { edge: { aliases: ['www'] } }, extra_hosts: [{ host: 'legacy', ip: '10.1.2.3' }], dns: ['9.9.9.9'], dns_search: ['corp.example'] }),
      composeService('api', { expose: ['8080'], networks: { edge: { aliases: [] }, inner: { aliases: ['backend'] } } }),
      composeService('store', { expose: ['6379'], networks: { inner: { aliases: [] } } }),
      composeService('probe', { network_mode: 'host', networks: {}, ports: [{ target: 9100, protocol: 'tcp', mode: 'host', published: 9100 }] }),
    ],
    { networks: { edge: { name: 'nets_edge', labels: {} }, inner: { name: 'nets_inner', labels: {} } } },
  );
  const [namespace, ...services] = translateServices(project) as Array<KubeObject & { spec?: { clusterIP?: string } }>;
  await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(namespace) });
  // The Services for real, so that the pods' hostAliases name the ClusterIPs they were given.
  await kubectl.ok(['apply', '-f', '-'], { input: services.map((o) => JSON.stringify(o)).join('\n') });
  const serviceIPs: Record<string, string> = {};
  for (const service of services) {
    const live = JSON.parse(await kubectl.ok(['get', 'service', '-n', 'nets', service.metadata.name!, '-o', 'json'])) as { spec: { clusterIP: string } };
    serviceIPs[service.metadata.name!] = live.spec.clusterIP;
  }
  const workloads = translateProject(project, { serviceIPs }).filter((o) => o.kind === 'Deployment');
  const front = workloads.find((o) => o.metadata.name === 'front') as KubeObject & { spec: { template: { spec: { hostAliases: unknown[]; dnsPolicy: string } } } };
  expect(front.spec.template.spec.dnsPolicy).toBe('None');
  expect(front.spec.template.spec.hostAliases).toContainEqual({ ip: serviceIPs.api, hostnames: ['api', 'api.nets'] });
  const out = await kubectl.ok(['apply', '--dry-run=server', '-f', '-'], { input: workloads.map((o) => JSON.stringify(o)).join('\n') });
  expect(out.trim().split('\n').sort()).toEqual(['api', 'front', 'probe', 'store'].map((name) => `deployment.apps/${name} created (server dry run)`));
});
