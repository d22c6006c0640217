import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { conntrackDeleteArgs, conntrackFlusher, staleUdpFlows } from './conntrack';
import { endpoints, modelOf, service } from './spec-helpers';

const dns = (type: 'ClusterIP' | 'NodePort', addresses: string[]) =>
  modelOf(
    [service('dns', { type, clusterIP: '10.96.0.10', externalIPs: ['203.0.113.5'], ports: [{ port: 53, protocol: 'UDP', ...(type === 'NodePort' ? { nodePort: 30053 } : {}) }] })],
    addresses.length ? [endpoints('dns', [{ addresses: addresses.map((ip) => ({ ip })), ports: [{ port: 5353, protocol: 'UDP' }] }])] : [],
  );

describe('staleUdpFlows', () => {
  test('an endpoint that left: the flows it answers, on every address of the port and its NodePort', () => {
    const flows = staleUdpFlows(dns('NodePort', ['10.244.1.5', '10.244.2.5']), dns('NodePort', ['10.244.2.5']));
    expect(flows.map(conntrackDeleteArgs)).toEqual([
      ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', '10.244.1.5', '--reply-port-src', '5353'],
      ['-D', '-p', 'udp', '--orig-dst', '203.0.113.5', '--orig-port-dst', '53', '--reply-src', '10.244.1.5', '--reply-port-src', '5353'],
      ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--reply-src', '10.244.1.5', '--reply-port-src', '5353'],
    ]);
  });

  test('a deleted Service: the flows every one of its endpoints answers', () => {
    const flows = staleUdpFlows(dns('ClusterIP', ['10.244.1.5', '10.244.2.5']), modelOf([], []));
    expect(flows.map((f) => `${f.origDst} ${f.replySrc}`)).toEqual(['10.96.0.10 10.244.1.5', '203.0.113.5 10.244.1.5', '10.96.0.10 10.244.2.5', '203.0.113.5 10.244.2.5']);
  });

  test('from no endpoints to some: the flows that were never DNATed, and every flow to the NodePort', () => {
    const flows = staleUdpFlows(dns('NodePort', []), dns('NodePort', ['10.244.1.5']));
    expect(flows.map(conntrackDeleteArgs)).toEqual([
      ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', '10.96.0.10'],
      ['-D', '-p', 'udp', '--orig-dst', '203.0.113.5', '--orig-port-dst', '53', '--reply-src', '203.0.113.5'],
      ['-D', '-p', 'udp', '--orig-port-dst', '30053'],
    ]);
    // On the first sync the NodePort's flows may be live ones DNATed before a restart: left alone.
    expect(staleUdpFlows(undefined, dns('NodePort', ['10.244.1.5'])).map((f) => f.origDst)).toEqual(['10.96.0.10', '203.0.113.5']);
  });

  test('nothing when nothing left or arrived, for TCP, or for a port that only lost its last endpoint but one', () => {
    expect(staleUdpFlows(dns('NodePort', ['10.244.1.5']), dns('NodePort', ['10.244.1.5', '10.244.2.5']))).toEqual([]);
    expect(staleUdpFlows(dns('NodePort', []), dns('NodePort', []))).toEqual([]);
    const tcp = (ips: string[]) =>
      modelOf([service('web', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] })], [endpoints('web', [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port: 80 }] }])]);
    expect(staleUdpFlows(tcp(['10.244.1.5', '10.244.1.6']), tcp(['10.244.1.6']))).toEqual([]);
  });

  test('an endpoint whose port changed counts as gone', () => {
    const moved = modelOf(
      [service('dns', { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] })],
      [endpoints('dns', [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 5354, protocol: 'UDP' }] }])],
    );
    const flows = staleUdpFlows(dns('ClusterIP', ['10.244.1.5']), moved);
    expect(flows.map((f) => [f.origDst, f.replySrc, f.replySrcPort])).toEqual([
      ['10.96.0.10', '10.244.1.5', 5353],
      ['203.0.113.5', '10.244.1.5', 5353],
    ]);
  });
});

describe('conntrackFlusher', () => {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        warnings.push(JSON.parse(chunk.toString()).msg);
        done();
      },
    }),
  );
  beforeEach(() => warnings.splice(0));

  test('a missing tool is reported once, and the sync goes on', async () => {
    const flusher = conntrackFlusher(logger, [`berth-no-such-tool-${randomBytes(3).toString('hex')}`]);
    const flows = staleUdpFlows(dns('ClusterIP', ['10.244.1.5']), dns('ClusterIP', []));
    await expect(flusher.flush(flows)).resolves.toBeUndefined();
    await flusher.flush(flows);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/is not installed/);
  });

  describe('in a network namespace of its own', () => {
    const netns = `nct-${randomBytes(4).toString('hex')}`;
    const inNetns = ['nsenter', `--net=/var/run/netns/${netns}`];
    const conntrack = (args: string[]) => execFileSync(inNetns[0], [...inNetns.slice(1), 'conntrack', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    /** An entry as if 10.244.1.10:sport sent to 10.96.0.10:53 and `replySrc` answered. */
    const insert = (sport: number, replySrc: string, replyPort: number) =>
      conntrack(['-I', '-p', 'udp', '-s', '10.244.1.10', '-d', '10.96.0.10', '--sport', String(sport), '--dport', '53', '-r', replySrc, '-q', '10.244.1.10', '--reply-port-src', String(replyPort), '--reply-port-dst', String(sport), '--timeout', '120']);
    const flowsListed = () => conntrack(['-L', '-p', 'udp']).trim().split('\n').filter(Boolean);

    beforeAll(() => execFileSync('ip', ['netns', 'add', netns]));
    afterAll(() => execFileSync('ip', ['netns', 'del', netns]));

    test('deletes exactly the stale entries; nothing to delete is no failure', async () => {
      insert(40001, '10.244.1.5', 5353);
      insert(40002, '10.244.2.5', 5353);
      insert(40003, '10.96.0.10', 53);
      const flusher = conntrackFlusher(logger, [...inNetns, 'conntrack']);
      await flusher.flush(staleUdpFlows(dns('ClusterIP', ['10.244.1.5', '10.244.2.5']), dns('ClusterIP', ['10.244.2.5'])));
      const left = flowsListed();
      expect(left).toHaveLength(2);
      expect(left.join('\n')).not.toContain('sport=40001');
      await flusher.flush(staleUdpFlows(dns('ClusterIP', []), dns('ClusterIP', ['10.244.2.5'])));
      expect(flowsListed()).toEqual([expect.stringContaining('sport=40002')]);
      // Again: nothing matches now.
      await flusher.flush(staleUdpFlows(dns('ClusterIP', []), dns('ClusterIP', ['10.244.2.5'])));
      expect(warnings).toEqual([]);
    });
  });
});
