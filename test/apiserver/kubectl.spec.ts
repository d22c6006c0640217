// The real kubectl (v1.32 through the dispatcher at /usr/bin/kubectl) against berth server.
import { Kubectl, kubectlFor, startBerthServer, TestServer, waitFor } from '@berth/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let server: TestServer;
let kubectl: Kubectl;
let files: string;

beforeAll(async () => {
  server = await startBerthServer();
  files = mkdtempSync(join(tmpdir(), 'berth-manifests-'));
});

beforeEach(() => {
  // A fresh HOME and discovery cache per test.
  kubectl = kubectlFor(server);
});

afterEach(() => kubectl.cleanup());

afterAll(async () => {
  await server?.cleanup();
  if (files) rmSync(files, { recursive: true, force: true });
});

function deploymentYaml(name: string, namespace: string, replicas: number, image = 'busybox'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: main
        image: ${image}
        ports:
        - containerPort: 80
`;
}

function manifest(name: string, content: string): string {
  const path = join(files, name);
  writeFileSync(path, content);
  return path;
}

function ok(args: string[], input?: string): Promise<string> {
  return kubectl.ok(args, { input });
}

let namespaceCounter = 0;
async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${++namespaceCounter}`;
  expect(await ok(['create', 'namespace', name])).toBe(`namespace/${name} created\n`);
  return name;
}

test('create namespace, configmap and deployment (protobuf bodies)', async () => {
  const ns = await freshNamespace('pb');
  expect(await ok(['create', 'configmap', 'settings', '-n', ns, '--from-literal=color=blue'])).toBe('configmap/settings created\n');
  expect(await ok(['create', 'deployment', 'web', '-n', ns, '--image=nginx', '--replicas=2'])).toBe('deployment.apps/web created\n');
  const cm = JSON.parse(await ok(['get', 'configmap', 'settings', '-n', ns, '-o', 'json']));
  expect(cm.data).toEqual({ color: 'blue' });
  const deploy = JSON.parse(await ok(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
  expect(deploy.spec.replicas).toBe(2);
  expect(deploy.spec.template.spec.containers[0].image).toBe('nginx');
});

test('apply creates, then is unchanged, then configures; --server-side applies', async () => {
  const ns = await freshNamespace('apply');
  const first = manifest('apply-1.yaml', deploymentYaml('web', ns, 2));
  expect(await ok(['apply', '-f', first])).toBe('deployment.apps/web created\n');
  expect(await ok(['apply', '-f', first])).toBe('deployment.apps/web unchanged\n');
  const changed = manifest('apply-2.yaml', deploymentYaml('web', ns, 3, 'nginx'));
  expect(await ok(['apply', '-f', changed])).toBe('deployment.apps/web configured\n');
  const live = JSON.parse(await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'json']));
  expect(live.spec.replicas).toBe(3);
  expect(live.spec.template.spec.containers).toHaveLength(1);
  expect(live.spec.template.spec.containers[0].image).toBe('nginx');
  expect(live.metadata.generation).toBe(2);

  const ssa = manifest('apply-ssa.yaml', deploymentYaml('api', ns, 1));
  expect(await ok(['apply', '--server-side', '-f', ssa])).toBe('deployment.apps/api serverside-applied\n');
  expect(await ok(['apply', '--server-side', '-f', ssa])).toBe('deployment.apps/api serverside-applied\n');
  const applied = JSON.parse(await ok(['get', 'deploy', 'api', '-n', ns, '-o', 'json', '--show-managed-fields']));
  expect(applied.metadata.managedFields.map((m: { manager: string; operation: string }) => [m.manager, m.operation])).toContainEqual([
    'kubectl',
    'Apply',
  ]);
});

test('get prints tables, wide, json, yaml, jsonpath, selections and all namespaces', async () => {
  const ns = await freshNamespace('get');
  await ok(['apply', '-f', manifest('get-web.yaml', deploymentYaml('web', ns, 2))]);
  await ok(['apply', '-f', manifest('get-db.yaml', deploymentYaml('db', ns, 1))]);

  const table = await ok(['get', 'deployments', '-n', ns]);
  expect(table.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
  expect(table).toMatch(/\nweb\s+0\/2\s+0\s+0\s+\d+s/);
  const wide = await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'wide']);
  expect(wide.split('\n')[0]).toMatch(/CONTAINERS\s+IMAGES\s+SELECTOR/);
  expect(wide).toMatch(/main\s+busybox\s+app=web/);
  expect(JSON.parse(await ok(['get', 'deploy', '-n', ns, '-o', 'json'])).items).toHaveLength(2);
  expect(await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'yaml'])).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
  expect(await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
  const labelled = await ok(['get', 'deploy', '-n', ns, '-l', 'app=db', '-o', 'name']);
  expect(labelled).toBe('deployment.apps/db\n');
  const everywhere = await ok(['get', 'deploy', '-A']);
  expect(everywhere.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY/);
  expect(everywhere).toMatch(new RegExp(`\\n${ns}\\s+db\\s`));
  const namespaces = await ok(['get', 'ns']);
  expect(namespaces).toMatch(/\ndefault\s+Active\s/);
});

test('get -w prints a row for a later change', async () => {
  const ns = await freshNamespace('watch');
  await ok(['create', 'configmap', 'first', '-n', ns]);
  const watch = kubectl.start(['get', 'configmaps', '-n', ns, '-w']);
  try {
    await waitFor(() => /\nfirst\s+0\s/.test(watch.output()), 20_000, 'the initial list');
    await ok(['create', 'configmap', 'second', '-n', ns, '--from-literal=a=b']);
    await waitFor(() => /\nsecond\s+1\s/.test(watch.output()), 20_000, `a row for the new configmap in:\n${watch.output()}`);
  } finally {
    await watch.kill();
  }
});

test('describe shows the object and its events', async () => {
  const ns = await freshNamespace('describe');
  await ok(['apply', '-f', manifest('describe.yaml', deploymentYaml('web', ns, 1))]);
  const uid = await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.scaled', namespace: ns },
    involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: ns, uid },
    reason: 'ScalingReplicaSet',
    message: 'Scaled up replica set web-abc to 1',
    type: 'Normal',
    source: { component: 'deployment-controller' },
    firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    count: 1,
  };
  await ok(['create', '-f', '-'], JSON.stringify(event));
  const described = await ok(['describe', 'deployment', 'web', '-n', ns]);
  expect(described).toMatch(/^Name:\s+web$/m);
  expect(described).toMatch(/^Replicas:\s+1 desired/m);
  expect(described).toMatch(/Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-abc to 1/);
});

test('scale, label, annotate and patch (strategic, merge, json)', async () => {
  const ns = await freshNamespace('verbs');
  await ok(['apply', '-f', manifest('verbs.yaml', deploymentYaml('web', ns, 1))]);
  const get = async (path: string) => ok(['get', 'deploy', 'web', '-n', ns, '-o', `jsonpath=${path}`]);

  expect(await ok(['scale', 'deployment', 'web', '-n', ns, '--replicas=4'])).toBe('deployment.apps/web scaled\n');
  expect(await get('{.spec.replicas}')).toBe('4');
  expect(await ok(['label', 'deployment', 'web', '-n', ns, 'tier=frontend'])).toBe('deployment.apps/web labeled\n');
  expect(await get('{.metadata.labels.tier}')).toBe('frontend');
  expect(await ok(['annotate', 'deployment', 'web', '-n', ns, 'owner=team-a'])).toBe('deployment.apps/web annotated\n');
  expect(await get('{.metadata.annotations.owner}')).toBe('team-a');

  const sidecar = '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}';
  expect(await ok(['patch', 'deployment', 'web', '-n', ns, '-p', sidecar])).toBe('deployment.apps/web patched\n');
  expect((await get('{.spec.template.spec.containers[*].name}')).split(' ').sort()).toEqual(['main', 'side']);
  await ok(['patch', 'deployment', 'web', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":2}}']);
  expect(await get('{.spec.replicas}')).toBe('2');
  await ok(['patch', 'deployment', 'web', '-n', ns, '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]']);
  expect(await get('{.spec.replicas}')).toBe('3');
  const unchanged = await kubectl.run(['patch', 'deployment', 'web', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
  expect(unchanged.stdout).toBe('deployment.apps/web patched (no change)\n');
});

test('api-resources lists every served type with short names', async () => {
  const out = await ok(['api-resources']);
  expect(out).toMatch(/\npods\s+po\s+v1\s+true\s+Pod\n/);
  expect(out).toMatch(/\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment\n/);
  expect(out).toMatch(/\nnamespaces\s+ns\s+v1\s+false\s+Namespace\n/);
  expect(out).toMatch(/\nleases\s+coordination\.k8s\.io\/v1\s+true\s+Lease\n/);
});

test('delete -f removes the objects; deleting a namespace removes its objects', async () => {
  const ns = await freshNamespace('delete');
  const path = manifest('delete.yaml', deploymentYaml('web', ns, 1));
  await ok(['apply', '-f', path]);
  expect(await ok(['delete', '-f', path])).toBe('deployment.apps "web" deleted\n');
  expect((await kubectl.run(['get', 'deploy', 'web', '-n', ns])).stderr).toContain('deployments.apps "web" not found');

  await ok(['create', 'configmap', 'doomed', '-n', ns]);
  await ok(['apply', '-f', path]);
  expect(await ok(['delete', 'namespace', ns])).toBe(`namespace "${ns}" deleted\n`);
  const gone = await kubectl.run(['get', 'namespace', ns]);
  expect(gone.stderr).toContain(`namespaces "${ns}" not found`);
  expect(await ok(['get', 'configmaps,deployments', '-A', '-o', 'name', '--field-selector', `metadata.namespace=${ns}`])).toBe('');
});

test('errors come back as kubectl prints Kubernetes errors', async () => {
  const missing = await kubectl.run(['get', 'deploy', 'nope']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
  const bad = manifest('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndataz: {}\n');
  const strict = await kubectl.run(['apply', '-f', bad]);
  expect(strict.code).toBe(1);
  expect(strict.stderr).toContain('unknown field "dataz"');
});

test('a pod asking for what berth nodes do not do is refused with 422 naming each field, as is a Deployment template', async () => {
  const podYaml = `apiVersion: v1
kind: Pod
metadata:
  name: asks-too-much
spec:
  hostPID: true
  volumes:
  - name: token
    projected:
      sources:
      - clusterTrustBundle: {signerName: example.com/x, path: ca.pem}
  containers:
  - name: main
    image: busybox
    volumeMounts:
    - {name: token, mountPath: /var/run/secrets/tokens, mountPropagation: Bidirectional}
`;
  const refused = await kubectl.run(['apply', '-f', manifest('asks-too-much.yaml', podYaml)]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('The Pod "asks-too-much" is invalid: ');
  for (const path of ['spec.hostPID', 'spec.volumes[0].projected.sources[0].clusterTrustBundle', 'spec.containers[0].volumeMounts[0].mountPropagation']) {
    expect(refused.stderr).toContain(`${path}: Forbidden: not supported by berth: `);
  }
  const deployment = deploymentYaml('prioritised', 'default', 1).replace('    spec:\n', '    spec:\n      priorityClassName: high\n');
  const template = await kubectl.run(['apply', '-f', manifest('prioritised.yaml', deployment)]);
  expect(template.code).toBe(1);
  expect(template.stderr).toContain('spec.template.spec.priorityClassName: Forbidden: not supported by berth: there are no PriorityClasses');
  expect((await kubectl.run(['get', 'pod', 'asks-too-much'])).code).toBe(1);
});

describe('kubectl apply of a List, as kubectl get -o yaml prints it', () => {
  it('creates every item (kubectl finds no v2 schema for List and leaves the items to the server)', async () => {
    await ok(['create', 'namespace', 'listed']);
    await ok(['-n', 'listed', 'create', 'configmap', 'one', '--from-literal=a=1']);
    await ok(['-n', 'listed', 'create', 'configmap', 'two', '--from-literal=b=2']);
    const listed = await ok(['-n', 'listed', 'get', 'configmap', 'one', 'two', '-o', 'yaml']);
    expect(listed).toMatch(/^apiVersion: v1\nitems:/);
    await ok(['delete', 'namespace', 'listed']);
    await ok(['create', 'namespace', 'listed-again']);
    const applied = await ok(['-n', 'listed-again', 'apply', '-f', '-'], listed.replace(/namespace: listed\n/g, 'namespace: listed-again\n').replace(/ {4}(resourceVersion|uid|creationTimestamp): .*\n/g, ''));
    expect(applied).toBe('configmap/one created\nconfigmap/two created\n');
    expect(await ok(['-n', 'listed-again', 'get', 'configmap', 'one', '-o', 'jsonpath={.data.a}'])).toBe('1');
  });

  it('still has the server refuse an item with an unknown field (fieldValidation=Strict)', async () => {
    const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: strict, namespace: default}
  data: {a: "1"}
  colour: blue
`;
    const result = await kubectl.run(['apply', '-f', '-'], { input: list });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown field "colour"');
  });
});
