// HorizontalPodAutoscalers through the real kubectl (v1.32) against berth server: `kubectl autoscale`
// POSTs an autoscaling/v1 object as protobuf; the server stores v2 and serves both versions.
import { Kubectl, kubectlFor, startBerthServer, TestServer } from '@berth/testing';

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

function ok(args: string[], input?: string): Promise<string> {
  return kubectl.ok(args, { input });
}

const V1 = '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers';

test('kubectl autoscale creates an autoscaler that reads back in v2 and v1', async () => {
  expect(await ok(['create', 'deployment', 'web', '--image=busybox'])).toBe('deployment.apps/web created\n');
  expect(await ok(['autoscale', 'deploy/web', '--min', '1', '--max', '3', '--cpu-percent', '50'])).toBe('horizontalpodautoscaler.autoscaling/web autoscaled\n');

  const v2 = JSON.parse(await ok(['get', 'hpa', 'web', '-o', 'json']));
  expect(v2.apiVersion).toBe('autoscaling/v2');
  expect(v2.spec).toEqual({
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    minReplicas: 1,
    maxReplicas: 3,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
  });
  expect(await ok(['get', 'hpa'])).toMatch(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\nweb\s+Deployment\/web\s+cpu: <unknown>\/50%\s+1\s+3\s+0\s+\d+s\n$/);

  const v1 = JSON.parse(await ok(['get', '--raw', `${V1}/web`]));
  expect(v1).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', spec: { minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 } });
  const list = JSON.parse(await ok(['get', '--raw', V1]));
  expect(list).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscalerList', items: [{ apiVersion: 'autoscaling/v1', metadata: { name: 'web' } }] });
});

test('behavior patched in v2 is kept through a v1 read-modify-write', async () => {
  await ok(['create', 'deployment', 'api', '--image=busybox']);
  await ok(['autoscale', 'deploy/api', '--max', '4']);
  await ok(['patch', 'hpa', 'api', '--type', 'merge', '-p', '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":15}}}}']);
  const v1 = JSON.parse((await server.fetch(`${V1}/api`)).body);
  expect(JSON.parse(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/behavior']).scaleDown.stabilizationWindowSeconds).toBe(15);

  v1.spec.maxReplicas = 6;
  const put = await server.fetch(`${V1}/api`, { method: 'PUT', body: JSON.stringify(v1), headers: { 'Content-Type': 'application/json' } });
  expect(put.status).toBe(200);
  expect(JSON.parse(put.body).spec.maxReplicas).toBe(6);
  const v2 = JSON.parse(await ok(['get', 'hpa', 'api', '-o', 'json']));
  expect(v2.spec.maxReplicas).toBe(6);
  expect(v2.spec.behavior.scaleDown).toMatchObject({ stabilizationWindowSeconds: 15 });
  expect(v2.metadata.annotations).toBeUndefined();

  // Without --cpu-percent kubectl sends no metric: the server's default, CPU at 80%.
  expect(v2.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);

  // A patch written against v1 patches v1's fields, and keeps what only v2 has.
  const patched = await server.fetch(`${V1}/api`, { method: 'PATCH', body: '{"spec":{"targetCPUUtilizationPercentage":60}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(patched.status).toBe(200);
  expect(JSON.parse(patched.body)).toMatchObject({ apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 60, maxReplicas: 6 } });
  const after = JSON.parse(await ok(['get', 'hpa', 'api', '-o', 'json']));
  expect(after.spec.metrics[0].resource.target.averageUtilization).toBe(60);
  expect(after.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(15);

  const applied = await server.fetch(`${V1}/api?fieldManager=test`, { method: 'PATCH', body: '{}', headers: { 'Content-Type': 'application/apply-patch+yaml' } });
  expect(applied.status).toBe(405);
  expect(JSON.parse(applied.body).message).toContain('served in autoscaling/v2');
});

test('kubectl apply of an autoscaling/v1 manifest creates, then patches it in v1', async () => {
  const manifest = (cpu: number) =>
    `apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: legacy}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 2\n  targetCPUUtilizationPercentage: ${cpu}\n`;
  expect(await ok(['apply', '-f', '-'], manifest(70))).toBe('horizontalpodautoscaler.autoscaling/legacy created\n');
  expect(await ok(['apply', '-f', '-'], manifest(75))).toBe('horizontalpodautoscaler.autoscaling/legacy configured\n');
  const v2 = JSON.parse(await ok(['get', 'hpa', 'legacy', '-o', 'json']));
  expect(v2.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 75 } } }]);
});

test('a v1 watch sees v1 objects, and a bad autoscaler is refused with the field named', async () => {
  const watch = await server.fetch(`${V1}?watch=1&timeoutSeconds=1`, { timeoutMs: 10_000 });
  const events = watch.body.trim().split('\n').map((line) => JSON.parse(line));
  expect(events.length).toBeGreaterThan(0);
  for (const event of events) expect(event.object.apiVersion).toBe('autoscaling/v1');

  const refused = await kubectl.run(['autoscale', 'deploy/web', '--name', 'bad', '--min', '2', '--max', '1']);
  expect(refused.code).not.toBe(0);
  const bad = await kubectl.run(['apply', '-f', '-'], {
    input: 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 2\n  metrics: [{type: Pods}]\n',
  });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('spec.metrics[0].type: Unsupported value: "Pods"');
});

test('hostile v1 bodies are refused with a 4xx, never a crash', async () => {
  const post = (body: unknown) => server.fetch(V1, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  const base = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'hostile' } };
  const cases: unknown[] = [
    { ...base, spec: 'x' },
    { ...base, spec: [] },
    { ...base, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2, targetCPUUtilizationPercentage: 'lots' } },
    { ...base, metadata: { name: 'hostile', annotations: { 'autoscaling.alpha.kubernetes.io/behavior': '{"__proto__":{"polluted":1}}' } }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2 } },
    { ...base, metadata: { name: 'hostile', annotations: { 'autoscaling.alpha.kubernetes.io/metrics': '[{"type":"External"}]' } }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2 } },
    { ...base, metadata: { name: 'hostile', annotations: { 'autoscaling.alpha.kubernetes.io/behavior': '['.repeat(5000) } }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2 } },
    'not an object',
  ];
  for (const body of cases) {
    const answer = await post(body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(JSON.parse(answer.body).kind).toBe('Status');
  }
  expect((await server.fetch(`${V1}/hostile`)).status).toBe(404);
});
