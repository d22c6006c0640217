import type { ConfigMap, DaemonSet, Deployment, Job, KubeObject, PersistentVolumeClaim, PodSpec, Secret, Service } from '@berth/api';
import { expandVars } from '@berth/agent';
import { isBerthError } from '@berth/errors';
import { imageNameOf, projectBuilds } from './builds';
import type { ComposeProject, ServiceConfig } from './model';
import { PROJECT_LABEL, SERVICE_LABEL } from './model';
import { composeProject, composeService } from './testing';
import { DEPENDS_ON_ANNOTATION, DEPENDS_ON_GATE } from './dependencies';
import { translateProject, translateServices, type TranslateOptions } from './translate';

const find = <T extends KubeObject>(objects: KubeObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found as T;
};
const podOf = (workload: KubeObject) => (workload as Deployment).spec!.template.spec!;
const one = (service: ServiceConfig, options?: TranslateOptions, fields?: Partial<ComposeProject>) => translateProject(composeProject('app', [service], fields), options);
const deploymentOf = (service: ServiceConfig, options?: TranslateOptions, fields?: Partial<ComposeProject>) =>
  find<Deployment>(one(service, options, fields), 'Deployment', service.name);
/** The refusal's message, or a failure when the project translated. */
const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    if (isBerthError(err, 'BadRequest')) return err.message;
    throw err;
  }
  throw new Error('translated without a refusal');
};

describe('translateProject', () => {
  const web = composeService('web', { ports: [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }], depends_on: { db: { condition: 'service_healthy', required: true, restart: false } } });
  const worker = composeService('worker', { command: ['sh', '-c', 'sleep 1d'] });
  const db = composeService('db', {
    volumes: [{ type: 'volume', source: 'db_data', target: '/var/lib/db' }],
    healthcheck: { test: ['CMD-SHELL', 'test -f /var/lib/db/ready'], interval: '2s', retries: 5 },
  });
  const project = composeProject('shop', [web, worker, db], { volumes: { db_data: { name: 'shop_db_data', driver_opts: {}, labels: {} } } });

  it('makes the namespace first, then claims, Services and workloads, all in the namespace and labelled', () => {
    const objects = translateProject(project);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/shop',
      'PersistentVolumeClaim/db-data',
      'Service/db',
      'Service/web',
      'Service/web-published',
      'Service/worker',
      'Deployment/db',
      'Deployment/web',
      'Deployment/worker',
    ]);
    for (const object of objects) {
      expect(object.metadata.labels?.[PROJECT_LABEL]).toBe('shop');
      if (object.kind !== 'Namespace') expect(object.metadata.namespace).toBe('shop');
    }
    for (const name of ['db', 'web', 'worker']) {
      const deployment = find<Deployment>(objects, 'Deployment', name);
      const labels = { [PROJECT_LABEL]: 'shop', [SERVICE_LABEL]: name };
      expect(deployment.metadata.labels).toEqual(labels);
      expect(deployment.spec!.selector).toEqual({ matchLabels: labels });
      expect(deployment.spec!.template.metadata!.labels).toEqual(labels);
      expect(deployment.spec!.replicas).toBe(1);
      expect(find<Service>(objects, 'Service', name).spec!.selector).toEqual(labels);
    }
  });

  it('leaves the project as it was, and gives equal objects for equal projects', () => {
    const before = structuredClone(project);
    const objects = translateProject(project);
    expect(project).toEqual(before);
    (podOf(find(objects, 'Deployment', 'worker')).containers[0].args as string[]).push('changed');
    expect(translateProject(project)).toEqual(translateProject(before));
    expect(project.services.worker.command).toEqual(['sh', '-c', 'sleep 1d']);
  });

  it('maps ports: the target behind the service name, published ports on every node, host ports on the pod', () => {
    const objects = translateProject(project);
    expect(find<Service>(objects, 'Service', 'web').spec).toEqual({ type: 'ClusterIP', selector: expect.any(Object), ports: [{ name: 'tcp-80', protocol: 'TCP', port: 80, targetPort: 80 }] });
    expect(find<Service>(objects, 'Service', 'web-published').spec).toMatchObject({ type: 'LoadBalancer', ports: [{ name: 'tcp-8080', protocol: 'TCP', port: 8080, targetPort: 80 }] });
    // No ports: headless, so `worker` resolves to its pods and every port is reachable as on a compose network.
    expect(find<Service>(objects, 'Service', 'worker').spec).toEqual({ clusterIP: 'None', selector: expect.any(Object) });

    const nodePort = one(composeService('api', { ports: [{ target: 9000, protocol: 'udp', mode: 'ingress' }], expose: ['7000-7001'] }));
    expect(find<Service>(nodePort, 'Service', 'api-published').spec).toMatchObject({ type: 'NodePort', ports: [{ port: 9000, targetPort: 9000, protocol: 'UDP' }] });
    expect(find<Service>(nodePort, 'Service', 'api').spec!.ports!.map((p) => p.name)).toEqual(['udp-9000', 'tcp-7000', 'tcp-7001']);

    const host = deploymentOf(composeService('edge', { ports: [{ target: 80, published: 8081, protocol: 'tcp', mode: 'host' }] }));
    expect(podOf(host).containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP', hostPort: 8081 }]);
    // A port bound to one address (the voting app's debugger, 127.0.0.1:9229:9229) is on that address of the pod's node only.
    const bound = one(composeService('result', { ports: [{ target: 80, published: 8081, protocol: 'tcp', mode: 'ingress' }, { target: 9229, published: 9229, host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' }] }));
    expect(podOf(find(bound, 'Deployment', 'result')).containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9229, protocol: 'TCP', hostPort: 9229, hostIP: '127.0.0.1' }]);
    expect(find<Service>(bound, 'Service', 'result-published').spec!.ports).toEqual([{ name: 'tcp-8081', protocol: 'TCP', port: 8081, targetPort: 80 }]);
    expect(refusal(() => one(composeService('edge', { ports: [{ target: 80, host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' }] })))).toContain('service "edge": ports: target 80 on 127.0.0.1 needs a published port');
    const dnsrr = one(composeService('edge', { expose: ['80'], deploy: { labels: {}, endpoint_mode: 'dnsrr' } }));
    expect(find<Service>(dnsrr, 'Service', 'edge').spec!.clusterIP).toBe('None');
    expect(refusal(() => one(composeService('edge', { ports: [{ target: 80, protocol: 'tcp', mode: 'host' }] })))).toContain('service "edge": ports: target 80 in mode host needs a published port');
    const twice = composeProject('app', [composeService('a', { ports: [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }] }), composeService('b', { ports: [{ target: 81, published: 8080, protocol: 'tcp', mode: 'ingress' }] })]);
    expect(refusal(() => translateProject(twice))).toContain('service "b": ports: 8080/TCP is published by a too');
  });

  it('gates pods of a service with dependencies, naming each and its condition', () => {
    const pod = podOf(find(translateProject(project), 'Deployment', 'web'));
    expect(pod.schedulingGates).toEqual([{ name: DEPENDS_ON_GATE }]);
    const template = find<Deployment>(translateProject(project), 'Deployment', 'web').spec!.template;
    expect(JSON.parse(template.metadata!.annotations![DEPENDS_ON_ANNOTATION])).toEqual({ db: 'service_healthy' });
    expect(podOf(find(translateProject(project), 'Deployment', 'db')).schedulingGates).toBeUndefined();

    const optional = composeService('web', { depends_on: { cache: { condition: 'service_started', required: false, restart: false } } });
    expect(podOf(deploymentOf(optional)).schedulingGates).toBeUndefined();
    const missing = composeService('web', { depends_on: { cache: { condition: 'service_started', required: true, restart: false } } });
    expect(refusal(() => one(missing))).toContain('service "web": depends_on.cache: cache is not a service of the project');
    const unhealthy = composeProject('app', [composeService('web', { depends_on: { db: { condition: 'service_healthy', required: true, restart: false } } }), composeService('db')]);
    expect(refusal(() => translateProject(unhealthy))).toContain('depends_on.db.condition: service_healthy, but db has no healthcheck');
    const migrate = composeService('migrate', { restart: 'no' });
    const after = composeProject('app', [composeService('web', { depends_on: { migrate: { condition: 'service_completed_successfully', required: true, restart: false } } }), migrate]);
    expect(find<Job>(translateProject(after), 'Job', 'migrate').spec!.template.spec!.restartPolicy).toBe('Never');
  });

  it('makes Deployments, DaemonSets and Jobs by deploy.mode and restart', () => {
    expect(deploymentOf(composeService('web', { deploy: { labels: {}, replicas: 3 } })).spec!.replicas).toBe(3);
    const global = find<DaemonSet>(one(composeService('agent', { deploy: { labels: {}, mode: 'global' } })), 'DaemonSet', 'agent');
    expect(global.spec!.template.spec!.restartPolicy).toBe('Always');
    const job = find<Job>(one(composeService('batch', { deploy: { labels: {}, mode: 'replicated-job', replicas: 4, restart_policy: { condition: 'on-failure', max_attempts: 2 } } })), 'Job', 'batch');
    expect(job.spec).toMatchObject({ completions: 4, parallelism: 4, backoffLimit: 2, template: { spec: { restartPolicy: 'OnFailure' } } });
    expect(job.spec!.selector).toBeUndefined();
    expect(refusal(() => one(composeService('once', { deploy: { labels: {}, mode: 'replicated', restart_policy: { condition: 'none' } } })))).toContain(
      'service "once": deploy.restart_policy.condition: a replicated service is restarted always',
    );
    expect(refusal(() => one(composeService('all', { deploy: { labels: {}, mode: 'global-job' } })))).toContain('service "all": deploy.mode: global-job');
  });

  it("maps the process: Docker's entrypoint is the command, its command the args", () => {
    const container = podOf(
      deploymentOf(
        composeService('web', {
          entrypoint: ['/entry'],
          command: ['serve', '--port', '80'],
          environment: { A: '1', FROM_SHELL: null },
          working_dir: '/srv',
          user: '1000:100',
          read_only: true,
          cap_add: ['CAP_NET_ADMIN'],
          cap_drop: ['ALL'],
          tty: true,
          stdin_open: true,
          deploy: { labels: {}, resources: { limits: { cpus: '0.5', memory: 268435456 }, reservations: { cpus: '0.25', memory: 67108864 } } },
        }),
      ),
    ).containers[0];
    expect(container).toMatchObject({
      name: 'web',
      command: ['/entry'],
      args: ['serve', '--port', '80'],
      env: [{ name: 'A', value: '1' }],
      workingDir: '/srv',
      tty: true,
      stdin: true,
      securityContext: { runAsUser: 1000, runAsGroup: 100, readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
      resources: { limits: { cpu: '0.5', memory: '268435456' }, requests: { cpu: '0.25', memory: '67108864' } },
    });
    const dollars = podOf(deploymentOf(composeService('web', { command: ['echo', '$(date) $$ $HOME'], environment: { A: '$(B)', B: 'x' } }))).containers[0];
    // The agent's expansion (Kubernetes') gives back what compose wrote, even where the names are defined.
    const vars = new Map([['date', 'now'], ['B', 'x'], ['HOME', '/root']]);
    expect(dollars.args!.map((arg) => expandVars(arg, vars))).toEqual(['echo', '$(date) $$ $HOME']);
    expect(dollars.env!.map((e) => expandVars(e.value!, vars))).toEqual(['$(B)', 'x']);
    expect(podOf(deploymentOf(composeService('web', { stop_signal: 'SIGTERM', stop_grace_period: '1m30s' }))).terminationGracePeriodSeconds).toBe(90);
  });

  it('maps stop_signal onto lifecycle.stopSignal (a pod naming its OS), init and a user name onto the pod annotations', () => {
    const workload = deploymentOf(composeService('db', { stop_signal: 'quit', init: true, user: 'postgres:staff' })) as Deployment;
    const template = workload.spec!.template;
    expect(template.spec!.os).toEqual({ name: 'linux' });
    expect(template.spec!.containers[0]!.lifecycle).toEqual({ stopSignal: 'SIGQUIT' });
    expect(template.spec!.containers[0]!.securityContext).toBeUndefined();
    expect(template.metadata!.annotations).toEqual({ 'init.berth.dev/db': 'true', 'user.berth.dev/db': 'postgres:staff' });
    const named = (stop_signal: string) => podOf(deploymentOf(composeService('web', { stop_signal }))).containers[0]!.lifecycle?.stopSignal;
    expect([named('3'), named('SIGRTMIN+2'), named('36'), named('63'), named('SIGUSR1')]).toEqual(['SIGQUIT', 'SIGRTMIN+2', 'SIGRTMIN+2', 'SIGRTMAX-1', 'SIGUSR1']);
    expect(refusal(() => one(composeService('web', { stop_signal: 'SIGNOPE' })))).toContain('service "web": stop_signal: "SIGNOPE" is not a signal');
    expect(refusal(() => one(composeService('web', { stop_signal: '99' })))).toContain('service "web": stop_signal: "99" is not a signal');
    expect(refusal(() => one(composeService('web', { user: 'bad user' })))).toContain('service "web": user: "bad user": must be NAME or NAME:GROUP');
    // A numeric user stays in the securityContext; init: false and no user add nothing.
    const plain = deploymentOf(composeService('web', { init: false, user: '70:70' })) as Deployment;
    expect(plain.spec!.template.metadata!.annotations).toBeUndefined();
    expect(plain.spec!.template.spec!.containers[0]!.securityContext).toEqual({ runAsUser: 70, runAsGroup: 70 });
    // container_name names the container, and so the annotations.
    const renamed = deploymentOf(composeService('web', { container_name: 'front', init: true })) as Deployment;
    expect(renamed.spec!.template.metadata!.annotations).toEqual({ 'init.berth.dev/front': 'true' });
  });

  it('maps a healthcheck onto readiness and liveness, and start_period onto a startup probe', () => {
    const container = podOf(
      deploymentOf(composeService('db', { healthcheck: { test: ['CMD', 'pg_isready', '-q'], interval: '10s', timeout: '3s', retries: 4, start_period: '30s', start_interval: '2s' } })),
    ).containers[0];
    const probe = { exec: { command: ['pg_isready', '-q'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 4, successThreshold: 1 };
    expect(container.readinessProbe).toEqual(probe);
    expect(container.livenessProbe).toEqual(probe);
    expect(container.startupProbe).toEqual({ ...probe, periodSeconds: 2, failureThreshold: 15 + 4 });
    const shell = podOf(deploymentOf(composeService('db', { healthcheck: { test: ['CMD-SHELL', 'pg_isready || exit 1'] } }))).containers[0];
    expect(shell.readinessProbe).toEqual({ exec: { command: ['/bin/sh', '-c', 'pg_isready || exit 1'] }, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3, successThreshold: 1 });
    expect(shell.startupProbe).toBeUndefined();
    for (const healthcheck of [{ test: ['NONE'] }, { test: ['CMD', 'true'], disable: true }]) {
      const none = podOf(deploymentOf(composeService('db', { healthcheck }))).containers[0];
      expect(none.readinessProbe).toBeUndefined();
      expect(none.livenessProbe).toBeUndefined();
    }
  });

  it('maps volumes: named onto claims, anonymous and tmpfs onto emptyDirs, binds onto host paths where allowed', () => {
    const service = composeService('db', {
      volumes: [
        { type: 'volume', source: 'db_data', target: '/data', volume: { subpath: 'pg' } },
        { type: 'volume', target: '/scratch' },
        { type: 'bind', source: '/srv/app/conf', target: '/conf', read_only: true, bind: { create_host_path: true } },
        { type: 'tmpfs', target: '/cache', tmpfs: { size: 1048576 } },
        { type: 'volume', source: 'shared', target: '/shared' },
      ],
      tmpfs: ['/run:size=64m'],
    });
    const volumes = { db_data: { name: 'app_db_data', driver_opts: {}, labels: { tier: 'data' } }, shared: { name: 'existing-claim', external: true, driver_opts: {}, labels: {} } };
    const objects = one(service, {}, { volumes });
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'db-data', namespace: 'app', labels: { tier: 'data', [PROJECT_LABEL]: 'app' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ]);
    const pod: PodSpec = podOf(find(objects, 'Deployment', 'db'));
    expect(pod.volumes).toEqual([
      { name: 'volume-0', persistentVolumeClaim: { claimName: 'db-data' } },
      { name: 'volume-1', emptyDir: {} },
      { name: 'volume-2', hostPath: { path: '/srv/app/conf', type: 'DirectoryOrCreate' } },
      { name: 'volume-3', emptyDir: { medium: 'Memory', sizeLimit: '1048576' } },
      { name: 'volume-4', persistentVolumeClaim: { claimName: 'existing-claim' } },
      { name: 'tmpfs-0', emptyDir: { medium: 'Memory', sizeLimit: String(64 * 1024 * 1024) } },
    ]);
    const custom = one(service, {}, { volumes: { ...volumes, db_data: { ...volumes.db_data, name: 'Shared_Data' } } });
    expect(custom.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name)).toEqual(['shared-data']);
    expect(pod.containers[0].volumeMounts).toEqual([
      { name: 'volume-0', mountPath: '/data', subPath: 'pg' },
      { name: 'volume-1', mountPath: '/scratch' },
      { name: 'volume-2', mountPath: '/conf', readOnly: true },
      { name: 'volume-3', mountPath: '/cache' },
      { name: 'volume-4', mountPath: '/shared' },
      { name: 'tmpfs-0', mountPath: '/run' },
    ]);
    const kinds = podOf(find(one(service, { bindKinds: { '/srv/app/conf': 'file' } }, { volumes }), 'Deployment', 'db')).volumes!;
    expect(kinds[2]).toEqual({ name: 'volume-2', hostPath: { path: '/srv/app/conf', type: 'File' } });
    for (const source of ['/', '/var', '/run', '/proc/1', '/var/lib/berth/x', '/var/run/docker.sock', '/sys/../sys/fs', '/run/containerd/containerd.sock', 'relative']) {
      const bind = composeService('x', { volumes: [{ type: 'bind', source, target: '/host' }] });
      expect(refusal(() => one(bind))).toContain('service "x": volumes:');
    }
  });

  it('makes configs and secrets from their content, mounted as single files where compose mounts them', () => {
    const service = composeService('web', {
      configs: [{ source: 'nginx_conf', target: '/etc/nginx/nginx.conf' }, { source: 'motd' }],
      secrets: [{ source: 'db_password', mode: 0o400 }, { source: 'api_key', target: 'key' }],
    });
    const fields = {
      configs: { nginx_conf: { name: 'app_nginx_conf', file: '/tmp/compose/nginx.conf', labels: {} }, motd: { name: 'app_motd', content: 'hello', labels: {} } },
      secrets: { db_password: { name: 'app_db_password', environment: 'DB_PASSWORD', labels: {} }, api_key: { name: 'api-key', external: true, labels: {} } },
    };
    const objects = one(service, { files: { '/tmp/compose/nginx.conf': Buffer.from('events {}\n') }, env: { DB_PASSWORD: 's3cret' } }, fields);
    expect(find<ConfigMap>(objects, 'ConfigMap', 'nginx-conf').data).toEqual({ content: 'events {}\n' });
    expect(find<ConfigMap>(objects, 'ConfigMap', 'motd').data).toEqual({ content: 'hello' });
    expect(find<Secret>(objects, 'Secret', 'db-password').data).toEqual({ content: Buffer.from('s3cret').toString('base64') });
    expect(objects.some((o) => o.metadata.name === 'api-key')).toBe(false);
    const pod = podOf(find(objects, 'Deployment', 'web'));
    expect(pod.volumes).toEqual([
      { name: 'config-0', configMap: { name: 'nginx-conf', items: [{ key: 'content', path: 'content', mode: 0o444 }] } },
      { name: 'config-1', configMap: { name: 'motd', items: [{ key: 'content', path: 'content', mode: 0o444 }] } },
      { name: 'secret-0', secret: { secretName: 'db-password', items: [{ key: 'content', path: 'content', mode: 0o400 }] } },
      { name: 'secret-1', secret: { secretName: 'api-key', items: [{ key: 'content', path: 'content', mode: 0o444 }] } },
    ]);
    expect(pod.containers[0].volumeMounts!.map((m) => m.mountPath)).toEqual(['/etc/nginx/nginx.conf', '/motd', '/run/secrets/db_password', '/run/secrets/key']);
    expect(pod.containers[0].volumeMounts!.every((m) => m.subPath === 'content' && m.readOnly)).toBe(true);
    const unread = refusal(() => one(service, { env: { DB_PASSWORD: 'x' } }, fields));
    expect(unread).toContain('configs.nginx_conf: file: /tmp/compose/nginx.conf was not read');
    expect(refusal(() => one(service, { files: { '/tmp/compose/nginx.conf': Buffer.alloc(1) } }, fields))).toContain('secrets.db_password: environment: the variable DB_PASSWORD is not set');
  });

  it('scopes names per network when the project has several: only the services sharing one resolve', () => {
    const networks = { front: { name: 'app_front', labels: {} }, back: { name: 'app_back', labels: {} } };
    const services = [
      composeService('web', { expose: ['80'], networks: { front: { aliases: [] } } }),
      composeService('api', { expose: ['8080'], networks: { front: { aliases: ['backend'] }, back: { aliases: [] } } }),
      composeService('db', { expose: ['5432'], networks: { back: { aliases: ['database'] } } }),
    ];
    const scoped = composeProject('app', services, { networks });
    const serviceIPs = { web: '10.96.0.10', api: '10.96.0.11', db: '10.96.0.12' };
    const objects = translateProject(scoped, { serviceIPs, clusterDNS: '10.96.0.53' });
    const web = podOf(find(objects, 'Deployment', 'web'));
    expect(web.dnsPolicy).toBe('None');
    expect(web.dnsConfig).toEqual({ nameservers: ['10.96.0.53'] });
    expect(web.hostAliases).toEqual([
      { ip: '10.96.0.11', hostnames: ['api', 'api.app', 'backend'] },
      { ip: '10.96.0.10', hostnames: ['web', 'web.app'] },
    ]);
    const api = podOf(find(objects, 'Deployment', 'api'));
    expect(api.hostAliases!.flatMap((a) => a.hostnames)).toEqual(['api', 'api.app', 'backend', 'db', 'db.app', 'database', 'web', 'web.app']);
    expect(translateServices(scoped).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/app', 'Service/api', 'Service/db', 'Service/web']);
    expect(refusal(() => translateProject(scoped))).toContain('service "web": networks: api is in scope but its ClusterIP is not known');
    // A headless service in scope (the voting app's redis: no ports) is left to the cluster DNS's short names; its aliases cannot be.
    const withHeadless = (aliases: string[]) => composeProject('app', [...services.slice(0, 2), composeService('db', { networks: { back: { aliases } } })], { networks });
    const headless = translateProject(withHeadless([]), { serviceIPs: { ...serviceIPs, db: 'None' }, clusterDNS: '10.96.0.53' });
    expect(podOf(find(headless, 'Deployment', 'api')).hostAliases!.flatMap((a) => a.hostnames)).toEqual(['api', 'api.app', 'backend', 'web', 'web.app']);
    expect(refusal(() => translateProject(withHeadless(['database']), { serviceIPs: { ...serviceIPs, db: 'None' } }))).toContain(
      "service \"api\": networks: db's aliases (database) need an address: it names no ports",
    );

    // One network: aliases are Services of their own, and the cluster DNS resolves everything.
    const single = one(composeService('db', { expose: ['5432'], networks: { default: { aliases: ['database'] } } }));
    expect(find<Service>(single, 'Service', 'database').spec!.selector).toEqual({ [PROJECT_LABEL]: 'app', [SERVICE_LABEL]: 'db' });
    expect(podOf(find(single, 'Deployment', 'db')).dnsPolicy).toBeUndefined();
  });

  it('maps extra_hosts, dns, network_mode host, labels and placement', () => {
    const pod = podOf(
      deploymentOf(
        composeService('web', {
          extra_hosts: [{ host: 'a', ip: '10.0.0.1' }, { host: 'b', ip: '10.0.0.1' }],
          dns: ['1.1.1.1'],
          dns_search: ['example.com'],
          network_mode: 'host',
          deploy: { labels: {}, placement: { constraints: ['node.hostname==n1', 'node.labels.disk != hdd', 'node.platform.arch==x86_64'], preferences: [{ spread: 'node.hostname' }] } },
        }),
      ),
    );
    expect(pod).toMatchObject({
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['a', 'b'] }],
      dnsConfig: { nameservers: ['1.1.1.1'], searches: ['example.com'] },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] },
                  { key: 'disk', operator: 'NotIn', values: ['hdd'] },
                  { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
                ],
              },
            ],
          },
        },
      },
    });
    expect(refusal(() => one(composeService('web', { deploy: { labels: {}, placement: { constraints: ['node.role==manager'], preferences: [] } } })))).toContain('node.role');
    expect(refusal(() => one(composeService('web', { extra_hosts: [{ host: 'bad_name', ip: '10.0.0.1' }] })))).toContain('service "web": extra_hosts: "bad_name" cannot be a host name');
    const labelled = deploymentOf(composeService('web', { labels: { tier: 'front', 'com.example.description': 'The web front end' }, deploy: { labels: { team: 'a' } } }));
    expect(labelled.spec!.template.metadata).toEqual({ labels: { tier: 'front', [PROJECT_LABEL]: 'app', [SERVICE_LABEL]: 'web' }, annotations: { 'com.example.description': 'The web front end' } });
    expect(labelled.metadata.labels).toEqual({ team: 'a', [PROJECT_LABEL]: 'app', [SERVICE_LABEL]: 'web' });
    expect(refusal(() => one(composeService('web', { labels: { [PROJECT_LABEL]: 'other' } })))).toContain(`service "web": labels.${PROJECT_LABEL}: compose sets this label itself`);
  });

  it('maps update_config onto the rolling update', () => {
    // Without one, Swarm's default: one at a time, stop-first (a new pod never waits for its predecessor's host port).
    expect(deploymentOf(composeService('web')).spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    const stopFirst = deploymentOf(composeService('web', { deploy: { labels: {}, update_config: { parallelism: 2, delay: '10s', monitor: '1m', failure_action: 'rollback' } } }));
    expect(stopFirst.spec).toMatchObject({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 2 } }, minReadySeconds: 10, progressDeadlineSeconds: 60 });
    expect(stopFirst.metadata.annotations).toEqual({ 'compose.berth.dev/update-failure-action': 'rollback' });
    const startFirst = deploymentOf(composeService('web', { deploy: { labels: {}, update_config: { parallelism: 0, order: 'start-first' } } }));
    expect(startFirst.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } });
    expect(refusal(() => one(composeService('web', { deploy: { labels: {}, update_config: { parallelism: 1 }, rollback_config: { parallelism: 3 } } })))).toContain(
      'deploy.rollback_config.parallelism',
    );
  });

  it('runs the built image, and refuses a built service that was not built yet', () => {
    const built = composeService('web', { image: undefined, build: { context: '/tmp/compose/web', dockerfile: 'Dockerfile', args: { V: '1' }, labels: {}, tags: [] } });
    const images = { web: '127.0.0.1:5000/shop-web@sha256:' + 'a'.repeat(64) };
    expect(podOf(deploymentOf(built, { images })).containers[0].image).toBe(images.web);
    expect(refusal(() => one(built))).toContain('service "web": build: the image is not built yet');
    expect(imageNameOf({ name: 'shop' }, 'web')).toBe('shop-web');
    expect(projectBuilds(composeProject('shop', [built, composeService('db')]))).toEqual([
      { service: 'web', image: 'shop-web', context: '/tmp/compose/web', dockerfile: 'Dockerfile', args: { V: '1' }, labels: {}, tags: [] },
    ]);
  });

  it('makes workloads for the services named only, and the same pods for them whichever are named', () => {
    const networks = { front: { name: 'app_front', labels: {} }, back: { name: 'app_back', labels: {} } };
    const built = { context: '/tmp/compose/web', dockerfile: 'Dockerfile', args: {}, labels: {}, tags: [] };
    const scoped = composeProject('app', [
      composeService('web', { image: undefined, build: built, expose: ['80'], networks: { front: { aliases: [] } } }),
      composeService('api', { expose: ['8080'], networks: { front: { aliases: [] }, back: { aliases: [] } } }),
      composeService('db', { expose: ['5432'], networks: { back: { aliases: [] } } }),
    ], { networks });
    const serviceIPs = { web: '10.96.0.10', api: '10.96.0.11', db: '10.96.0.12' };
    // web is built and not named: its image is not needed.
    const some = translateProject(scoped, { serviceIPs, services: ['api', 'db'] });
    expect(some.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['api', 'db']);
    expect(some.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual(['api', 'db', 'web']);
    const all = translateProject(scoped, { serviceIPs, images: { web: 'reg/app-web@sha256:' + 'b'.repeat(64) } });
    expect(find(some, 'Deployment', 'api')).toEqual(find(all, 'Deployment', 'api'));
    expect(podOf(find(some, 'Deployment', 'api')).hostAliases!.flatMap((a) => a.hostnames)).toContain('web');
  });

  it('names every problem of a project in one line', () => {
    const message = refusal(() => translateProject(composeProject('app', [composeService('a', { domainname: 'example.com' }), composeService('b', { ulimits: { nofile: { soft: 1, hard: 2 } } })])));
    expect(message).not.toContain('\n');
    expect(message).toMatch(/service "a": domainname: .*; service "b": ulimits: /);
    expect(refusal(() => translateProject(composeProject('my_app', [composeService('web')])))).toContain('project "my_app": name: a project is a namespace');
    expect(refusal(() => translateProject(composeProject('app', [composeService('my_svc')])))).toContain('service "my_svc": name: a service is resolved by its name');
    const aliased = composeProject('app', [composeService('web', { networks: { default: { aliases: ['db'] } } }), composeService('db')]);
    expect(refusal(() => translateProject(aliased))).toContain('the Service "db" is made for');
  });

  it('takes hostile names without touching a prototype', () => {
    const hostile = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
    const services: Record<string, ServiceConfig> = {};
    Object.defineProperty(services, '__proto__', { value: composeService('__proto__'), enumerable: true });
    const messages = [
      refusal(() => one(composeService('web', { labels: hostile }))),
      refusal(() => translateProject({ ...composeProject('app', []), services })),
      refusal(() => one(composeService('web', { depends_on: JSON.parse('{"__proto__": {"condition": "service_started", "required": true, "restart": false}}') }))),
    ];
    expect(messages[0]).toContain('labels.__proto__');
    expect(messages[2]).toContain('depends_on.__proto__');
    expect(({} as Record<string, unknown>).name).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('condition');
  });
});

describe('placement that needs pod anti-affinity or topology spread', () => {
  const own = { [PROJECT_LABEL]: 'app', [SERVICE_LABEL]: 'once' };
  const onePerNode = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: own } }] } };
  const nodes = [{ 'kubernetes.io/hostname': 'n1', disk: 'ssd' }, { 'kubernetes.io/hostname': 'n2', disk: 'ssd' }, { 'kubernetes.io/hostname': 'n3', disk: 'hdd' }];

  it('runs a global job as a Job with one pod per schedulable node the constraints admit, kept apart by anti-affinity', () => {
    const job = find<Job>(one(composeService('once', { deploy: { labels: {}, mode: 'global-job' } }), { schedulableNodes: nodes }), 'Job', 'once');
    expect(job.spec).toMatchObject({ completions: 3, parallelism: 3, template: { spec: { affinity: onePerNode, restartPolicy: 'OnFailure' } } });
    const constrained = find<Job>(one(composeService('once', { deploy: { labels: {}, mode: 'global-job', placement: { constraints: ['node.labels.disk==ssd'], preferences: [] } } }), { schedulableNodes: nodes }), 'Job', 'once');
    expect(constrained.spec).toMatchObject({ completions: 2, parallelism: 2 });
    expect(constrained.spec!.template.spec!.affinity).toEqual({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }] } },
      ...onePerNode,
    });
  });

  it('refuses a global job without the nodes, with no node to run on, or with replicas', () => {
    const global = (deploy: Record<string, unknown>) => composeService('once', { deploy: { labels: {}, mode: 'global-job', ...deploy } });
    expect(refusal(() => one(global({})))).toContain("service \"once\": deploy.mode: global-job runs one pod on each node: the translation needs the cluster's schedulable nodes");
    expect(refusal(() => one(global({ placement: { constraints: ['node.labels.disk==nvme'], preferences: [] } }), { schedulableNodes: nodes }))).toContain(
      'service "once": deploy.mode: global-job: no schedulable node matches the placement constraints',
    );
    expect(refusal(() => one(global({ replicas: 2 }), { schedulableNodes: nodes }))).toContain('service "once": deploy.replicas: a global job runs one pod on each node');
  });

  it('maps max_replicas_per_node 1 to anti-affinity on the hostname and refuses more', () => {
    const capped = (max: number, mode?: 'global') => composeService('once', { deploy: { labels: {}, mode, replicas: mode ? undefined : 3, placement: { constraints: [], preferences: [], max_replicas_per_node: max } } });
    expect(podOf(deploymentOf(capped(1))).affinity).toEqual(onePerNode);
    expect(refusal(() => one(capped(2)))).toContain('service "once": deploy.placement.max_replicas_per_node: 2: only 1 maps exactly');
    expect(refusal(() => one(capped(1, 'global')))).toContain('a global service runs one pod on each node already');
  });

  it('maps a spread preference over a node label to a topology spread constraint that only scores', () => {
    const spread = (...over: string[]) => composeService('web', { deploy: { labels: {}, placement: { constraints: [], preferences: over.map((s) => ({ spread: s })) } } });
    expect(podOf(deploymentOf(spread('node.labels.zone', 'node.hostname'))).topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { [PROJECT_LABEL]: 'app', [SERVICE_LABEL]: 'web' } } },
    ]);
    expect(podOf(deploymentOf(spread('node.hostname'))).topologySpreadConstraints).toBeUndefined();
    expect(refusal(() => one(spread('node.role')))).toContain('service "web": deploy.placement.preferences: spread over node.role: berth nodes carry no manager/worker role');
  });
});
