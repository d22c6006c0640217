import { kubectlFor, Kubectl, startBerthServer, TestServer } from '@berth/testing';
import { runBerth } from './run-berth';

jest.setTimeout(180_000);

/**
 * The kubectl verbs and output formats of the berth CLI, against the real kubectl v1.32 on the same
 * server: the same text where kubectl's is stable (no ages, no generated names).
 */
describe('berth and kubectl print the same', () => {
  let server: TestServer;
  let kubectl: Kubectl;
  const berth = (args: string[], input?: string) => runBerth(server.kubeconfigPath, args, input);

  async function same(args: string[]): Promise<string> {
    const [ours, theirs] = [await berth(args), await kubectl.run(args)];
    expect({ code: ours.code, stdout: ours.stdout, stderr: ours.stderr }).toEqual({ code: theirs.code, stdout: theirs.stdout, stderr: theirs.stderr });
    return ours.stdout;
  }

  beforeAll(async () => {
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
  });

  describe('output formats', () => {
    it.each([
      ['jsonpath over a list', ['get', 'cm', '-n', 'fmt', '-l', 'tier', '-o', 'jsonpath={.items[*].metadata.name}']],
      ['jsonpath range/end', ['get', 'cm', '-n', 'fmt', '-l', 'tier', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.data}{"\\n"}{end}']],
      ['jsonpath filter', ['get', 'cm', '-n', 'fmt', '-o', 'jsonpath={.items[?(@.metadata.labels.tier=="back")].metadata.name}']],
      ['jsonpath of one object', ['get', 'cm', 'zeta', '-n', 'fmt', '-o', "jsonpath={.metadata.labels['app\\.kubernetes\\.io/name']} {.data.a}"]],
      ['jsonpath with a missing key', ['get', 'cm', 'mid', '-n', 'fmt', '-o', 'jsonpath={.data.none}x']],
      ['custom columns', ['get', 'cm', '-n', 'fmt', '-o', 'custom-columns=NAME:.metadata.name,TIER:.metadata.labels.tier,KEYS:.data']],
      ['custom columns without headers, sorted', ['get', 'cm', '-n', 'fmt', '--no-headers', '--sort-by=.metadata.name', '-o', 'custom-columns=N:metadata.name']],
      ['sorted names', ['get', 'cm', '-n', 'fmt', '--sort-by', '{.metadata.labels.tier}', '-o', 'name']],
      ['sorted json', ['get', 'cm', '-n', 'fmt', '-l', 'tier', '--sort-by', '.metadata.name', '-o', 'jsonpath={.items[*].metadata.name}']],
    ])('%s', async (_what, args) => {
      await same(args);
    });

    it('sorts tables, leaves out headers and adds -L columns as kubectl does', async () => {
      const withoutAge = (text: string) => text.replace(/ +\S+(\s+\S*)?$/gm, '');
      const args = ['get', 'cm', '-n', 'fmt', '--sort-by=.metadata.name', '-L', 'tier,app.kubernetes.io/name'];
      const [ours, theirs] = [await berth(args), await kubectl.run(args)];
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

  /** Runs the same verb on two twin objects, berth on one and kubectl on the other: the same text, names aside. */
  async function twins(kind: string, manifest: (name: string) => string, args: (name: string) => string[]): Promise<string> {
    const n = ++twinCount;
    const [ours, theirs] = [`${kind}-b${n}`, `${kind}-k${n}`];
    expect((await berth(['apply', '-n', 'fmt', '-f', '-'], [manifest(ours), manifest(theirs)].join('---\n'))).code).toBe(0);
    const [a, b] = [await berth(args(ours)), await kubectl.run(args(theirs))];
    const norm = (text: string, name: string) => text.split(name).join('NAME');
    expect({ code: a.code, stdout: norm(a.stdout, ours), stderr: norm(a.stderr, ours) }).toEqual({ code: b.code, stdout: norm(b.stdout, theirs), stderr: norm(b.stderr, theirs) });
    return a.stdout;
  }
  let twinCount = 0;
  const configMap = (labels: string) => (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: {${labels}}\n  annotations: {note: old}\ndata:\n  a: "1"\n`;

  describe('label, annotate, patch', () => {
    it.each([
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
    ])('%s', async (_what, args) => {
      await twins('cm', configMap('tier: front'), (name) => args.map((a) => a.replace('NAME', name)));
    });

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
});
