import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { BERTH_BIN, startBerthServer, withDiscoveryCache, type TestServer } from '@berth/testing';
import { runBerth } from './run-berth';

jest.setTimeout(120_000);

/** `berth completion bash` loaded into a real bash, completing against a server. */
describe('berth completion', () => {
  let server: TestServer;
  const berth = (args: string[], input?: string) => runBerth(server.kubeconfigPath, args, input);

  /** What bash offers for the words (the last one is being typed), through the script berth printed. */
  async function complete(...words: string[]): Promise<string[]> {
    const script = [
      'source <(berth completion bash)',
      `COMP_WORDS=(berth ${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length}`,
      '_berth_complete',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const env = withDiscoveryCache({ ...process.env, KUBECONFIG: server.kubeconfigPath, PATH: `${dirname(BERTH_BIN)}:${process.env.PATH}` });
    const { stdout } = await promisify(execFile)('bash', ['-c', script], { env });
    return stdout.split('\n').filter((line) => line !== '');
  }

  beforeAll(async () => {
    server = await startBerthServer();
    const manifests = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: alpha, namespace: default}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: beta, namespace: default}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: kube-system}\n',
      'apiVersion: v1\nkind: Node\nmetadata: {name: worker-1}\n',
    ].join('---\n');
    expect((await berth(['apply', '-f', '-'], manifests)).code).toBe(0);
  });

  afterAll(async () => {
    await server?.cleanup();
  });

  it('completes verbs, subcommands and flags', async () => {
    expect(await complete('dr')).toEqual(['drain']);
    expect(await complete('config', 'use')).toEqual(['use-context']);
    expect(await complete('get', '--no-h')).toEqual(['--no-headers']);
    expect(await complete('get', '--kubec')).toEqual(['--kubeconfig']);
    expect(await complete('completion', '')).toEqual(['bash', 'zsh']);
  });

  it('completes resource types from discovery and names from the server, in the namespace given', async () => {
    expect(await complete('get', 'configm')).toEqual(['configmaps']);
    expect(await complete('get', 'configmaps', '')).toEqual(['alpha', 'beta']);
    expect(await complete('describe', 'cm', 'b')).toEqual(['beta']);
    expect(await complete('get', 'cm/a')).toEqual(['cm/alpha']);
    expect(await complete('get', 'cm', '-n', 'kube-system', '')).toEqual(['other']);
    expect(await complete('drain', 'work')).toEqual(['worker-1']);
    expect(await complete('get', 'deployments.apps', '')).toEqual([]);
  });

  it('prints scripts for bash and zsh, and refuses other shells in one line', async () => {
    expect((await berth(['completion', 'bash'])).stdout).toContain('complete -o default -F _berth_complete berth');
    expect((await berth(['completion', 'zsh'])).stdout).toMatch(/^#compdef berth\n/);
    expect(await berth(['completion', 'fish'])).toMatchObject({ code: 1, stdout: '', stderr: 'error: Unsupported shell type "fish".\n' });
  });
});
