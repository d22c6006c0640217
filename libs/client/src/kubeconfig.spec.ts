import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FALLBACK_SERVER, findKubeconfig, kubeconfigCandidates, loadKubeConfig } from './kubeconfig';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function kubeconfigYaml(server: string, token: string, namespace?: string): string {
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
    writeFileSync(join(home, '.kube', 'config'), kubeconfigYaml('https://home:1', 'h'));
    expect(findKubeconfig(search)).toBe(join(home, '.kube', 'config'));
    writeFileSync(berth, kubeconfigYaml('https://berth:2', 'b'));
    expect(findKubeconfig(search)).toBe(berth);
    writeFileSync(fromEnv, kubeconfigYaml('https://env:3', 'e'));
    expect(findKubeconfig(search)).toBe(fromEnv);
    writeFileSync(explicit, kubeconfigYaml('https://explicit:4', 'x'));
    expect(findKubeconfig({ ...search, kubeconfig: explicit })).toBe(explicit);
  });

  it('fails on a --kubeconfig that does not exist', () => {
    expect(() => findKubeconfig({ kubeconfig: explicit })).toThrow(`stat ${explicit}: no such file or directory`);
  });

  it('resolves the current context: server, CA, token and namespace', () => {
    writeFileSync(explicit, kubeconfigYaml('https://127.0.0.1:7443', 'tok-1', 'team'));
    expect(loadKubeConfig({ kubeconfig: explicit })).toMatchObject({
      server: 'https://127.0.0.1:7443',
      ca: CA_PEM,
      token: 'tok-1',
      namespace: 'team',
      insecureSkipTLSVerify: false,
      source: explicit,
    });
  });

  it('falls back to 127.0.0.1:6443 without any kubeconfig', () => {
    expect(loadKubeConfig({ env: {}, home, berthKubeconfig: berth })).toEqual({ server: FALLBACK_SERVER, insecureSkipTLSVerify: false });
  });

  it('reports a file it cannot parse as a BerthError naming it', () => {
    writeFileSync(explicit, 'clusters: [\n');
    expect(() => loadKubeConfig({ kubeconfig: explicit })).toThrow(`error loading config file "${explicit}"`);
  });
});
