import { isBerthError } from '@berth/errors';
import type { ComposeProject, DeployConfig, ServiceConfig } from './model';
import { composeProject, composeService } from './testing';
import { translateProject, type TranslateOptions } from './translate';

/**
 * Every key of the model lands somewhere in the objects, or is refused with a line naming the service and
 * the key: never dropped without a word. The samples are typed by the model's keys, so a key added to the
 * model does not compile here until it has a sample (and so a mapping or a refusal).
 */
interface Sample {
  fields: Partial<ServiceConfig>;
  /** What the service has without the key (and with it: fields go over it). */
  base?: Partial<ServiceConfig>;
  /** Other services of the project, and top-level sections, the key refers to. */
  others?: ServiceConfig[];
  project?: Partial<ComposeProject>;
  options?: TranslateOptions;
}

/** Keys the loader consumes: nothing after it sees their effect on the model. */
const LOADER_ONLY = { profiles: 'services of inactive profiles are left out of the model by the loader' };

const SERVICE_SAMPLES: { [K in keyof Required<ServiceConfig>]: K extends keyof typeof LOADER_ONLY ? 'loader' : Sample } = {
  name: { fields: { name: 'other' } },
  image: { fields: { image: 'alpine:3' } },
  build: { fields: { image: undefined, build: { context: '/tmp/compose', dockerfile: 'Dockerfile', args: {}, labels: {}, tags: [] } } },
  command: { fields: { command: ['serve'] } },
  entrypoint: { fields: { entrypoint: ['/entry'] } },
  environment: { fields: { environment: { A: '1' } } },
  working_dir: { fields: { working_dir: '/srv' } },
  user: { fields: { user: '1000' } },
  hostname: { fields: { hostname: 'box' } },
  domainname: { fields: { domainname: 'example.com' } },
  labels: { fields: { labels: { tier: 'front' } } },
  stop_signal: { fields: { stop_signal: 'SIGINT' } },
  stop_grace_period: { fields: { stop_grace_period: '5s' } },
  init: { fields: { init: true } },
  read_only: { fields: { read_only: true } },
  privileged: { fields: { privileged: true } },
  cap_add: { fields: { cap_add: ['NET_ADMIN'] } },
  cap_drop: { fields: { cap_drop: ['ALL'] } },
  tty: { fields: { tty: true } },
  stdin_open: { fields: { stdin_open: true } },
  restart: { fields: { restart: 'on-failure:3' } },
  profiles: 'loader',
  depends_on: { fields: { depends_on: { db: { condition: 'service_started', required: true, restart: false } } }, others: [composeService('db')] },
  healthcheck: { fields: { healthcheck: { test: ['CMD', 'true'] } } },
  deploy: { fields: { deploy: { labels: { team: 'a' } } } },
  ports: { fields: { ports: [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }] } },
  expose: { fields: { expose: ['80'] } },
  volumes: { fields: { volumes: [{ type: 'volume', target: '/scratch' }] } },
  tmpfs: { fields: { tmpfs: ['/run'] } },
  configs: { fields: { configs: [{ source: 'conf' }] }, project: { configs: { conf: { name: 'app_conf', content: 'x', labels: {} } } } },
  secrets: { fields: { secrets: [{ source: 'token' }] }, project: { secrets: { token: { name: 'app_token', content: 'x', labels: {} } } } },
  networks: { fields: { networks: { default: { aliases: ['www'] } } } },
  network_mode: { fields: { network_mode: 'host' } },
  extra_hosts: { fields: { extra_hosts: [{ host: 'gw', ip: '10.0.0.1' }] } },
  dns: { fields: { dns: ['1.1.1.1'] } },
  dns_search: { fields: { dns_search: ['example.com'] } },
  sysctls: { fields: { sysctls: { 'net.core.somaxconn': '1024' } } },
  ulimits: { fields: { ulimits: { nofile: { soft: 1024, hard: 2048 } } } },
  pull_policy: { fields: { pull_policy: 'always' } },
  container_name: { fields: { container_name: 'web-1' } },
};

const DEPLOY_SAMPLES: { [K in keyof Required<DeployConfig>]: Sample } = {
  mode: { fields: { deploy: { labels: {}, mode: 'global' } } },
  replicas: { fields: { deploy: { labels: {}, replicas: 3 } } },
  labels: { fields: { deploy: { labels: { team: 'a' } } } },
  resources: { fields: { deploy: { labels: {}, resources: { limits: { memory: 1 << 20 } } } } },
  restart_policy: { fields: { deploy: { labels: {}, restart_policy: { condition: 'any', delay: '5s' } } } },
  placement: { fields: { deploy: { labels: {}, placement: { constraints: ['node.labels.disk==ssd'], preferences: [] } } } },
  update_config: { fields: { deploy: { labels: {}, update_config: { parallelism: 2 } } } },
  rollback_config: { fields: { deploy: { labels: {}, rollback_config: { parallelism: 2 } } } },
  endpoint_mode: { base: { expose: ['80'] }, fields: { deploy: { labels: {}, endpoint_mode: 'dnsrr' } } },
};

/** The objects, or the refusal's message. */
function outcome(sample: Sample, withFields: boolean): { objects?: string; refusal?: string } {
  const service = composeService('web', withFields ? { ...sample.base, ...sample.fields } : { ...sample.base });
  try {
    const project = composeProject('app', [service, ...(sample.others ?? [])], sample.project);
    return { objects: JSON.stringify(translateProject(project, sample.options)) };
  } catch (err) {
    if (isBerthError(err, 'BadRequest')) return { refusal: err.message };
    throw err;
  }
}

function expectLandsOrRefused(key: string, sample: Sample) {
  const before = outcome(sample, false);
  expect(before.refusal).toBeUndefined();
  const after = outcome(sample, true);
  if (after.refusal !== undefined) {
    expect(after.refusal).toContain(`service "web": ${key}`);
  } else {
    expect({ key, changed: after.objects !== before.objects }).toEqual({ key, changed: true });
  }
}

describe('every key of the model', () => {
  it.each(Object.entries(SERVICE_SAMPLES).filter(([, s]) => s !== 'loader') as Array<[string, Sample]>)('service key %s lands in the objects or is refused', (key, sample) => {
    expectLandsOrRefused(key, sample);
  });

  it.each(Object.entries(DEPLOY_SAMPLES))('deploy.%s lands in the objects or is refused', (key, sample) => {
    expectLandsOrRefused(key === 'restart_policy' ? 'deploy.restart_policy' : key === 'rollback_config' ? 'deploy.rollback_config' : 'deploy', sample);
  });

  it('takes a service with every key set at once: each refusal names its key', () => {
    const all = Object.assign({}, ...Object.values(SERVICE_SAMPLES).flatMap((s) => (s === 'loader' ? [] : [s.fields]))) as Partial<ServiceConfig>;
    const sample: Sample = {
      fields: { ...all, name: 'web', image: 'alpine:3', restart: 'always', deploy: { labels: { team: 'a' } } },
      others: [composeService('db')],
      project: { ...SERVICE_SAMPLES.configs.project, ...SERVICE_SAMPLES.secrets.project },
    };
    const after = outcome(sample, true);
    for (const mapped of ['stop_signal', 'init']) expect(after.refusal).not.toContain(`service "web": ${mapped}:`);
    for (const refused of ['domainname', 'ulimits']) expect(after.refusal).toContain(`service "web": ${refused}:`);
  });
});
