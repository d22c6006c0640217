import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FALLBACK_SERVER, findKubeconfig, kubeconfigCandidates, kubeconfigYaml, loadKubeConfig } from './kubeconfig';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function sampleKubeconfig(server: string, token: string, namespace?: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(CA_PEM).toString('base64')}`,
    'users:',
    '- name: u',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: ctx',
    '  context:',
    '    cluster: c',
    '    user: u',
    ...(namespace ? [`    namespace: ${namespace}`] : []),
    'current-context: ctx',
    '',
  ].join('\n');
}

describe('kubeconfig search', () => {
  let dir: string;
  let home: string;
  let berth: string;
  let fromEnv: string;
  let explicit: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-kubeconfig-'));
    home = join(dir, 'home');
    berth = join(dir, 'berth.yaml');
    fromEnv = join(dir, 'env.yaml');
    explicit = join(dir, 'explicit.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('tries --kubeconfig alone, else $KUBECONFIG entries, berth data dir, ~/.kube/config', () => {
    expect(kubeconfigCandidates({ kubeconfig: explicit, env: { KUBECONFIG: fromEnv }, home, berthKubeconfig: berth })).toEqual([explicit]);
    expect(kubeconfigCandidates({ env: { KUBECONFIG: `${fromEnv}::/other` }, home, berthKubeconfig: berth })).toEqual([
      fromEnv,
      '/other',
      berth,
      join(home, '.kube', 'config'),
    ]);
    expect(kubeconfigCandidates({ env: {}, home })).toEqual(['/var/lib/berth/kubeconfig.yaml', join(home, '.kube', 'config')]);
  });

  it('picks the first file that exists', () => {
    const search = { env: { KUBECONFIG: fromEnv }, home, berthKubeconfig: berth };
    expect(findKubeconfig(search)).toBeUndefined();
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), sampleKubeconfig('https://home:1', 'h'));
    expect(findKubeconfig(search)).toBe(join(home, '.kube', 'config'));
    writeFileSync(berth, sampleKubeconfig('https://berth:2', 'b'));
    expect(findKubeconfig(search)).toBe(berth);
    writeFileSync(fromEnv, sampleKubeconfig('https://env:3', 'e'));
    expect(findKubeconfig(search)).toBe(fromEnv);
    writeFileSync(explicit, sampleKubeconfig('https://explicit:4', 'x'));
    expect(findKubeconfig({ ...search, kubeconfig: explicit })).toBe(explicit);
  });

  it('fails on a --kubeconfig that does not exist', () => {
    expect(() => findKubeconfig({ kubeconfig: explicit })).toThrow(`stat ${explicit}: no such file or directory`);
  });

  it('resolves the current context: server, CA, token and namespace', () => {
    writeFileSync(explicit, sampleKubeconfig('https://127.0.0.1:7443', 'tok-1', 'team'));
    expect(loadKubeConfig({ kubeconfig: explicit })).toMatchObject({
      server: 'https://127.0.0.1:7443',
      ca: CA_PEM,
      token: 'tok-1',
      namespace: 'team',
      insecureSkipTLSVerify: false,
      source: explicit,
    });
  });

  it('reads back the kubeconfig kubeconfigYaml writes', () => {
    const connection = { server: 'https://10.0.0.1:6443', ca: CA_PEM, insecureSkipTLSVerify: false, clientCert: 'CERT\n', clientKey: 'KEY\n' };
    writeFileSync(explicit, kubeconfigYaml(connection, { cluster: 'berth', user: 'admin' }));
    expect(loadKubeConfig({ kubeconfig: explicit })).toEqual({ ...connection, source: explicit });
  });

  it("writes and reads the cluster's other servers in the berth.dev/servers extension, and refuses a bad list", () => {
    const connection = { server: 'https://10.0.0.1:6443', servers: ['https://10.0.0.1:6443', 'https://10.0.0.2:6443'], ca: CA_PEM, insecureSkipTLSVerify: false, token: 't' };
    const yaml = kubeconfigYaml(connection, { cluster: 'berth', user: 'admin' });
    expect(yaml).toContain('name: berth.dev/servers');
    writeFileSync(explicit, yaml);
    expect(loadKubeConfig({ kubeconfig: explicit })).toEqual({ ...connection, source: explicit });
    for (const bad of ['servers: [ftp://x]', 'servers: [1]', 'servers: nope', `servers: [${Array.from({ length: 17 }, (_, i) => `https://h${i}`).join(', ')}]`]) {
      writeFileSync(explicit, yaml.replace(/servers:\n\s+- https:\/\/10\.0\.0\.2:6443/, bad));
      expect(() => loadKubeConfig({ kubeconfig: explicit })).toThrow('must be a list of at most 16 http(s) URLs');
    }
  });

  it("reads files it names relative to the kubeconfig's directory, the token from token-file, and picks the current context", () => {
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki', 'ca.crt'), CA_PEM);
    writeFileSync(join(dir, 'token'), 'from-file\n');
    writeFileSync(
      explicit,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- {name: other, cluster: {server: "https://other:1"}}',
        '- {name: c, cluster: {server: "https://c:2/", certificate-authority: pki/ca.crt, tls-server-name: api.internal}}',
        'users:',
        '- {name: u, user: {token-file: token}}',
        'contexts:',
        '- {name: first, context: {cluster: other}}',
        '- {name: second, context: {cluster: c, user: u, namespace: ns2}}',
        'current-context: second',
      ].join('\n'),
    );
    expect(loadKubeConfig({ kubeconfig: explicit })).toEqual({
      server: 'https://c:2',
      ca: CA_PEM,
      insecureSkipTLSVerify: false,
      tlsServerName: 'api.internal',
      token: 'from-file',
      namespace: 'ns2',
      source: explicit,
    });
  });

  it.each([
    ['current-context: nowhere\n', 'invalid configuration: no cluster for the current context'],
    ['clusters:\n- {name: c, cluster: {}}\ncontexts:\n- {name: x, context: {cluster: c}}\ncurrent-context: x\n', 'clusters[c].cluster.server is missing'],
    ['clusters:\n- {cluster: {server: "https://a:1"}}\n', 'clusters[0].name is missing'],
    ['clusters:\n- {name: c, cluster: {server: [1]}}\ncontexts:\n- {name: x, context: {cluster: c}}\ncurrent-context: x\n', 'server must be a string'],
    ['clusters: {a: {server: "https://a:1"}}\n', 'clusters must be a list'],
    ['clusters: [{name: c, cluster: {__proto__: {server: "https://a:1"}}}]\n', 'field named "__proto__"'],
    ['a: &a [x]\nb: [*a, *a]\n---\nc: 1\n', 'error loading config file'],
  ])('refuses a malformed kubeconfig (%j) with one BadRequest line', (text, message) => {
    writeFileSync(explicit, text);
    expect(() => loadKubeConfig({ kubeconfig: explicit })).toThrow(message);
    expect(({} as Record<string, unknown>).server).toBeUndefined();
  });

  it('falls back to 127.0.0.1:6443 without any kubeconfig', () => {
    expect(loadKubeConfig({ env: {}, home, berthKubeconfig: berth })).toEqual({ server: FALLBACK_SERVER, insecureSkipTLSVerify: false });
  });

  it('reports a file it cannot parse as a BerthError naming it', () => {
    writeFileSync(explicit, 'clusters: [\n');
    expect(() => loadKubeConfig({ kubeconfig: explicit })).toThrow(`error loading config file "${explicit}"`);
  });
});
