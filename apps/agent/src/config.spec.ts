import { nodeCredentialPath } from '@berth/agent';
import { formatJoinToken } from '@berth/client';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelpRequested, misstatedDefaults } from '@berth/flags';
import { agentCommand, parseAgentFlags } from './config';

describe('parseAgentFlags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-agent-config-'));
  const ca = join(dir, 'ca.crt');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('joins a server with a token and the cluster CA; no --runtime-socket means the data dir\'s own runtimed', () => {
    const config = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir, '--node-name', 'Worker-1', '--node-ip', '10.0.0.7']);
    expect(config).toMatchObject({
      credential: { kind: 'node', server: { server: 'https://10.0.0.1:6443', token: 'abc', insecureSkipTLSVerify: false, ca: expect.stringContaining('BEGIN CERTIFICATE') } },
      dataDir: dir,
      nodeName: 'worker-1',
      nodeIP: '10.0.0.7',
      logLevel: 'info',
    });
    expect(config.runtimeSocket).toBeUndefined();
    const named = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--runtime-socket', 'rt.sock']);
    expect(named.runtimeSocket).toBe(join(process.cwd(), 'rt.sock'));
  });

  it('takes a join token: its secret is the bearer token to join with, and the CA is pinned by its hash', () => {
    const caPem = '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n';
    const token = formatJoinToken(caPem, 'node-secret');
    const pinned = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', token, '--data-dir', dir, '--cgroup-parent', '/berth-host-1']);
    expect(pinned.credential).toEqual({
      kind: 'node',
      server: { server: 'https://10.0.0.1:6443', token: 'node-secret', ca: undefined, insecureSkipTLSVerify: false },
      pinnedCaHash: token.slice(3, 67),
    });
    expect(pinned.cgroupParent).toBe('/berth-host-1');
    // A given CA must be the token's; then nothing is fetched.
    const caFile = join(dir, 'token-ca.crt');
    writeFileSync(caFile, caPem);
    const withCa = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', token, '--certificate-authority', caFile, '--data-dir', dir]);
    expect(withCa.credential).toEqual({ kind: 'node', server: { server: 'https://10.0.0.1:6443', token: 'node-secret', ca: caPem, insecureSkipTLSVerify: false }, pinnedCaHash: undefined });
    expect(() => parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', token, '--certificate-authority', ca, '--data-dir', dir])).toThrow('not the CA the token was issued for');
    expect(() => parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', 'K10abc::node:x', '--data-dir', dir])).toThrow('not a valid join token');
    expect(() => parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', token, '--cgroup-parent', 'berth'])).toThrow('absolute cgroup path');
  });

  it('takes several servers, comma-separated, and joins the first with the others to move to', () => {
    const config = parseAgentFlags(['--server', 'https://10.0.0.1:6443, https://10.0.0.2:6443,https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir]);
    expect(config.credential).toMatchObject({
      kind: 'node',
      server: { server: 'https://10.0.0.1:6443', servers: ['https://10.0.0.1:6443', 'https://10.0.0.2:6443'], token: 'abc' },
    });
    const one = parseAgentFlags(['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir]);
    expect(one.credential.kind === 'node' && one.credential.server).not.toHaveProperty('servers');
    expect(() => parseAgentFlags(['--server', 'https://10.0.0.1:6443,ftp://x', '--token', 'abc', '--data-dir', dir])).toThrow('ftp://x: must be an http(s) URL');
    expect(() => parseAgentFlags(['--server', 'https://10.0.0.1:6443,http://10.0.0.2:6443', '--token', 'abc', '--data-dir', dir])).toThrow('same scheme');
    expect(() => parseAgentFlags(['--server', ',', '--token', 'abc', '--data-dir', dir])).toThrow('at least one URL');
    const many = Array.from({ length: 17 }, (_, i) => `https://10.0.0.${i + 1}:6443`).join(',');
    expect(() => parseAgentFlags(['--server', many, '--token', 'abc', '--data-dir', dir])).toThrow('at most 16');
  });

  it('reads a kubeconfig, with --token overriding its credentials', () => {
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:7443", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: old}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    expect(parseAgentFlags(['--kubeconfig', kubeconfig, '--data-dir', dir]).credential).toMatchObject({ kind: 'kubeconfig', connection: { server: 'https://127.0.0.1:7443', token: 'old' } });
    expect(parseAgentFlags(['--kubeconfig', kubeconfig, '--token', 'new', '--data-dir', dir]).credential).toMatchObject({ kind: 'kubeconfig', connection: { token: 'new' } });
  });

  it('reads the token from --token-file or $BERTH_TOKEN, so that it never shows in ps', () => {
    const server = ['--server', 'https://10.0.0.1:6443', '--insecure-skip-tls-verify', '--data-dir', join(dir, 'fresh')];
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'from-file\n', { mode: 0o600 });
    const tokenOf = (config: ReturnType<typeof parseAgentFlags>) => (config.credential.kind === 'node' ? config.credential.server?.token : undefined);
    expect(tokenOf(parseAgentFlags([...server, '--token-file', tokenFile], {}))).toBe('from-file');
    expect(tokenOf(parseAgentFlags(server, { BERTH_TOKEN: 'from-env' }))).toBe('from-env');
    // The flags name the token more precisely than the environment does.
    expect(tokenOf(parseAgentFlags([...server, '--token-file', tokenFile], { BERTH_TOKEN: 'from-env' }))).toBe('from-file');
    expect(tokenOf(parseAgentFlags([...server, '--token', 'from-flag'], { BERTH_TOKEN: 'from-env' }))).toBe('from-flag');
    expect(() => parseAgentFlags([...server, '--token', 'x', '--token-file', tokenFile], {})).toThrow('give --token or --token-file, not both');
    expect(() => parseAgentFlags([...server, '--token-file', join(dir, 'missing')], {})).toThrow(`--token-file ${join(dir, 'missing')}: cannot read it (ENOENT)`);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => parseAgentFlags([...server, '--token-file', join(dir, 'empty')], {})).toThrow('the file is empty');
  });

  it('needs no token once the data dir holds the node credential', () => {
    const joined = join(dir, 'joined');
    const server = ['--server', 'https://10.0.0.1:6443', '--data-dir', joined];
    expect(() => parseAgentFlags(server, {})).toThrow(`--server needs a join token (--token-file FILE, $BERTH_TOKEN or --token) until ${nodeCredentialPath(joined)} holds the node's credential`);
    expect(() => parseAgentFlags(['--data-dir', joined], {})).toThrow('no API server to join');
    mkdirSync(join(joined, 'node'), { recursive: true });
    writeFileSync(nodeCredentialPath(joined), 'apiVersion: v1\n');
    expect(parseAgentFlags(server, {}).credential).toEqual({ kind: 'node', server: { server: 'https://10.0.0.1:6443', token: undefined, ca: undefined, insecureSkipTLSVerify: false }, pinnedCaHash: undefined });
    expect(parseAgentFlags(['--data-dir', joined], {}).credential).toEqual({ kind: 'node' });
  });

  it('takes a shorter crash back-off base and another node Lease duration', () => {
    const flags = ['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir];
    expect(parseAgentFlags(flags).crashLoopBackoffBaseMs).toBe(10_000);
    expect(parseAgentFlags([...flags, '--crash-loop-backoff-base', '1s']).crashLoopBackoffBaseMs).toBe(1000);
    expect(parseAgentFlags(flags).nodeLeaseDurationMs).toBe(20_000);
    expect(parseAgentFlags([...flags, '--node-lease-duration', '40s']).nodeLeaseDurationMs).toBe(40_000);
    expect(() => parseAgentFlags([...flags, '--node-lease-duration', '0'])).toThrow();
    expect(() => parseAgentFlags([...flags, '--crash-loop-backoff-base', 'soon'])).toThrow('invalid duration');
  });

  it("takes the image GC thresholds as kubelet's, refusing crossed or out-of-range ones", () => {
    const flags = ['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir];
    expect(parseAgentFlags(flags)).toMatchObject({ imageGCHighThresholdPercent: 85, imageGCLowThresholdPercent: 80 });
    expect(parseAgentFlags([...flags, '--image-gc-high-threshold', '90', '--image-gc-low-threshold', '50'])).toMatchObject({ imageGCHighThresholdPercent: 90, imageGCLowThresholdPercent: 50 });
    expect(() => parseAgentFlags([...flags, '--image-gc-high-threshold', '101'])).toThrow('must be a whole percentage (0-100)');
    expect(() => parseAgentFlags([...flags, '--image-gc-high-threshold', '70'])).toThrow('--image-gc-low-threshold (80) must not be above --image-gc-high-threshold (70)');
  });

  it("takes the pods' cluster DNS server and domain", () => {
    const flags = ['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir];
    expect(parseAgentFlags(flags)).toMatchObject({ clusterDNS: '169.254.20.10', clusterDomain: 'cluster.local' });
    expect(parseAgentFlags([...flags, '--cluster-dns', '10.96.0.10', '--cluster-domain', 'berth.test'])).toMatchObject({ clusterDNS: '10.96.0.10', clusterDomain: 'berth.test' });
    expect(() => parseAgentFlags([...flags, '--cluster-dns', '::1'])).toThrow('must be an IPv4 address');
    expect(() => parseAgentFlags([...flags, '--cluster-domain', '-bad-'])).toThrow('must be a DNS domain');
  });

  it('takes the resolv.conf of dnsPolicy Default pods as an absolute path, left to the agent to choose when absent', () => {
    const flags = ['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir];
    expect(parseAgentFlags(flags).resolvConf).toBeUndefined();
    expect(parseAgentFlags([...flags, '--resolv-conf', 'run/resolv.conf']).resolvConf).toBe(join(process.cwd(), 'run/resolv.conf'));
  });

  it('runs the node services unless told not to', () => {
    const flags = ['--server', 'https://10.0.0.1:6443', '--token', 'abc', '--certificate-authority', ca, '--data-dir', dir];
    expect(parseAgentFlags(flags).nodeServices).toBe(true);
    expect(parseAgentFlags([...flags, '--disable-node-services']).nodeServices).toBe(false);
  });

  it('refuses incomplete or invalid flags with one-line messages', () => {
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--data-dir', dir], {})).toThrow('--server needs a join token');
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--data-dir', dir])).toThrow('--certificate-authority');
    expect(() => parseAgentFlags(['--server', 'x:6443', '--token', 't'])).toThrow('must be an http(s) URL');
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--insecure-skip-tls-verify', '--node-name', 'bad_name'])).toThrow('DNS subdomain');
    expect(() => parseAgentFlags(['--bogus'])).toThrow("unknown option '--bogus'");
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--insecure-skip-tls-verify', '--node-ip', '10.0.0'])).toThrow('IPv4 or IPv6');
    expect(() => parseAgentFlags(['--server', 'https://x:6443', '--token', 't', '--insecure-skip-tls-verify', '--log-level', 'loud'])).toThrow(/--log-level <level>' argument 'loud' is invalid. must be one of/);
  });

  it('answers --help with every flag and its default, before anything else is checked', () => {
    expect(() => parseAgentFlags(['--help'])).toThrow(HelpRequested);
    expect(() => parseAgentFlags(['--server', 'x', '-h'])).toThrow(HelpRequested);
    // Long descriptions wrap: compared with the lines joined.
    const usage = agentCommand().helpInformation().replace(/\s+/g, ' ');
    expect(usage).toMatch(/^Usage: berth agent \[options\]/);
    for (const option of agentCommand().options) expect(usage).toContain(option.long);
    expect(usage).toMatch(/--data-dir <dir>(?:(?! --).)*\(default: \/var\/lib\/berth\/agent\)/);
    expect(usage).toMatch(/--crash-loop-backoff-base <duration>(?:(?! --).)*\(default: 10s\)/);
    expect(misstatedDefaults(agentCommand())).toEqual([]);
  });
});
