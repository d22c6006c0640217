// The real kubectl explain (v1.32: OpenAPI v3) against berth server: schemas generated from the kinds' folders.
import { Kubectl, kubectlFor, startBerthServer, TestServer } from '@berth/testing';

let server: TestServer;
let kubectl: Kubectl;

beforeAll(async () => {
  server = await startBerthServer();
});

beforeEach(() => {
  kubectl = kubectlFor(server);
});

afterEach(() => kubectl.cleanup());

afterAll(async () => {
  await server?.cleanup();
});

async function explain(...args: string[]): Promise<string> {
  const result = await kubectl.run(['explain', ...args]);
  if (result.code !== 0) throw new Error(`kubectl explain ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('kubectl explain pod.spec.containers: the fields the server validates, with their types, enums and descriptions', async () => {
  const out = await explain('pod.spec.containers');
  expect(out).toMatch(/^KIND:\s+Pod\nVERSION:\s+v1\n\nFIELD: containers <\[\]Container>\n/);
  expect(out).toContain('The containers of the pod; at least one.');
  expect(out).toMatch(/\n  image\t<string> -required-\n    The image to run/);
  expect(out).toMatch(/\n  name\t<string> -required-\n/);
  expect(out).toMatch(/\n  imagePullPolicy\t<string>\n  enum: Always, IfNotPresent, Never\n/);
  expect(out).toMatch(/\n  ports\t<\[\]ContainerPort>\n/);
  expect(out).toMatch(/\n  resources\t<ResourceRequirements>\n/);
});

test('kubectl explain pod: the kind and its top-level fields', async () => {
  const out = await explain('pod');
  expect(out).toContain('A group of containers that share a network namespace and volumes');
  expect(out).toMatch(/\n  metadata\t<ObjectMeta> -required-\n/);
  expect(out).toMatch(/\n  spec\t<PodSpec> -required-\n/);
  expect(out).toMatch(/\n  status\t<PodStatus>\n/);
});

test('kubectl explain deployment --recursive: every field, nested, through the pod template', async () => {
  const out = await explain('deployment', '--recursive');
  expect(out).toMatch(/^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n/);
  expect(out).toMatch(/\n  spec\t<DeploymentSpec> -required-\n/);
  expect(out).toMatch(/\n    strategy\t<DeploymentStrategy>\n      rollingUpdate\t<RollingUpdateDeployment>\n        maxSurge\t<IntOrString>\n        maxUnavailable\t<IntOrString>\n      type\t<string>\n      enum: Recreate, RollingUpdate\n/);
  expect(out).toMatch(/\n    template\t<PodTemplateSpec> -required-\n/);
  expect(out).toMatch(/\n        containers\t<\[\]Container> -required-\n/);
  expect(out).toMatch(/\n            limits\t<map\[string\]Quantity>\n/);
});

test('kubectl explain names the field a kind lacks', async () => {
  const result = await kubectl.run(['explain', 'pod.spec.replicaz']);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('field "replicaz" does not exist');
});

test('kubectl explain job.spec and cronjob.spec: batch/v1 from the batch folders, through the job template', async () => {
  const job = await explain('job.spec');
  expect(job).toMatch(/^GROUP:\s+batch\nKIND:\s+Job\nVERSION:\s+v1\n\nFIELD: spec <JobSpec>\n/);
  expect(job).toMatch(/\n  backoffLimit\t<integer>\n    Failed pods after which the Job fails \(6 by default\)/);
  expect(job).toMatch(/\n  completionMode\t<string>\n  enum: NonIndexed, Indexed\n/);
  expect(job).toMatch(/\n  template\t<PodTemplateSpec> -required-\n/);
  const cronJob = await explain('cronjob.spec', '--recursive');
  expect(cronJob).toMatch(/^GROUP:\s+batch\nKIND:\s+CronJob\nVERSION:\s+v1\n/);
  expect(cronJob).toMatch(/\n  concurrencyPolicy\t<string> -required-\n  enum: Allow, Forbid, Replace\n/);
  expect(cronJob).toMatch(/\n  schedule\t<string> -required-\n/);
  expect(cronJob).toMatch(/\n  jobTemplate\t<JobTemplateSpec> -required-\n    metadata\t<ObjectMeta>\n/);
  expect(cronJob).toMatch(/\n      parallelism\t<integer>\n/);
});
