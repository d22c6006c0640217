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
});
