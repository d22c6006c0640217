import { copyFileSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlFor, type Kubectl } from '@berth/testing';
import { runBerth } from './run-berth';

jest.setTimeout(60_000);

const KUBECONFIG = `apiVersion: v1
kind: Config
# a comment use-context keeps
clusters:
- name: berth
  cluster:
    server: https://127.0.0.1:1234
    certificate-authority-data: QUJD
- name: other
  cluster: {server: "http://x:1", insecure-skip-tls-verify: true, certificate-authority: ca.pem, unknown-field: 1}
users:
- name: admin
  user: {client-certificate-data: QUJD, client-key-data: QUJD}
- name: tok
  user: {token: secret-token, username: bob, password: pw, client-key: ca.pem}
contexts:
- name: berth
  context: {cluster: berth, user: admin}
- name: dev
  context: {cluster: other, user: tok, namespace: team}
current-context: berth
preferences: {}
`;

/** `berth config` beside `kubectl config` on copies of the same kubeconfig (no server is asked). */
describe('berth config', () => {
  let dir: string;
  let ours: string;
  let theirs: string;
  let kubectl: Kubectl;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
    [ours, theirs] = [join(dir, 'ours'), join(dir, 'theirs')];
    writeFileSync(ours, KUBECONFIG, { mode: 0o600 });
    copyFileSync(ours, theirs);
    writeFileSync(join(dir, 'ca.pem'), 'CA\n');
    kubectl = kubectlFor({ kubeconfigPath: theirs });
  });

  afterEach(() => {
    kubectl?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const both = async (args: string[]) => [await runBerth(ours, args), await kubectl.run(args)] as const;

  it.each([
    ['view', ['config', 'view']],
    ['view --raw', ['config', 'view', '--raw']],
    ['view --minify', ['config', 'view', '--minify']],
    ['view --minify of another context', ['--context', 'dev', 'config', 'view', '--minify']],
    ['view --flatten', ['config', 'view', '--flatten', '--raw']],
    ['view -o json', ['config', 'view', '-o', 'json']],
    ['view -o jsonpath', ['config', 'view', '-o', 'jsonpath={.users[?(@.name=="tok")].user.username}']],
    ['get-contexts', ['config', 'get-contexts']],
    ['get-contexts NAME', ['config', 'get-contexts', 'dev']],
    ['get-contexts -o name', ['config', 'get-contexts', '-o', 'name']],
    ['get-contexts --no-headers', ['config', 'get-contexts', '--no-headers']],
    ['get-contexts of a missing one', ['config', 'get-contexts', 'nope']],
    ['current-context', ['config', 'current-context']],
    ['use-context of a missing one', ['config', 'use-context', 'nope']],
  ])('%s prints what kubectl prints', async (_what, args) => {
    const [a, b] = await both(args);
    expect({ code: a.code, stdout: a.stdout, stderr: a.stderr }).toEqual({ code: b.code, stdout: b.stdout, stderr: b.stderr });
  });

  it('use-context switches as kubectl does, keeping the rest of the file', async () => {
    const [a, b] = await both(['config', 'use-context', 'dev']);
    expect(a).toMatchObject({ code: 0, stdout: 'Switched to context "dev".\n', stderr: '' });
    expect(a.stdout).toBe(b.stdout);
    expect(readFileSync(ours, 'utf8')).toBe(KUBECONFIG.replace('current-context: berth', 'current-context: dev'));
    const [viewA, viewB] = await both(['config', 'view', '--raw']);
    expect(viewA.stdout).toBe(viewB.stdout);
  });

  it('switches through a symbolic link, keeping the link', async () => {
    const link = join(dir, 'link');
    symlinkSync(ours, link);
    expect(await runBerth(link, ['config', 'use-context', 'dev'])).toMatchObject({ code: 0, stdout: 'Switched to context "dev".\n' });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(ours, 'utf8')).toContain('current-context: dev');
  });

  it('views an empty kubeconfig as kubectl does, and refuses a malformed one in one line', async () => {
    writeFileSync(ours, '');
    writeFileSync(theirs, '');
    const [a, b] = await both(['config', 'view']);
    expect(a.stdout).toBe(b.stdout);
    writeFileSync(ours, 'clusters: [');
    const bad = await runBerth(ours, ['config', 'view']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: error loading config file "[^"]+": [^\n]+\n$/);
  });
});
