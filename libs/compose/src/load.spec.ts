import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject, loadProjectWithProfiles } from './load';
import type { LoadOptions } from './load';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'compose-load-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const load = (options: LoadOptions = {}) => loadProject({ workingDir: dir, env: {}, ...options });
const refusal = async (options: LoadOptions = {}) => {
  try {
    await load(options);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the project loaded');
};

describe('loadProject', () => {
  it('canonicalises short syntax into the long forms', async () => {
    write(
      'compose.yaml',
      `
services:
  web:
    image: nginx
    command: nginx -g "daemon off;"
    ports: ["8080:80", "127.0.0.1:9000-9001:9000-9001/udp", 443, {target: 8443, published: "8444"}]
    expose: [3000, "4000-4001/udp"]
    volumes: ["./html:/usr/share/nginx/html:ro", "data:/data", "/abs:/abs", "/anon"]
    environment: ["A=1", "B"]
    labels: {tier: front}
    depends_on: [db]
    healthcheck: {test: "curl -f http://localhost/", interval: 10s}
    mem_limit: 512m
    cpus: 0.5
    scale: 2
    networks: [front]
    secrets: [token]
    extra_hosts: ["gw:10.0.0.1"]
  db:
    image: postgres
    tmpfs: /run
volumes:
  data: {}
networks:
  front:
secrets:
  token:
    file: ./token.txt
`,
    );
    const project = await load({ env: { B: 'from-shell' } });
    expect(project.name).toBe(dir.split('/').pop()!.toLowerCase().replace(/[^a-z0-9_-]/g, ''));
    const web = project.services.web;
    expect(web.command).toEqual(['nginx', '-g', 'daemon off;']);
    expect(web.ports).toEqual([
      { target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' },
      { target: 9000, published: 9000, host_ip: '127.0.0.1', protocol: 'udp', mode: 'ingress' },
      { target: 9001, published: 9001, host_ip: '127.0.0.1', protocol: 'udp', mode: 'ingress' },
      { target: 443, protocol: 'tcp', mode: 'ingress' },
      { target: 8443, published: 8444, protocol: 'tcp', mode: 'ingress' },
    ]);
    expect(web.expose).toEqual(['3000', '4000-4001/udp']);
    expect(web.volumes).toEqual([
      { type: 'bind', source: join(dir, 'html'), target: '/usr/share/nginx/html', read_only: true, bind: { create_host_path: true } },
      { type: 'volume', source: 'data', target: '/data' },
      { type: 'bind', source: '/abs', target: '/abs', bind: { create_host_path: true } },
      { type: 'volume', target: '/anon' },
    ]);
    expect({ ...web.environment }).toEqual({ A: '1', B: 'from-shell' });
    expect({ ...web.depends_on }).toEqual({ db: { condition: 'service_started', required: true, restart: false } });
    expect(web.healthcheck).toEqual({ test: ['CMD-SHELL', 'curl -f http://localhost/'], interval: '10s' });
    expect(web.deploy).toEqual({ labels: {}, replicas: 2, resources: { limits: { cpus: '0.5', memory: 512 * 1024 * 1024 } } });
    expect(Object.keys(web.networks)).toEqual(['front']);
    expect(web.secrets).toEqual([{ source: 'token', target: '/run/secrets/token' }]);
    expect(web.extra_hosts).toEqual([{ host: 'gw', ip: '10.0.0.1' }]);
    expect(project.services.db.networks).toEqual({ default: { aliases: [] } });
    expect(project.services.db.tmpfs).toEqual(['/run']);
    expect(project.volumes.data.name).toBe(`${project.name}_data`);
    expect(Object.keys(project.networks)).toEqual(['default', 'front']);
    expect(project.networks.front.name).toBe(`${project.name}_front`);
    expect(project.secrets.token).toEqual({ name: `${project.name}_token`, file: join(dir, 'token.txt'), labels: {} });
  });

  it('names the project from -p, COMPOSE_PROJECT_NAME, name, else the directory', async () => {
    write('compose.yaml', 'name: fromfile\nservices: {a: {image: x}}\n');
    expect((await load({ projectName: 'flag' })).name).toBe('flag');
    expect((await load({ env: { COMPOSE_PROJECT_NAME: 'env' } })).name).toBe('env');
    expect((await load()).name).toBe('fromfile');
    expect(await refusal({ projectName: 'Bad Name' })).toMatch(/^-p: "Bad Name" is not a project name/);
    write('My App!/compose.yaml', 'services: {a: {image: x}}\n');
    expect((await load({ workingDir: join(dir, 'My App!') })).name).toBe('myapp');
  });

  it('finds compose.yaml and merges compose.override.yaml', async () => {
    write('compose.yaml', 'services:\n  web:\n    image: a\n    ports: ["80:80"]\n    command: [a]\n');
    write('compose.override.yaml', 'services:\n  web:\n    image: b\n    ports: ["81:81", "80:80"]\n    command: [b]\n');
    const project = await load();
    expect(project.files).toEqual([join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')]);
    expect(project.services.web.image).toBe('b');
    expect(project.services.web.command).toEqual(['b']);
    expect(project.services.web.ports.map((p) => p.published)).toEqual([81, 80]);
  });

  it('merges -f files in order with the specification\'s rules', async () => {
    write(
      'a.yaml',
      `
services:
  web:
    image: a
    environment: {A: "1", B: "2"}
    volumes: ["one:/data", "./x:/x"]
    dns: [1.1.1.1]
    healthcheck: {test: ["CMD", "a"], interval: 5s}
    entrypoint: ["/a"]
volumes: {one: {}, two: {}}
`,
    );
    write(
      'b.yaml',
      `
services:
  web:
    environment: ["B=3", "C=4"]
    volumes: ["two:/data"]
    dns: [8.8.8.8, 1.1.1.1]
    healthcheck: {test: "b"}
    entrypoint: /b
    ports: !reset []
    labels: !override {only: "\${ONLY}"}
`,
    );
    const web = (await load({ files: [join(dir, 'a.yaml'), join(dir, 'b.yaml')], env: { ONLY: 'this' } })).services.web;
    expect({ ...web.environment }).toEqual({ A: '1', B: '3', C: '4' });
    expect(web.volumes.map((v) => `${v.source}:${v.target}`)).toEqual([`${join(dir, 'x')}:/x`, 'two:/data']);
    expect(web.dns).toEqual(['8.8.8.8', '1.1.1.1']);
    expect(web.healthcheck).toEqual({ test: ['CMD-SHELL', 'b'], interval: '5s' });
    expect(web.entrypoint).toEqual(['/b']);
    expect({ ...web.labels }).toEqual({ only: 'this' });
  });

  it('removes with !reset', async () => {
    write('compose.yaml', 'services:\n  web:\n    image: a\n    ports: ["80:80"]\n    environment: {FOO: bar, KEEP: x}\n');
    write('compose.override.yaml', 'services:\n  web:\n    ports: !reset []\n    environment:\n      FOO: !reset null\n');
    const web = (await load()).services.web;
    expect(web.ports).toEqual([]);
    expect({ ...web.environment }).toEqual({ KEEP: 'x' });
  });

  it('interpolates values from the shell and .env, the shell first', async () => {
    write('.env', 'TAG=from-dotenv\nPORT=8080\n');
    write('compose.yaml', 'services:\n  web:\n    image: "nginx:${TAG}"\n    ports: ["${PORT}:80"]\n    command: echo $$HOME ${UNSET:-fallback}\n');
    const web = (await load({ env: { TAG: 'from-shell' } })).services.web;
    expect(web.image).toBe('nginx:from-shell');
    expect(web.ports[0].published).toBe(8080);
    expect(web.command).toEqual(['echo', '$HOME', 'fallback']);
  });

  it('reads --env-file instead of .env', async () => {
    write('.env', 'TAG=dotenv\n');
    const other = write('other.env', 'TAG=other\n');
    write('compose.yaml', 'services:\n  web:\n    image: "nginx:${TAG}"\n');
    expect((await load({ envFiles: [other] })).services.web.image).toBe('nginx:other');
  });

  it('names file and key of a missing required variable', async () => {
    write('compose.yaml', 'services:\n  web:\n    image: "nginx:${TAG:?set TAG}"\n');
    expect(await refusal()).toBe('compose.yaml: services.web.image: required variable TAG is missing a value: set TAG');
  });

  it('does not interpolate keys', async () => {
    write('compose.yaml', 'services:\n  web:\n    image: x\n    environment:\n      ${NAME}: value\n');
    expect(Object.keys((await load({ env: { NAME: 'n' } })).services.web.environment)).toEqual(['${NAME}']);
  });

  it('reads env_file entries relative to the working dir, environment winning', async () => {
    write('conf/web.env', 'A=from-file\nB=from-file\n');
    write('compose.yaml', 'services:\n  web:\n    image: x\n    env_file: [conf/web.env, {path: missing.env, required: false}]\n    environment: {B: own}\n');
    expect({ ...(await load()).services.web.environment }).toEqual({ A: 'from-file', B: 'own' });
    write('compose.yaml', 'services:\n  web:\n    image: x\n    env_file: missing.env\n');
    expect(await refusal()).toBe(`compose.yaml: services.web.env_file[0]: the env file ${join(dir, 'missing.env')} does not exist`);
  });

  it('leaves out services of inactive profiles, and lists every profile', async () => {
    write('compose.yaml', 'services:\n  web: {image: x}\n  debug: {image: y, profiles: [dev]}\n  admin: {image: z, profiles: [ops], depends_on: [db]}\n  db: {image: d, profiles: [ops-db]}\n');
    expect(Object.keys((await load()).services)).toEqual(['web']);
    expect(Object.keys((await load({ profiles: ['dev'] })).services)).toEqual(['debug', 'web']);
    expect(Object.keys((await load({ env: { COMPOSE_PROFILES: 'dev' } })).services)).toEqual(['debug', 'web']);
    expect(Object.keys((await load({ services: ['admin'] })).services)).toEqual(['admin', 'db', 'web']);
    expect(await refusal({ profiles: ['ops'] })).toBe('compose.yaml: services.admin.depends_on: depends on the service "db", which is not enabled by the active profiles');
    expect((await loadProjectWithProfiles({ workingDir: dir, env: {} })).profiles).toEqual(['dev', 'ops', 'ops-db']);
    write('compose.yaml', 'services:\n  web: {image: x, depends_on: {cache: {condition: service_started, required: false}, db: {condition: service_healthy}}}\n  db: {image: d}\n');
    expect(Object.keys((await load()).services.web.depends_on)).toEqual(['db']);
  });

  it('resolves extends in the same file and from another file', async () => {
    write('common/base.yaml', 'services:\n  base:\n    image: base\n    environment: {A: "1"}\n    volumes: ["./data:/data"]\n');
    write(
      'compose.yaml',
      'services:\n  tpl: {image: tpl, labels: {a: b}}\n  web:\n    extends: tpl\n    environment: {B: "2"}\n  worker:\n    extends: {file: common/base.yaml, service: base}\n    environment: {B: "2"}\n',
    );
    const project = await load();
    expect(project.services.web.image).toBe('tpl');
    expect({ ...project.services.web.labels }).toEqual({ a: 'b' });
    expect({ ...project.services.worker.environment }).toEqual({ A: '1', B: '2' });
    // The extended file's relative paths are its own directory's.
    expect(project.services.worker.volumes[0].source).toBe(join(dir, 'common', 'data'));
  });

  it('includes other projects with their own directory and .env', async () => {
    write('db/compose.yaml', 'services:\n  db:\n    image: "postgres:${PG:-16}"\n    volumes: ["./data:/data", "pg:/var/lib/postgresql"]\nvolumes: {pg: {}}\n');
    write('db/.env', 'PG=15\n');
    write('compose.yaml', 'include: [db/compose.yaml]\nservices:\n  web: {image: x, depends_on: [db]}\n');
    const project = await load();
    expect(project.services.db.image).toBe('postgres:15');
    expect(project.services.db.volumes[0].source).toBe(join(dir, 'db', 'data'));
    expect(Object.keys(project.volumes)).toEqual(['pg']);
    // The including project's environment wins over the included one's .env.
    expect((await load({ env: { PG: '17' } })).services.db.image).toBe('postgres:17');
    write('compose.yaml', 'include: [db/compose.yaml]\nservices:\n  db: {image: mine}\n');
    expect(await refusal()).toBe('compose.yaml: include[0]: services.db is defined both here and in db/compose.yaml');
    write('db/compose.yaml', 'include: [../compose.yaml]\nservices: {db: {image: x}}\n');
    write('compose.yaml', 'include: [db/compose.yaml]\nservices: {}\n');
    expect(await refusal()).toBe('db/compose.yaml: include[0]: includes compose.yaml again, a cycle');
  });

  it('refuses an extends cycle in one line', async () => {
    write('compose.yaml', 'services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n');
    expect(await refusal()).toMatch(/^compose.yaml: services.(a|b): extends makes a cycle: .* → .*$/);
  });

  it('drops x- keys', async () => {
    write('compose.yaml', 'x-common: &common {image: shared, restart: always}\nservices:\n  web:\n    <<: *common\n    x-note: anything\n    labels: {x-kept: "data"}\n');
    const web = (await load()).services.web;
    expect(web.image).toBe('shared');
    expect(web.restart).toBe('always');
    expect({ ...web.labels }).toEqual({ 'x-kept': 'data' });
  });

  it.each([
    ['services:\n  web:\n    image: x\n    buidl: .\n', 'compose.yaml: services.web: unknown key "buidl"'],
    ['services:\n  web:\n    image: x\n    ports: ["http:80"]\n', 'compose.yaml: services.web.ports[0]: published must be a port number (0-65535), not "http"'],
    ['services:\n  web:\n    image: x\n    ports: [{target: 80, published: http}]\n', 'compose.yaml: services.web.ports[0]: published must be a port number (0-65535), not "http"'],
    ['services:\n  web:\n    image: x\n    devices: ["/dev/fuse"]\n', 'compose.yaml: services.web.devices: berth does not support this key: devices are not passed into pods'],
    ['services:\n  web:\n    image: x\n    privileged: maybe\n', 'compose.yaml: services.web.privileged: must be a boolean, not "maybe"'],
    ['services:\n  web:\n    image: x\n    pull_policy: daily\n', 'compose.yaml: services.web.pull_policy: berth pulls by the node\'s image pull policy: always, never, missing, if_not_present, build, not "daily"'],
    ['services:\n  web:\n    image: x\n    network_mode: "service:db"\n', 'compose.yaml: services.web.network_mode: berth runs host or none, not "service:db" (no namespaces are shared across pods)'],
    ['services:\n  web:\n    image: x\n    container_name: web\n    scale: 2\n', 'compose.yaml: services.web.container_name: a service with a container_name cannot have more than one replica'],
    ['services:\n  web:\n    image: x\n    volumes: ["data:/data"]\n', 'compose.yaml: services.web.volumes[0]: the volume "data" is not declared in volumes'],
    ['services:\n  web:\n    image: x\n    depends_on: [db]\n', 'compose.yaml: services.web.depends_on: depends on the service "db", which is not defined'],
    ['services:\n  web:\n    image: x\n    stop_grace_period: 10\n', 'compose.yaml: services.web.stop_grace_period: must be a string, not 10'],
    ['services:\n  web:\n    image: x\n    stop_grace_period: soon\n', 'compose.yaml: services.web.stop_grace_period: must be a duration (10s, 1m30s, 500ms), not "soon"'],
    ['services:\n  web:\n    image: x\n    mem_limit: lots\n', 'compose.yaml: services.web.mem_limit: must be a size (512m, 1g, a number of bytes), not "lots"'],
    ['services:\n  web:\n    image: x\n    build: {context: "https://github.com/a/b.git"}\n', 'compose.yaml: services.web.build.context: berth builds from a directory on this host, not "https://github.com/a/b.git"'],
    ['services:\n  web:\n    build: {context: ., ssh: [default]}\n', 'compose.yaml: services.web.build.ssh: berth does not support this key: berth build does not offer this build option'],
    ['services:\n  web: {}\n', 'compose.yaml: services.web: has neither an image nor a build'],
    ['services:\n  web: {image: x, depends_on: {db: {condition: service_ready}}}\n  db: {image: y}\n', 'compose.yaml: services.web.depends_on.db.condition: must be one of service_started, service_healthy, service_completed_successfully, not "service_ready"'],
    ['models: {llm: {model: ai/smollm2}}\nservices: {}\n', 'compose.yaml: models: berth does not support this key: AI models are not run by berth'],
    ['services: [web]\n', 'compose.yaml: services: must be a mapping, not a list'],
    ['- just a list\n', 'compose.yaml: must be a mapping of top-level keys (services, networks, ...)'],
    ['services:\n  web:\n    image: x\n    command: echo "unclosed\n', 'compose.yaml: services.web.command: the shell line "echo \\"unclosed" has an unclosed double quote'],
    ['services:\n  web:\n    image: x\n    deploy: {mode: everywhere}\n', 'compose.yaml: services.web.deploy.mode: must be one of replicated, global, replicated-job, global-job, not "everywhere"'],
    ['services:\n  web:\n    image: x\n    scale: 2\n    deploy: {replicas: 3}\n', 'compose.yaml: services.web.scale: says 2 but deploy.replicas says 3'],
  ])('refuses in one line: %j', async (text, line) => {
    write('compose.yaml', text);
    expect(await refusal()).toBe(line);
  });
});

describe('hostile files', () => {
  it.each([
    ['an alias bomb', ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n'), /compose.yaml: .*(alias|resource exhaustion)/i],
    ['deep nesting', `services: ${'['.repeat(5000)}${']'.repeat(5000)}`, /^compose.yaml: nests deeper than 100 levels$/],
    ['a duplicate key', 'services:\n  web: {image: a}\n  web: {image: b}\n', /^compose.yaml: Map keys must be unique/],
    ['a __proto__ key', 'services:\n  web:\n    image: x\n    environment:\n      __proto__: {polluted: true}\n', /^compose.yaml: has a field named "__proto__"/],
    ['an unknown tag', 'services:\n  web: !custom {image: x}\n', /^compose.yaml: .*tag/i],
    ['two documents', 'services: {}\n---\nservices: {}\n', /^compose.yaml: holds 2 YAML documents, not one$/],
  ])('%s is one line', async (_what, text, line) => {
    write('compose.yaml', text);
    const message = await refusal();
    expect(message).toMatch(line);
    expect(message).not.toContain('\n');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('port ranges cannot expand without bound', async () => {
    write('compose.yaml', `services:\n  web:\n    image: x\n    ports: [${Array(100).fill('"1000-1999"').join(', ')}]\n`);
    expect(await refusal()).toBe('compose.yaml: services.web.ports: has more than the 1000 ports a service may publish');
  });

  it('a huge file is one line', async () => {
    write('compose.yaml', `# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    expect(await refusal()).toMatch(/^compose.yaml: is \d+ bytes, more than the 4194304 a compose file may have$/);
  });

  it('a binary or non-UTF-8 file is one line', async () => {
    writeFileSync(join(dir, 'compose.yaml'), Buffer.from([0x73, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    expect(await refusal()).toBe('compose.yaml: is not UTF-8 text');
    writeFileSync(join(dir, 'compose.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]));
    expect(await refusal()).toBe('compose.yaml: is not a text file (it holds NUL bytes)');
  });

  it('keys named constructor or prototype are data, never inherited', async () => {
    write('compose.yaml', 'services:\n  constructor: {image: x, labels: {prototype: p}, depends_on: [toString]}\n  toString: {image: y}\n');
    const project = await load();
    expect(Object.keys(project.services)).toEqual(['constructor', 'toString']);
    const name = 'constructor' as string;
    expect(project.services[name].labels.prototype).toBe('p');
    write('compose.yaml', 'services:\n  web: {image: x, depends_on: [constructor]}\n');
    expect(await refusal()).toBe('compose.yaml: services.web.depends_on: depends on the service "constructor", which is not defined');
  });

  it('no file is one line', async () => {
    expect(await refusal()).toMatch(/^no configuration file provided: none of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in /);
  });
});
