import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlFor, Kubectl, startBerthServer, TestServer, waitFor } from '@berth/testing';
import { runBerth } from './run-berth';
import { runBerth as runBerthCommand } from '@berth/testing';

/** `bin/berth ARGS` with extra environment variables. */
const runBerthWith = (kubeconfig: string, args: string[], env: Record<string, string>) => runBerthCommand(args, { env: { ...process.env, KUBECONFIG: kubeconfig, ...env } });

jest.setTimeout(180_000);

/** How many cases of an eachAtOnce run at a time, over the whole file: each is a berth and a kubectl process. */
const CASES_AT_ONCE = 3;
const queued: Array<() => void> = [];
let running = 0;

/** Runs `task` once fewer than CASES_AT_ONCE tasks run, in the order asked. */
function whenFree<T>(task: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const start = () => {
      running++;
      task()
        .then(resolve, reject)
        .finally(() => {
          running--;
          queued.shift()?.();
        });
    };
    if (running < CASES_AT_ONCE) start();
    else queued.push(start);
  });
}

/**
 * it.each whose cases all start in the describe's beforeAll, a few at a time, each test awaiting its own
 * case: a case is a berth and a kubectl process, and jest runs a file's tests one after another, which
 * would leave a core idle. A case's failed expectation fails its own test, as in it.each.
 */
function eachAtOnce<A extends unknown[]>(title: string, cases: [string, ...A][], run: (...args: A) => Promise<unknown>): void {
  const started = new Map<string, Promise<unknown>>();
  beforeAll(() => {
    for (const [name, ...args] of cases) {
      const result = whenFree(() => run(...args));
      // Awaited, and reported, by the case's test.
      result.catch(() => undefined);
      started.set(name, result);
    }
  });
  it.each(cases.map(([name]) => name))(title, async (name) => {
    await started.get(name);
  });
}

/**
 * The kubectl verbs and output formats of the berth CLI, against the real kubectl v1.32 on the same
 * server: the same text where kubectl's is stable (no ages, no generated names).
 */
describe('berth and kubectl print the same', () => {
  let server: TestServer;
  let kubectl: Kubectl;
  let dir: string;
  const berth = (args: string[], input?: string) => runBerth(server.kubeconfigPath, args, input);

  /** Runs `args` with berth and kubectl at once (read-only verbs: neither sees the other's work), for the same output. */
  async function same(args: string[]): Promise<string> {
    const [ours, theirs] = await Promise.all([berth(args), kubectl.run(args)]);
    expect({ code: ours.code, stdout: ours.stdout, stderr: ours.stderr }).toEqual({ code: theirs.code, stdout: theirs.stdout, stderr: theirs.stderr });
    return ours.stdout;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-parity-'));
    server = await startBerthServer();
    kubectl = kubectlFor(server);
    const manifests = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zeta\n  labels:\n    tier: front\n    app.kubernetes.io/name: shop\ndata:\n  a: "1"\n  b: "2"\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alpha\n  labels:\n    tier: back\ndata:\n  c: "3"\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mid\n',
    ].join('---\n');
    expect((await berth(['create', 'namespace', 'fmt'])).code).toBe(0);
    expect((await berth(['apply', '-n', 'fmt', '-f', '-'], manifests)).code).toBe(0);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('output formats', () => {
    eachAtOnce('%s', [
      ['jsonpath over a list', ['get', 'cm', '-n', 'fmt', '-l', 'tier', '-o', 'jsonpath={.items[*].metadata.name}']],
      ['jsonpath range/end', ['get', 'cm', '-n', 'fmt', '-l', 'tier', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.data}{"\\n"}{end}']],
      ['jsonpath filter', ['get', 'cm', '-n', 'fmt', '-o', 'jsonpath={.items[?(@.metadata.labels.tier=="back")].metadata.name}']],
      ['jsonpath of one object', ['get', 'cm', 'zeta', '-n', 'fmt', '-o', "jsonpath={.metadata.labels['app\\.kubernetes\\.io/name']} {.data.a}"]],
      ['jsonpath with a missing key', ['get', 'cm', 'mid', '-n', 'fmt', '-o', 'jsonpath={.data.none}x']],
      ['custom columns', ['get', 'cm', '-n', 'fmt', '-o', 'custom-columns=NAME:.metadata.name,TIER:.metadata.labels.tier,KEYS:.data']],
      ['custom columns without headers, sorted', ['get', 'cm', '-n', 'fmt', '--no-headers', '--sort-by=.metadata.name', '-o', 'custom-columns=N:metadata.name']],
      ['sorted names', ['get', 'cm', '-n', 'fmt', '--sort-by', '{.metadata.labels.tier}', '-o', 'name']],
      ['sorted json', ['get', 'cm', '-n', 'fmt', '-l', 'tier', '--sort-by', '.metadata.name', '-o', 'jsonpath={.items[*].metadata.name}']],
    ], (args) => same(args));

    it('sorts tables, leaves out headers and adds -L columns as kubectl does', async () => {
      const withoutAge = (text: string) => text.replace(/ +\S+(\s+\S*)?$/gm, '');
      const args = ['get', 'cm', '-n', 'fmt', '--sort-by=.metadata.name', '-L', 'tier,app.kubernetes.io/name'];
      const [ours, theirs] = await Promise.all([berth(args), kubectl.run(args)]);
      expect(ours.stdout.split('\n')[0]).toBe(theirs.stdout.split('\n')[0]);
      expect(ours.stdout.split('\n').map((l) => l.split(/\s+/)[0])).toEqual(theirs.stdout.split('\n').map((l) => l.split(/\s+/)[0]));
      expect(ours.stdout.length).toBe(theirs.stdout.length);
      const headless = ['get', 'cm', '-n', 'fmt', '--no-headers', '--sort-by=.metadata.name'];
      expect(withoutAge((await berth(headless)).stdout)).toBe(withoutAge((await kubectl.run(headless)).stdout));
    });

    it('refuses a bad template in one line, exit 1', async () => {
      const result = await berth(['get', 'cm', '-n', 'fmt', '-o', 'jsonpath={.items[']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: error parsing jsonpath \{\.items\[, .*\n$/);
    });
  });

  /** Runs the same verb on two twin objects, berth on one and kubectl on the other, at once: the same text, names aside. */
  async function twins(kind: string, manifest: (name: string) => string, args: (name: string) => string[]): Promise<string> {
    const n = ++twinCount;
    const [ours, theirs] = [`${kind}-b${n}`, `${kind}-k${n}`];
    expect((await berth(['apply', '-n', 'fmt', '-f', '-'], [manifest(ours), manifest(theirs)].join('---\n'))).code).toBe(0);
    const [a, b] = await Promise.all([berth(args(ours)), kubectl.run(args(theirs))]);
    const norm = (text: string, name: string) => text.split(name).join('NAME');
    expect({ code: a.code, stdout: norm(a.stdout, ours), stderr: norm(a.stderr, ours) }).toEqual({ code: b.code, stdout: norm(b.stdout, theirs), stderr: norm(b.stderr, theirs) });
    return a.stdout;
  }
  let twinCount = 0;
  const configMap = (labels: string) => (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: {${labels}}\n  annotations: {note: old}\ndata:\n  a: "1"\n`;

  describe('label, annotate, patch', () => {
    eachAtOnce('%s', [
      ['label', ['label', 'cm', 'NAME', '-n', 'fmt', 'color=blue', 'tier-']],
      ['label without --overwrite', ['label', 'cm', 'NAME', '-n', 'fmt', 'tier=back']],
      ['label with --overwrite', ['label', 'cm/NAME', '-n', 'fmt', 'tier=back', '--overwrite']],
      ['label that changes nothing', ['label', 'cm', 'NAME', '-n', 'fmt', 'tier=front']],
      ['label, client dry run', ['label', 'cm', 'NAME', '-n', 'fmt', 'x=y', '--dry-run=client']],
      ['label, server dry run', ['label', 'cm', 'NAME', '-n', 'fmt', 'x=y', '--dry-run=server']],
      ['label -o jsonpath', ['label', 'cm', 'NAME', '-n', 'fmt', 'x=y', '-o', 'jsonpath={.metadata.labels}']],
      ['annotate', ['annotate', 'cm', 'NAME', '-n', 'fmt', 'note=new', '--overwrite', 'other=x']],
      ['annotate without --overwrite', ['annotate', 'cm', 'NAME', '-n', 'fmt', 'note=new']],
      ['annotate remove', ['annotate', 'cm', 'NAME', '-n', 'fmt', 'note-']],
      ['strategic patch', ['patch', 'cm', 'NAME', '-n', 'fmt', '-p', '{"data":{"b":"2"}}']],
      ['patch that changes nothing', ['patch', 'cm', 'NAME', '-n', 'fmt', '-p', '{"data":{"a":"1"}}']],
      ['merge patch', ['patch', 'cm', 'NAME', '-n', 'fmt', '--type', 'merge', '-p', '{"data":null}']],
      ['json patch', ['patch', 'cm', 'NAME', '-n', 'fmt', '--type=json', '-p', '[{"op":"add","path":"/data/c","value":"3"}]', '-o', 'jsonpath={.data}']],
      ['patch of a missing object', ['patch', 'cm', 'NAME-missing', '-n', 'fmt', '-p', '{}']],
      ['client dry-run patch', ['patch', 'cm', 'NAME', '-n', 'fmt', '--dry-run=client', '-p', '{"data":{"a":"9"}}', '-o', 'jsonpath={.data.a}']],
    ], (args) => twins('cm', configMap('tier: front'), (name) => args.map((a) => a.replace('NAME', name))));

    it('refuses a malformed label before asking the server, in one line', async () => {
      const result = await berth(['label', 'cm', 'zeta', '-n', 'fmt', 'bad key=1']);
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'error: invalid label spec: bad key=1\n' });
    });

    it('changes what it says it changed', async () => {
      await berth(['apply', '-n', 'fmt', '-f', '-'], configMap('tier: front')('changed'));
      expect((await berth(['label', 'cm', 'changed', '-n', 'fmt', 'x=1', '--dry-run=client'])).code).toBe(0);
      expect((await berth(['label', 'cm', 'changed', '-n', 'fmt', 'y=2'])).code).toBe(0);
      expect((await berth(['get', 'cm', 'changed', '-n', 'fmt', '-o', 'jsonpath={.metadata.labels}'])).stdout).toBe('{"tier":"front","y":"2"}');
    });
  });

  describe('discovery verbs', () => {
    it('api-resources', async () => {
      for (const args of [['api-resources'], ['api-resources', '--namespaced=false'], ['api-resources', '-o', 'name'], ['api-resources', '--api-group', 'apps', '--no-headers']]) {
        await same(args);
      }
    });

    it('version names the server\'s', async () => {
      const result = await berth(['version']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Client Version: v\S+\nServer Version: v1\.32\.\S+\n$/);
      const theirs = await kubectl.run(['version', '-o', 'json']);
      const ours = JSON.parse((await berth(['version', '-o', 'json'])).stdout);
      expect(ours.serverVersion).toEqual(JSON.parse(theirs.stdout).serverVersion);
    });
  });

  describe('create generators', () => {
    beforeAll(() => {
      writeFileSync(join(dir, 'f.txt'), 'line one\nline two\n');
      writeFileSync(join(dir, 'bin.dat'), Buffer.from([0xff, 0xfe, 0x00]));
      writeFileSync(join(dir, 'app.env'), '# comment\nMODE=prod\nEMPTY=\n');
      writeFileSync(join(dir, 'docker.json'), '{"auths":{"a.example.com":{"auth":"YTpi"}}}\n');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=t', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    });
    const at = (name: string) => join(dir, name);

    eachAtOnce('%s, client dry run as YAML', [
      ['configmap', () => ['create', 'configmap', 'c', '--from-literal=a=b', '--from-literal=n=10', '--from-literal=e=', `--from-file=x=${at('f.txt')}`, `--from-file=${at('bin.dat')}`]],
      ['configmap from an env file', () => ['create', 'configmap', 'c', `--from-env-file=${at('app.env')}`]],
      ['configmap from an env file and a literal', () => ['create', 'configmap', 'c', `--from-env-file=${at('app.env')}`, '--from-literal=a=b']],
      ['secret generic', () => ['create', 'secret', 'generic', 's', '--from-literal=user=admin', `--from-file=${at('f.txt')}`, '--type=example.com/x']],
      ['secret tls', () => ['create', 'secret', 'tls', 't', `--cert=${at('tls.crt')}`, `--key=${at('tls.key')}`]],
      ['secret docker-registry', () => ['create', 'secret', 'docker-registry', 'r', '--docker-username=u', '--docker-password=p@<s>&', '--docker-email=e@x.io']],
      ['secret docker-registry of a server', () => ['create', 'secret', 'docker-registry', 'r', '--docker-username=u', '--docker-password=p', '--docker-server=reg.io:5000']],
      ['secret docker-registry from files', () => ['create', 'secret', 'docker-registry', 'r', `--from-file=${at('docker.json')}`, `--from-file=k=${at('app.env')}`, '--docker-username=ignored']],
      ['deployment', () => ['create', 'deployment', 'web', '--image=busybox:1.36', '--image=reg.io:5000/team/nginx@sha256:abcd', '--replicas=3', '--port=80']],
      ['deployment with a command', () => ['create', 'deploy', 'sleeper', '--image=busybox', '--dry-run=client', '-o', 'yaml', '--', 'sleep', '10']],
      ['job', () => ['create', 'job', 'once', '--image=busybox', '--dry-run=client', '-o', 'yaml', '--', 'sh', '-c', 'echo hi']],
      ['cronjob', () => ['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/5 * * * *', '--dry-run=client', '-o', 'yaml', '--', 'date']],
      ['cronjob, restart Never, in a namespace', () => ['create', 'cj', 'hourly', '-n', 'fmt', '--image=busybox', '--schedule=@hourly', '--restart=Never']],
    ], (args) => {
      const given = args();
      return same(given.includes('--') ? given : [...given, '--dry-run=client', '-o', 'yaml']);
    });

    eachAtOnce('refuses %s in one line, exit 1', [
      ['a missing image', ['create', 'deployment', 'x']],
      ['a missing schedule', ['create', 'cronjob', 'x', '--image=busybox']],
      ['a duplicate key', ['create', 'configmap', 'x', '--from-literal=a=1', '--from-literal=a=2']],
      ['a docker-registry secret without a password', ['create', 'secret', 'docker-registry', 'x', '--docker-username=u']],
      ['a certificate file that is not there', ['create', 'secret', 'tls', 'x', `--cert=${join(tmpdir(), 'no-such-berth-cert.crt')}`, '--key=/dev/null']],
    ], async (args) => {
      const result = await berth([...args, '--dry-run=client']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: [^\n]+\n$/);
    });

    it('creates config maps, secrets and deployments as kubectl does', async () => {
      for (const [verb, name] of [['configmap', 'made'], ['secret generic', 'made']]) {
        const ours = await berth(['create', ...verb.split(' '), name, '-n', 'fmt', '--from-literal=k=v']);
        const theirs = await kubectl.run(['create', ...verb.split(' '), `${name}-k`, '-n', 'fmt', '--from-literal=k=v']);
        expect(ours).toMatchObject({ code: 0, stderr: '' });
        expect(ours.stdout).toBe(theirs.stdout.replace(`${name}-k`, name));
      }
      expect((await berth(['get', 'secret', 'made', '-n', 'fmt', '-o', 'jsonpath={.data.k}'])).stdout).toBe(Buffer.from('v').toString('base64'));
      const deployment = await berth(['create', 'deployment', 'made', '-n', 'fmt', '--image=busybox', '--dry-run=server']);
      expect(deployment).toMatchObject({ code: 0, stdout: 'deployment.apps/made created (server dry run)\n' });
      expect((await berth(['get', 'deploy', 'made', '-n', 'fmt'])).code).toBe(1);
      const exists = await berth(['create', 'configmap', 'made', '-n', 'fmt']);
      expect(exists.code).toBe(1);
      expect(exists.stderr).toBe((await kubectl.run(['create', 'configmap', 'made', '-n', 'fmt'])).stderr);
    });

    it('creates jobs and cronjobs when the server serves batch/v1, and says it does not otherwise', async () => {
      const served = (await berth(['api-resources', '--api-group=batch', '-o', 'name'])).stdout.split('\n');
      const job = await berth(['create', 'job', 'made', '-n', 'fmt', '--image=busybox', '--', 'true']);
      const cronJob = await berth(['create', 'cronjob', 'made', '-n', 'fmt', '--image=busybox', '--schedule=@daily']);
      if (served.includes('jobs.batch')) {
        expect(job).toMatchObject({ code: 0, stdout: 'job.batch/made created\n' });
        expect((await kubectl.run(['get', 'job', 'made', '-n', 'fmt', '-o', 'jsonpath={.spec.template.spec.containers[0].command}'])).stdout).toBe('["true"]');
      } else {
        expect(job).toMatchObject({ code: 1, stderr: 'error: the server doesn\'t have a resource type "jobs"\n' });
      }
      if (served.includes('cronjobs.batch')) {
        expect(cronJob).toMatchObject({ code: 0, stdout: 'cronjob.batch/made created\n' });
        const fromCron = await berth(['create', 'job', 'manual', '-n', 'fmt', '--from=cronjob/made']);
        expect(fromCron).toMatchObject({ code: 0, stdout: 'job.batch/manual created\n' });
        const annotation = await kubectl.run(['get', 'job', 'manual', '-n', 'fmt', '-o', "jsonpath={.metadata.annotations['cronjob\\.kubernetes\\.io/instantiate']} {.metadata.ownerReferences[0].name}"]);
        expect(annotation.stdout).toBe('manual made');
      } else {
        expect(cronJob).toMatchObject({ code: 1, stderr: 'error: the server doesn\'t have a resource type "cronjobs"\n' });
      }
    });
  });

  describe('nodes, set image, wait', () => {
    const node = (name: string) => `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${name}\n  labels: {pool: twins}\nspec:\n  taints:\n  - {key: old, value: x, effect: NoSchedule}\n`;
    const deployment = (name: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec:\n      initContainers: [{name: init, image: busybox}]\n      containers: [{name: web, image: busybox}, {name: side, image: busybox}]\n`;

    eachAtOnce('%s', [
      ['cordon', ['cordon', 'NAME']],
      ['cordon, server dry run', ['cordon', 'NAME', '--dry-run=server']],
      ['uncordon of a schedulable node', ['uncordon', 'NAME']],
      ['taint', ['taint', 'nodes', 'NAME', 'dedicated=db:NoSchedule']],
      ['taint with the same key and effect', ['taint', 'node', 'NAME', 'old=y:NoSchedule']],
      ['taint --overwrite', ['taint', 'nodes', 'NAME', 'old=y:NoSchedule', '--overwrite']],
      ['untaint', ['taint', 'nodes', 'NAME', 'old-']],
      ['untaint of a missing taint', ['taint', 'nodes', 'NAME', 'nope:NoExecute-']],
    ], (args) => twins('node', node, (name) => args.map((a) => a.replace('NAME', name))));

    it('refuses a bad taint with kubectl\'s words, in one line', async () => {
      const args = ['taint', 'nodes', 'anything', 'x=y:Sometimes'];
      const [ours, theirs] = await Promise.all([berth(args), kubectl.run(args)]);
      expect(ours).toMatchObject({ code: 1, stdout: '', stderr: `${theirs.stderr.split('\n')[0]}\n` });
    });

    it('cordons and uncordons for real', async () => {
      await berth(['apply', '-f', '-'], node('real'));
      expect((await berth(['cordon', 'real'])).stdout).toBe('node/real cordoned\n');
      expect((await berth(['cordon', 'real'])).stdout).toBe('node/real already cordoned\n');
      expect((await kubectl.run(['get', 'node', 'real', '-o', 'jsonpath={.spec.unschedulable}'])).stdout).toBe('true');
      expect((await berth(['uncordon', 'real'])).stdout).toBe('node/real uncordoned\n');
      expect((await kubectl.run(['get', 'node', 'real', '-o', 'jsonpath={.spec.unschedulable}'])).stdout).toBe('');
      expect((await berth(['taint', 'nodes', 'real', 'a=b:NoExecute'])).stdout).toBe('node/real tainted\n');
      expect((await kubectl.run(['get', 'node', 'real', '-o', 'jsonpath={.spec.taints[*].key}'])).stdout).toBe('a old');
    });

    eachAtOnce('%s', [
      ['set image', ['set', 'image', 'deployment/NAME', 'web=nginx:1.27', '-n', 'fmt']],
      ['set image of every container', ['set', 'image', 'deploy/NAME', '*=nginx', '-n', 'fmt', '-o', 'jsonpath={..image}']],
      ['set image of a missing container', ['set', 'image', 'deployment/NAME', 'nope=nginx', '-n', 'fmt']],
      ['set image, client dry run', ['set', 'image', 'deployment/NAME', 'side=x', '-n', 'fmt', '--dry-run=client', '-o', 'jsonpath={.spec.template.spec.containers[*].image}']],
    ], (args) => twins('deploy', deployment, (name) => args.map((a) => a.replace('NAME', name))));

    eachAtOnce('wait for %s', [
      ['a jsonpath value that is there', ['wait', '--for=jsonpath={.data.a}=1', 'cm/NAME', '-n', 'fmt']],
      ['a field that is there', ['wait', '--for=jsonpath={.metadata.labels.tier}', 'cm/NAME', '-n', 'fmt']],
      ['a value that never comes', ['wait', '--for=jsonpath={.data.a}=2', 'cm/NAME', '-n', 'fmt', '--timeout=1s']],
      ['a condition that never comes', ['wait', '--for=condition=Ready', 'configmap', 'NAME', '-n', 'fmt', '--timeout=1s']],
      ['an object that is not there', ['wait', '--for=condition=Ready', 'cm/NAME-missing', '-n', 'fmt', '--timeout=1s']],
      ['the deletion of an object that is not there', ['wait', '--for=delete', 'cm/NAME-missing', '-n', 'fmt', '--timeout=1s']],
    ], (args) => twins('cm', configMap('tier: front'), (name) => args.map((a) => a.replace('NAME', name))));

    it('times out on a deletion that does not come, in kubectl\'s words', async () => {
      await berth(['apply', '-n', 'fmt', '-f', '-'], configMap('')('staying'));
      const args = ['wait', '--for=delete', 'cm/staying', '-n', 'fmt', '--timeout=1s'];
      const [ours, theirs] = await Promise.all([berth(args), kubectl.run(args)]);
      // kubectl sometimes logs its watch's cancellation first (a klog line): its last line is the answer.
      const last = (text: string) => text.trimEnd().split('\n').pop();
      expect(ours).toMatchObject({ code: theirs.code, stdout: theirs.stdout, stderr: `${last(theirs.stderr)}\n` });
      expect(ours.stderr).toBe('error: timed out waiting for the condition on configmaps/staying\n');
    });

    it('waits for a deletion and a change that happen later', async () => {
      await berth(['apply', '-n', 'fmt', '-f', '-'], [configMap('')('doomed'), configMap('')('changing')].join('---\n'));
      const watchers = async () => Number(/^apiserver_registered_watchers (\d+)$/m.exec((await server.fetch('/metrics')).body)?.[1]);
      const before = await watchers();
      const deleted = berth(['wait', '--for=delete', 'cm/doomed', '-n', 'fmt', '--timeout=60s']);
      const changed = berth(['wait', '--for=jsonpath={.data.a}=2', 'cm/changing', '-n', 'fmt', '--timeout=60s']);
      // Later, for the waits: once both watch (a wait that starts after the deletion has nothing to wait for).
      await waitFor(async () => ((await watchers()) >= before + 2 ? true : undefined), 30_000, 'both waits to watch');
      await berth(['delete', 'cm', 'doomed', '-n', 'fmt']);
      await berth(['patch', 'cm', 'changing', '-n', 'fmt', '-p', '{"data":{"a":"2"}}']);
      expect(await deleted).toMatchObject({ code: 0, stdout: 'configmap/doomed condition met\n' });
      expect(await changed).toMatchObject({ code: 0, stdout: 'configmap/changing condition met\n' });
    });
  });
});

describe('berth diff and apply --prune beside kubectl', () => {
  let server: TestServer;
  let kubectl: Kubectl;
  let dir: string;
  const berth = (args: string[], input?: string) => runBerth(server.kubeconfigPath, args, input);
  const cm = (name: string, labels: string, data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: pr\n  labels: {${labels}}\ndata: {${data}}\n`;
  /** diff's headers name temporary directories and times: the rest must be the same. */
  const body = (text: string) =>
    text.replace(/^(diff -u -N|---|\+\+\+) .*$/gm, '$1 HEADER').replace(/^([-+ ] +(uid|creationTimestamp|resourceVersion)): .*$/gm, '$1: X');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-diff-'));
    server = await startBerthServer();
    kubectl = kubectlFor(server);
    expect((await berth(['create', 'namespace', 'pr'])).code).toBe(0);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('diffs as kubectl diff --server-side does: nothing (exit 0), a change and a new object (exit 1), Secrets masked', async () => {
    const secret = (value: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: pr}\ndata: {k: ${Buffer.from(value).toString('base64')}, same: eA==}\n`;
    writeFileSync(join(dir, 'live.yaml'), [cm('d', 'app: d', 'a: "1"'), secret('old')].join('---\n'));
    expect((await berth(['apply', '-f', join(dir, 'live.yaml')])).code).toBe(0);
    const kubectlDiff = (file: string) => kubectl.run(['diff', '--server-side', '--field-manager=berth', '--force-conflicts', '-f', file]);

    const same = await berth(['diff', '-f', join(dir, 'live.yaml')]);
    expect(same).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await kubectlDiff(join(dir, 'live.yaml'))).code).toBe(0);

    writeFileSync(join(dir, 'changed.yaml'), [cm('d', 'app: d, new: label', 'a: "2"'), cm('fresh', 'app: d', 'b: x'), secret('new')].join('---\n'));
    // Server-side dry runs both: neither changes what the other compares with.
    const [ours, theirs] = await Promise.all([berth(['diff', '-f', join(dir, 'changed.yaml')]), kubectlDiff(join(dir, 'changed.yaml'))]);
    expect(ours.code).toBe(1);
    expect(ours.stdout).toContain('-  a: "1"\n+  a: "2"');
    expect(ours.stdout).toContain('-  k: \'*** (before)\'\n+  k: \'*** (after)\'');
    expect({ code: ours.code, stdout: body(ours.stdout), stderr: ours.stderr }).toEqual({ code: theirs.code, stdout: body(theirs.stdout), stderr: theirs.stderr });
    // Nothing was changed by either.
    expect((await kubectl.run(['get', 'cm', 'd', '-n', 'pr', '-o', 'jsonpath={.data.a}'])).stdout).toBe('1');
    expect((await berth(['get', 'cm', 'fresh', '-n', 'pr'])).code).toBe(1);
  });

  it('fails an object of an unknown kind in one line and diffs the rest', async () => {
    writeFileSync(join(dir, 'unknown.yaml'), [cm('d', 'app: d', 'a: "3"'), 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: pr}\n'].join('---\n'));
    const result = await berth(['diff', '-f', join(dir, 'unknown.yaml')]);
    const theirs = await kubectl.run(['diff', '--server-side', '--field-manager=berth', '--force-conflicts', '-f', join(dir, 'unknown.yaml')]);
    // kubectl's exit code and words for the error (it diffs nothing then; berth shows the rest).
    expect(result).toMatchObject({ code: theirs.code, stderr: `${theirs.stderr.split('\n')[0]}\n` });
    expect(result.stdout).toContain('+  a: "3"');
  });

  it('prunes what an earlier apply made and the manifests no longer have, as kubectl apply --prune does', async () => {
    // kubectl's default list has kinds this server may not serve (it then refuses to prune at all).
    const allowlist = ['--prune-allowlist=core/v1/ConfigMap'];
    for (const [tool, suffix] of [['berth', 'b'], ['kubectl', 'k']] as const) {
      const run = (args: string[]) => (tool === 'berth' ? berth(args) : kubectl.run(args));
      const both = [cm(`keep-${suffix}`, 'set: p', 'a: "1"'), cm(`gone-${suffix}`, 'set: p', 'a: "1"'), cm(`other-${suffix}`, 'set: q', 'a: "1"')].join('---\n');
      writeFileSync(join(dir, `all-${suffix}.yaml`), both);
      writeFileSync(join(dir, `one-${suffix}.yaml`), cm(`keep-${suffix}`, 'set: p', 'a: "1"'));
      // Objects made otherwise than by apply are never pruned.
      expect((await run(['create', 'configmap', `made-${suffix}`, '-n', 'pr'])).code).toBe(0);
      expect((await run(['label', 'configmap', `made-${suffix}`, '-n', 'pr', 'set=p'])).code).toBe(0);
    }
    const [ours, theirs] = [
      await berth(['apply', '--prune', '-l', 'set=p', '-f', join(dir, 'all-b.yaml'), ...allowlist]),
      await kubectl.run(['apply', '--prune', '-l', 'set=p', '-f', join(dir, 'all-k.yaml'), ...allowlist]),
    ];
    expect(ours).toMatchObject({ code: 0, stderr: '', stdout: 'configmap/keep-b created\nconfigmap/gone-b created\n' });
    expect(ours.stdout).toBe(theirs.stdout.replace(/-k /g, '-b '));
    const [prunedOurs, prunedTheirs] = [
      await berth(['apply', '--prune', '-l', 'set=p', '-f', join(dir, 'one-b.yaml'), ...allowlist]),
      await kubectl.run(['apply', '--prune', '-l', 'set=p', '-f', join(dir, 'one-k.yaml'), ...allowlist]),
    ];
    expect(prunedOurs).toMatchObject({ code: 0, stderr: '', stdout: 'configmap/keep-b unchanged\nconfigmap/gone-b pruned\n' });
    expect(prunedOurs.stdout).toBe(prunedTheirs.stdout.replace(/-k /g, '-b '));
    const left = (await kubectl.run(['get', 'cm', '-n', 'pr', '-l', 'set', '-o', 'name'])).stdout.split('\n').filter((n) => n.endsWith('-b')).sort();
    expect(left).toEqual(['configmap/keep-b', 'configmap/made-b']);
  });

  it('applies and prunes in a dry run without changing anything', async () => {
    writeFileSync(join(dir, 'dry.yaml'), [cm('dry-same', 'set: dry', 'a: "1"'), cm('dry-changed', 'set: dry', 'a: "1"'), cm('dry-pruned', 'set: dry', 'a: "1"')].join('---\n'));
    expect((await berth(['apply', '-f', join(dir, 'dry.yaml')])).code).toBe(0);
    writeFileSync(join(dir, 'dry2.yaml'), [cm('dry-same', 'set: dry', 'a: "1"'), cm('dry-changed', 'set: dry', 'a: "2"'), cm('dry-new', 'set: dry', 'a: "1"')].join('---\n'));
    const prune = ['--prune', '-l', 'set=dry', '--prune-allowlist=core/v1/ConfigMap', '-f', join(dir, 'dry2.yaml')];
    expect(await berth(['apply', '--dry-run=server', ...prune])).toMatchObject({
      code: 0,
      stderr: '',
      stdout: 'configmap/dry-same unchanged (server dry run)\nconfigmap/dry-changed configured (server dry run)\nconfigmap/dry-new created (server dry run)\nconfigmap/dry-pruned pruned (server dry run)\n',
    });
    expect(await berth(['apply', '--dry-run=client', ...prune])).toMatchObject({
      code: 0,
      stdout: 'configmap/dry-same configured (dry run)\nconfigmap/dry-changed configured (dry run)\nconfigmap/dry-new created (dry run)\nconfigmap/dry-pruned pruned (dry run)\n',
    });
    const names = (await berth(['get', 'cm', '-n', 'pr', '-l', 'set=dry', '-o', 'jsonpath={.items[*].metadata.name} {.items[*].data.a}'])).stdout;
    expect(names).toBe('dry-changed dry-pruned dry-same 1 1 1');
  });

  it('refuses --prune without -l or --all as kubectl does', async () => {
    writeFileSync(join(dir, 'x.yaml'), cm('x', 'set: p', 'a: "1"'));
    const args = ['apply', '--prune', '-f', join(dir, 'x.yaml')];
    const [ours, theirs] = [await berth(args), await kubectl.run(args)];
    expect(ours).toMatchObject({ code: 1, stdout: '', stderr: theirs.stderr.split('\n')[0] + '\n' });
  });
});

describe('berth edit beside kubectl edit', () => {
  let server: TestServer;
  let kubectl: Kubectl;
  let dir: string;
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: {tier: front}\ndata:\n  a: "1"\n`;
  const EDITOR = `#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$dir/count"
cp "$1" "$dir/seen-$n"
case "$(cat "$dir/mode")" in
  change) sed -i 's/^  a: "1"$/  a: "2"/' "$1" ;;
  none) ;;
  empty) : > "$1" ;;
  invalid-then-fix) if [ $n = 1 ]; then sed -i 's/^    tier: front$/    tier: "bad value!"/' "$1"; else sed -i 's/bad value!/fixed/' "$1"; fi ;;
  invalid-always) if [ $n = 1 ]; then sed -i 's/^    tier: front$/    tier: "bad value!"/' "$1"; fi ;;
  syntax-then-fix) if [ $n = 1 ]; then sed -i 's/^  a: "1"$/  a: [/' "$1"; else sed -i 's/^  a: \\[$/  a: "3"/' "$1"; fi ;;
esac
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-edit-test-'));
    writeFileSync(join(dir, 'editor.sh'), EDITOR, { mode: 0o755 });
    server = await startBerthServer();
    // The files both tools edit (and the copies they keep of changes given up on) go in the test's dir.
    const saved = process.env.TMPDIR;
    process.env.KUBE_EDITOR = join(dir, 'editor.sh');
    process.env.TMPDIR = dir;
    try {
      kubectl = kubectlFor(server);
    } finally {
      delete process.env.KUBE_EDITOR;
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `edit` with the given editor behaviour: what was printed, and each file the editor was handed. */
  async function editWith(tool: 'berth' | 'kubectl', mode: string, name: string) {
    writeFileSync(join(dir, 'mode'), mode);
    rmSync(join(dir, 'count'), { force: true });
    for (const n of [1, 2, 3]) rmSync(join(dir, `seen-${n}`), { force: true });
    const args = ['edit', 'configmap', name];
    const result = tool === 'berth' ? await runBerthWith(server.kubeconfigPath, args, { KUBE_EDITOR: join(dir, 'editor.sh'), TMPDIR: dir }) : await kubectl.run(args);
    const seen = [1, 2, 3].map((n) => join(dir, `seen-${n}`)).filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8'));
    return { result, seen };
  }

  it.each(['change', 'none', 'invalid-then-fix', 'invalid-always', 'syntax-then-fix'])('%s: prints and saves what kubectl does', async (mode) => {
    const [ours, theirs] = [`${mode}-b`, `${mode}-k`];
    expect((await runBerth(server.kubeconfigPath, ['apply', '-f', '-'], [cm(ours), cm(theirs)].join('---\n'))).code).toBe(0);
    const a = await editWith('berth', mode, ours);
    const b = await editWith('kubectl', mode, theirs);
    const norm = (text: string, name: string) => text.split(name).join('NAME').replace(/"[^"]*(berth-edit-|kubectl-edit-)[^"]*"/g, '"FILE"');
    expect({ code: a.result.code, stdout: norm(a.result.stdout, ours), stderr: norm(a.result.stderr, ours) }).toEqual({
      code: b.result.code,
      stdout: norm(b.result.stdout, theirs),
      stderr: norm(b.result.stderr, theirs),
    });
    expect(a.seen.length).toBe(b.seen.length);
    // The first file is kubectl's header and the object; a file opened again starts with the failures.
    expect(a.seen[0].split('\n').slice(0, 4)).toEqual(b.seen[0].split('\n').slice(0, 4));
    if (a.seen.length > 1) {
      // The server's causes too, but a YAML parser's words are its own.
      const lines = mode.startsWith('invalid') ? 7 : 5;
      expect(a.seen[1].split('\n').slice(0, lines)).toEqual(b.seen[1].split('\n').slice(0, lines).map((l) => norm(l, theirs).replace('NAME', ours)));
    }
    const stored = async (name: string) => JSON.parse((await kubectl.run(['get', 'cm', name, '-o', 'json'])).stdout);
    const [mine, kubectls] = [await stored(ours), await stored(theirs)];
    expect({ labels: mine.metadata.labels, data: mine.data }).toEqual({ labels: kubectls.metadata.labels, data: kubectls.data });
  });

  it('cancels on an emptied file, as the header says (kubectl 1.32 reports it invalid instead)', async () => {
    expect((await runBerth(server.kubeconfigPath, ['apply', '-f', '-'], cm('emptied'))).code).toBe(0);
    const { result } = await editWith('berth', 'empty', 'emptied');
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: 'Edit cancelled, no objects found.\n' });
  });

  it('keeps the changes in a file when the user gives up, and refuses an edit without objects in one line', async () => {
    expect((await runBerth(server.kubeconfigPath, ['apply', '-f', '-'], cm('kept'))).code).toBe(0);
    const { result } = await editWith('berth', 'invalid-always', 'kept');
    const stored = /stored to "([^"]+)"/.exec(result.stderr)![1];
    try {
      expect(readFileSync(stored, 'utf8')).toContain('tier: "bad value!"');
    } finally {
      rmSync(join(stored, '..'), { recursive: true, force: true });
    }
    const none = await runBerthWith(server.kubeconfigPath, ['edit', 'cm'], { KUBE_EDITOR: 'true' });
    expect(none).toMatchObject({ code: 1, stdout: '', stderr: 'error: resource(s) were provided, but no name was specified\n' });
  });
});
