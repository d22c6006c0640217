import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT, startBerthServer, TestServer } from '@berth/testing';
import { BackgroundBerth, BerthResult, runBerth } from './run-berth';

jest.setTimeout(180_000);

const EXAMPLES = join(REPO_ROOT, 'deploy', 'examples');

/** Output is one line on stderr, and the exit code is 1. */
function expectOneLineFailure(result: BerthResult, message: string | RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr.trimEnd()).toMatch(message);
  expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
}

describe('berth CLI against berth server', () => {
  let server: TestServer;
  let dir: string;
  const berth = (args: string[], input?: string) => runBerth(server.kubeconfigPath, args, input);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cli-e2e-'));
    server = await startBerthServer();
  });

  afterAll(async () => {
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('apply', () => {
    it('creates, then leaves unchanged, then configures what changed', async () => {
      const first = await berth(['apply', '-f', EXAMPLES]);
      expect(first).toMatchObject({ code: 0, stderr: '' });
      expect(first.stdout).toBe('configmap/web-content created\ndeployment.apps/web created\nservice/web created\n');

      const second = await berth(['apply', '-f', EXAMPLES]);
      expect(second.stdout).toBe('configmap/web-content unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n');
      expect(second.code).toBe(0);

      const changed = file('web-content.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-content\n  labels:\n    app: web\ndata:\n  index.html: changed\n');
      const third = await berth(['apply', '-f', changed]);
      expect(third).toMatchObject({ code: 0, stdout: 'configmap/web-content configured\n' });
    });

    it('reads stdin, JSON and List kinds, and puts namespace-less objects in -n', async () => {
      expect((await berth(['create', 'namespace', 'apply-ns'])).stdout).toBe('namespace/apply-ns created\n');
      const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-json' }, data: { a: '1' } }] };
      const result = await berth(['apply', '-n', 'apply-ns', '-f', '-'], JSON.stringify(list));
      expect(result).toMatchObject({ code: 0, stdout: 'configmap/from-json created\n' });
      expect((await berth(['get', 'cm', 'from-json', '-n', 'apply-ns', '-o', 'name'])).stdout).toBe('configmap/from-json\n');
    });

    it('applies nothing from a malformed file and says which document is wrong', async () => {
      const bad = file('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never-applied\n---\nkind: [unclosed\n');
      expectOneLineFailure(await berth(['apply', '-f', bad]), /^error: .*bad\.yaml could not be decoded as YAML: document 2: /);
      const get = await berth(['get', 'cm', 'never-applied']);
      expectOneLineFailure(get, 'Error from server (NotFound): configmaps "never-applied" not found');
    });

    it('rejects documents without apiVersion/kind and unknown kinds', async () => {
      const noKind = file('nokind.yaml', 'metadata:\n  name: x\n');
      expectOneLineFailure(await berth(['apply', '-f', noKind]), /^error: error validating .*nokind\.yaml \(document 1\): apiVersion not set, kind not set$/);
      const unknown = file('unknown.yaml', 'apiVersion: v1\nkind: Gadget\nmetadata:\n  name: x\n');
      expectOneLineFailure(await berth(['apply', '-f', unknown]), /no matches for kind "Gadget" in version "v1"$/);
    });

    it('applies the rest of a manifest around an object of a kind the server does not serve, and exits 1', async () => {
      const mixed = file('mixed.yaml', [
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before-gadget\n',
        'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-gadget\n',
      ].join('---\n'));
      const result = await berth(['apply', '-f', mixed]);
      expect(result.stdout).toBe('configmap/before-gadget created\nconfigmap/after-gadget created\n');
      expectOneLineFailure(result, `error: resource mapping not found for name: "g" namespace: "" from "${mixed}": no matches for kind "Gadget" in version "example.com/v1"`);
      expect((await berth(['get', 'cm', 'after-gadget', '-o', 'name'])).stdout).toBe('configmap/after-gadget\n');
    });

    it('reports what the server rejects as the server said it', async () => {
      const invalid = file('invalid.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n');
      expectOneLineFailure(await berth(['apply', '-f', invalid]), /^Error from server \(Invalid\): error when applying ".*invalid\.yaml": /);
    });
  });

  describe('get', () => {
    beforeAll(async () => {
      await berth(['create', 'namespace', 'get-ns']);
      const manifests = [
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alpha\n  labels:\n    tier: front\ndata:\n  a: "1"\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beta\n  labels:\n    tier: back\n',
      ].join('---\n');
      const result = await berth(['apply', '-n', 'get-ns', '-f', '-'], manifests);
      expect(result.code).toBe(0);
    });

    it('prints the server table with upper-cased headers and aligned columns', async () => {
      const result = await berth(['get', 'configmaps', '-n', 'get-ns']);
      expect(result.code).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^NAME {2,}DATA {2,}AGE$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['alpha', '1'], ['beta', '0']]);
      // every column starts where its header does
      expect(lines[1].indexOf('1')).toBe(lines[0].indexOf('DATA'));
    });

    it('filters by label and field, and shows labels and namespaces on request', async () => {
      const byLabel = await berth(['get', 'cm', '-n', 'get-ns', '-l', 'tier=front', '--show-labels']);
      expect(byLabel.stdout).toMatch(/^NAME +DATA +AGE +LABELS\nalpha +1 +\S+ +tier=front\n$/);
      const byField = await berth(['get', 'cm', '-n', 'get-ns', '--field-selector', 'metadata.name=beta', '-o', 'name']);
      expect(byField.stdout).toBe('configmap/beta\n');
      const everywhere = await berth(['get', 'cm', '-A', '-l', 'tier']);
      expect(everywhere.stdout).toMatch(/^NAMESPACE +NAME +DATA +AGE\nget-ns +alpha .*\nget-ns +beta /);
    });

    it('prints wide columns with -o wide', async () => {
      const narrow = await berth(['get', 'deploy', 'web']);
      const wide = await berth(['get', 'deploy', 'web', '-o', 'wide']);
      expect(narrow.stdout.split('\n')[0]).toMatch(/^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$/);
      expect(wide.stdout.split('\n')[0]).toMatch(/^NAME +READY +UP-TO-DATE +AVAILABLE +AGE +CONTAINERS +IMAGES +SELECTOR$/);
      expect(wide.stdout.split('\n')[1]).toMatch(/^web +.* httpd +busybox:1\.36 +app=web$/);
    });

    it('prints objects as JSON and YAML, several as a List', async () => {
      const one = JSON.parse((await berth(['get', 'cm', 'alpha', '-n', 'get-ns', '-o', 'json'])).stdout);
      expect(one).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'alpha', namespace: 'get-ns' }, data: { a: '1' } });
      const yaml = (await berth(['get', 'cm', '-n', 'get-ns', '-o', 'yaml'])).stdout;
      expect(yaml).toMatch(/^apiVersion: v1\nitems:\n- apiVersion: v1\n/);
      expect(yaml).toContain('name: beta');
      expect(yaml).toMatch(/\nkind: List\n/);
    });

    it('prints several types with kind-qualified names, and -o name', async () => {
      const result = await berth(['get', 'deploy,svc']);
      // `default` also holds the apiserver's own `kubernetes` Service, as in Kubernetes.
      expect(result.stdout).toMatch(/^NAME +READY .*\ndeployment\.apps\/web .*\n\nNAME +TYPE .*\nservice\/kubernetes +ClusterIP .*\nservice\/web /);
      expect((await berth(['get', 'deploy/web', 'svc/web', '-o', 'name'])).stdout).toBe('deployment.apps/web\nservice/web\n');
    });

    it('says when there is nothing, on stderr', async () => {
      const result = await berth(['get', 'secrets', '-n', 'get-ns']);
      expect(result).toMatchObject({ code: 0, stdout: '', stderr: 'No resources found in get-ns namespace.\n' });
    });

    it('prints changes as they happen with -w', async () => {
      const watch = new BackgroundBerth(server.kubeconfigPath, ['get', 'cm', '-n', 'get-ns', '-w']);
      try {
        await watch.waitFor(/beta/);
        await berth(['apply', '-n', 'get-ns', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gamma\n');
        await watch.waitFor(/\ngamma +0 /);
        expect(watch.stdout.split('\n')[0]).toMatch(/^NAME +DATA +AGE$/);
      } finally {
        await watch.stop();
      }
    });
  });

  describe('describe', () => {
    it('describes a Deployment like kubectl', async () => {
      const result = await berth(['describe', 'deploy', 'web']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Name: +web\nNamespace: +default\n/);
      expect(result.stdout).toMatch(/\nSelector: +app=web\n/);
      expect(result.stdout).toMatch(/\nPod Template:\n {2}Labels: +app=web\n {2}Containers:\n {3}httpd:\n {4}Image: +busybox:1\.36\n/);
      expect(result.stdout).toMatch(/\nEvents: +<none>\n$/);
    });

    it('shows the events about the object', async () => {
      const cm = JSON.parse((await berth(['get', 'cm', 'web-content', '-o', 'json'])).stdout);
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'web-content.1', namespace: 'default' },
        involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', name: 'web-content', namespace: 'default', uid: cm.metadata.uid },
        type: 'Normal',
        reason: 'Checked',
        message: 'looked at it',
        source: { component: 'e2e-test' },
        firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        count: 1,
      };
      expect((await berth(['apply', '-f', '-'], JSON.stringify(event))).code).toBe(0);
      const result = await berth(['describe', 'configmap', 'web-content']);
      expect(result.stdout).toMatch(/\nData\n====\nindex\.html:\n----\nchanged\n/);
      expect(result.stdout).toMatch(/\nEvents:\n {2}Type +Reason +Age +From +Message\n {2}---- +------ +---- +---- +-------\n {2}Normal +Checked +\S+ +e2e-test +looked at it\n$/);
    });

    it('hides Secret values', async () => {
      const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { password: Buffer.from('hunter22').toString('base64') } };
      await berth(['apply', '-f', '-'], JSON.stringify(secret));
      const result = await berth(['describe', 'secret', 'creds']);
      expect(result.stdout).toMatch(/\npassword: +8 bytes\n/);
      expect(result.stdout).not.toContain('hunter22');
      expect(result.stdout).not.toContain(secret.data.password);
    });
  });

  describe('delete', () => {
    it('deletes what a manifest names, then reports it missing', async () => {
      const first = await berth(['delete', '-f', EXAMPLES]);
      expect(first).toMatchObject({ code: 0, stdout: 'configmap "web-content" deleted\ndeployment.apps "web" deleted\nservice "web" deleted\n' });
      const again = await berth(['delete', '-f', join(EXAMPLES, 'web.yaml')]);
      expect(again.code).toBe(1);
      expect(again.stderr.split('\n')[0]).toMatch(/^Error from server \(NotFound\): error when deleting ".*web\.yaml": configmaps "web-content" not found$/);
    });

    it('deletes by name and by label', async () => {
      expect((await berth(['delete', 'cm', 'gamma', '-n', 'get-ns'])).stdout).toBe('configmap "gamma" deleted\n');
      expect((await berth(['delete', 'cm', '-l', 'tier', '-n', 'get-ns'])).stdout).toBe('configmap "alpha" deleted\nconfigmap "beta" deleted\n');
      expect((await berth(['get', 'cm', '-n', 'get-ns', '-o', 'name'])).stdout).toBe('');
    });

    it('waits until the object is gone (--wait, --timeout), or not (--wait=false), as kubectl', async () => {
      await berth(['create', 'namespace', 'del-ns']);
      const held = (name: string) => file(`${name}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: del-ns, finalizers: [example.com/hold]}\n`);
      expect((await berth(['apply', '-f', held('held')])).code).toBe(0);
      const timedOut = await berth(['delete', 'cm', 'held', '-n', 'del-ns', '--timeout=1s']);
      expect(timedOut).toMatchObject({ code: 1, stdout: 'configmap "held" deleted\n' });
      expect(timedOut.stderr.trimEnd()).toBe('error: timed out waiting for the condition on configmaps/held');

      const waiting = berth(['delete', 'cm', 'held', '-n', 'del-ns']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await berth(['patch', 'cm', 'held', '-n', 'del-ns', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'])).code).toBe(0);
      expect(await waiting).toMatchObject({ code: 0, stdout: 'configmap "held" deleted\n' });

      expect((await berth(['apply', '-f', held('kept')])).code).toBe(0);
      expect(await berth(['delete', 'cm', 'kept', '-n', 'del-ns', '--wait=false'])).toMatchObject({ code: 0, stdout: 'configmap "kept" deleted\n' });
      expect((await berth(['get', 'cm', 'kept', '-n', 'del-ns', '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).not.toBe('');
      await berth(['patch', 'cm', 'kept', '-n', 'del-ns', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    });

    it('takes kubectl\'s --dry-run, --ignore-not-found, --force and --grace-period rules', async () => {
      expect((await berth(['create', 'cm', 'spared', '-n', 'del-ns'])).code).toBe(0);
      expect(await berth(['delete', 'cm', 'spared', '-n', 'del-ns', '--dry-run=server'])).toMatchObject({ code: 0, stdout: 'configmap "spared" deleted (server dry run)\n' });
      expect(await berth(['delete', 'cm', 'spared', '-n', 'del-ns', '--dry-run=client'])).toMatchObject({ code: 0, stdout: 'configmap "spared" deleted (dry run)\n' });
      expect((await berth(['get', 'cm', 'spared', '-n', 'del-ns', '-o', 'name'])).stdout).toBe('configmap/spared\n');
      expect(await berth(['delete', 'cm', 'missing', '-n', 'del-ns', '--ignore-not-found'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
      expectOneLineFailure(await berth(['delete', 'cm', 'spared', '-n', 'del-ns', '--now', '--grace-period=5']), 'error: --now and --grace-period cannot be specified together');
      expectOneLineFailure(await berth(['delete', 'cm', 'spared', '-n', 'del-ns', '--cascade=sideways']), /invalid cascade value \(sideways\)/);
      const forced = await berth(['delete', 'cm', 'spared', '-n', 'del-ns', '--force', '--grace-period=0']);
      expect(forced).toMatchObject({ code: 0, stdout: 'configmap "spared" force deleted\n' });
      expect(forced.stderr).toMatch(/^Warning: Immediate deletion does not wait for confirmation/);
      expect((await berth(['get', 'cm', '-n', 'del-ns', '-o', 'name'])).stdout).toBe('');
    });
  });

  describe('errors', () => {
    it('one line, exit 1, for unknown types and missing objects', async () => {
      expectOneLineFailure(await berth(['get', 'foo']), 'error: the server doesn\'t have a resource type "foo"');
      expectOneLineFailure(await berth(['describe', 'po', 'x']), 'Error from server (NotFound): pods "x" not found');
      expectOneLineFailure(await berth(['get', 'po', '-o', 'table']), /^error: unable to match a printer suitable for the output format "table"/);
    });

    it('names the server when it cannot connect', async () => {
      const port = await freePort();
      const kubeconfig = join(dir, 'refused.yaml');
      writeFileSync(
        kubeconfig,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${port}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
      );
      expectOneLineFailure(
        await runBerth(server.kubeconfigPath, ['--kubeconfig', kubeconfig, 'get', 'pods']),
        `The connection to the server 127.0.0.1:${port} was refused - did you specify the right host or port?`,
      );
    });
  });
});
