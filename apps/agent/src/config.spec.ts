import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentFlags } from './config';

describe('parseAgentFlags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-agent-config-'));
  const ca = join(dir, 'ca.crt');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('joins a server with a token and the cluster CA; no --runtime-socket means the data dir\'s own runtimed', () => {
    const config = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir, '--node-name', 'Worker-1', '--node-ip', '10.0.0.7']);
    expect(config).toMatchObject({
      connection: { server: 'https://10.0.0.1:6443', token: 'abc', insecureSkipTLSVerify: false, ca: expect.stringContaining('BEGIN CERTIFICATE') },
      dataDir: dir,
      nodeName: 'worker-1',
      nodeIP: '10.0.0.7',
      logLevel: 'info',
    });
    expect(config.runtimeSocket).toBeUndefined();
    const named = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--runtime-socket', 'rt.sock']);
    expect(named.runtimeSocket).toBe(join(process.cwd(), 'rt.sock'));
  });

  it('reads a kubeconfig, with --token overriding its credentials', () => {
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:7443", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: old}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    expect(parseAgentFlags(['--kubeconfig', kubeconfig, '--data-dir', dir]).connection).toMatchObject({ server: 'https://127.0.0.1:7443', token: 'old' });
    expect(parseAgentFlags(['--kubeconfig', kubeconfig, '--token', 'new', '--data-dir', dir]).connection.token).toBe('new');
  });

  it('refuses incomplete or invalid flags with one-line messages', () => {
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--data-dir', dir])).toThrow('--server needs --token');
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--data-dir', dir])).toThrow('--certificate-authority');
    expect(() => parseAgentFlags(['--server', 'x:6443', '--token', 't'])).toThrow('must be an http(s) URL');
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--insecure-skip-tls-verify', '--node-name', 'bad_name'])).toThrow('DNS subdomain');
    expect(() => parseAgentFlags(['--bogus'])).toThrow("unknown option '--bogus'");
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--insecure-skip-tls-verify', '--node-ip', '10.0.0'])).toThrow('IPv4 or IPv6');
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--insecure-skip-tls-verify', '--log-level', 'loud'])).toThrow('--log-level loud');
  });
});
