import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  affinitySetName,
  applyScript,
  endpointChainName,
  externalChainName,
  localChainName,
  type NftRuleset,
  parseExistingObjects,
  recreateScript,
  renderRuleset,
  rulesetText,
  serviceChainName,
} from './ruleset';
import { endpoints, modelOf, node, service } from './spec-helpers';

const nodes = [node('n1', '10.244.1.0/24', '192.168.0.1'), node('n2', '10.244.2.0/24', '192.168.0.2')];
const model = modelOf(
  [
    service('web', {
      type: 'NodePort',
      clusterIP: '10.96.0.10',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
      ports: [{ name: 'http', port: 80, nodePort: 30080 }],
    }),
    service('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }),
    service('idle', { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ port: 8080, nodePort: 30090 }] }),
    service('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
  ],
  [
    endpoints('web', [{ addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.5' }, { ip: '10.244.2.6' }], ports: [{ name: 'http', port: 8080 }] }]),
    endpoints('dns', [{ addresses: [{ ip: '10.244.2.9' }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5353 }] }]),
    endpoints('headless', [{ addresses: [{ ip: '10.244.1.7' }], ports: [{ port: 80 }] }]),
  ],
  nodes,
  'n1',
);
const [dnsTcp, dnsUdp, idle, web] = model.servicePorts;

const onNode = (ip: string, nodeName: string) => ({ ip, nodeName });
const bothNodes = [{ addresses: [onNode('10.244.1.5', 'n1'), onNode('10.244.2.5', 'n2')], ports: [{ port: 8080 }] }];
const onlyN2 = [{ addresses: [onNode('10.244.2.6', 'n2')], ports: [{ port: 8080 }] }];
const lbStatus = { loadBalancer: { ingress: [{ ip: '192.168.0.1' }, { ip: '192.168.0.2' }] } };
const policyModel = modelOf(
  [
    { ...service('lb', { type: 'LoadBalancer', clusterIP: '10.96.1.1', externalIPs: ['203.0.113.5'], ports: [{ port: 80, nodePort: 30100 }] }), status: lbStatus },
    service('local', { type: 'NodePort', clusterIP: '10.96.1.2', externalTrafficPolicy: 'Local', externalIPs: ['203.0.113.6'], ports: [{ port: 80, nodePort: 30101 }] }),
    service('remote', { type: 'NodePort', clusterIP: '10.96.1.3', externalTrafficPolicy: 'Local', externalIPs: ['203.0.113.7'], ports: [{ port: 80, nodePort: 30102 }] }),
    service('itp', { clusterIP: '10.96.1.4', internalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
    service('itp-remote', { clusterIP: '10.96.1.5', internalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
    service('none', { type: 'NodePort', clusterIP: '10.96.1.6', externalTrafficPolicy: 'Local', externalIPs: ['203.0.113.8'], ports: [{ port: 80, nodePort: 30103 }] }),
  ],
  [endpoints('lb', bothNodes), endpoints('local', bothNodes), endpoints('remote', onlyN2), endpoints('itp', bothNodes), endpoints('itp-remote', onlyN2)],
  nodes,
  'n1',
);
const [itpRemote, itp, lb, local, none, remote] = policyModel.servicePorts;

const chain = (ruleset: NftRuleset, name: string) => ruleset.chains.find((c) => c.name === name);
const set = (ruleset: NftRuleset, name: string) => ruleset.sets.find((s) => s.name === name);

describe('renderRuleset', () => {
  const ruleset = renderRuleset(model, 'berth');

  test('the model is what the fixtures say', () => {
    expect(model.servicePorts.map((p) => p.id)).toEqual(['default/dns/tcp/dns-tcp', 'default/dns/udp/dns', 'default/idle/tcp/', 'default/web/tcp/http']);
  });

  test('ClusterIP:port/protocol sends to the port chain, which spreads new connections over every ready endpoint', () => {
    expect(set(ruleset, 'service-ips')!.elements).toEqual([
      `10.96.0.53 . tcp . 53 : goto ${serviceChainName(dnsTcp)}`,
      `10.96.0.53 . udp . 53 : goto ${serviceChainName(dnsUdp)}`,
      `10.96.0.10 . tcp . 80 : goto ${serviceChainName(web)}`,
    ]);
    const spread = chain(ruleset, serviceChainName(web))!.rules.at(-1);
    expect(spread).toBe(
      `numgen random mod 3 vmap { ${web.endpoints.map((b, i) => `${i} : goto ${endpointChainName(web, b)}`).join(', ')} }`,
    );
    expect(chain(ruleset, endpointChainName(web, web.endpoints[1]))!.rules.at(-1)).toBe('meta l4proto tcp dnat to 10.244.2.5:8080');
    expect(chain(ruleset, endpointChainName(dnsUdp, dnsUdp.endpoints[0]))!.rules.at(-1)).toBe('meta l4proto udp dnat to 10.244.2.9:5353');
    // Headless Services have no ClusterIP to answer on.
    expect(rulesetText(ruleset)).not.toContain('headless');
    expect(rulesetText(ruleset)).not.toContain('10.244.1.7');
  });

  test('NodePorts on local addresses go through a chain that marks for masquerade, then the port chain', () => {
    expect(set(ruleset, 'service-nodeports')!.elements).toEqual([`tcp . 30080 : goto ${externalChainName(web)}`]);
    expect(chain(ruleset, externalChainName(web))!.rules).toEqual(['jump mark-for-masquerade', `goto ${serviceChainName(web)}`]);
    expect(chain(ruleset, 'services')!.rules).toEqual([
      'ip daddr . meta l4proto . th dport vmap @service-ips',
      'fib daddr type local meta l4proto . th dport vmap @service-nodeports',
    ]);
    // Pods (prerouting) and the node's own processes (output) alike; 127.0.0.1 for the node's own processes only.
    expect(chain(ruleset, 'nat-prerouting')).toMatchObject({ base: { type: 'nat', hook: 'prerouting' }, rules: ['iifname != "lo" ip daddr 127.0.0.0/8 return', 'jump services'] });
    expect(chain(ruleset, 'nat-output')).toMatchObject({ base: { type: 'nat', hook: 'output' }, rules: ['jump services'] });
    expect(chain(ruleset, 'masquerading')!.rules.at(-1)).toBe('masquerade fully-random');
  });

  test('a port without ready endpoints is refused, on its ClusterIP and its NodePort', () => {
    expect(set(ruleset, 'no-endpoint-services')!.elements).toEqual(['10.96.0.20 . tcp . 8080 : goto reject-chain']);
    expect(set(ruleset, 'no-endpoint-nodeports')!.elements).toEqual(['tcp . 30090 : goto reject-chain']);
    expect(chain(ruleset, serviceChainName(idle))).toBeUndefined();
    expect(chain(ruleset, 'reject-chain')!.rules).toEqual(['meta l4proto tcp reject with tcp reset', 'reject']);
    expect(set(ruleset, 'cluster-ips')!.elements).toEqual(['10.96.0.53', '10.96.0.20', '10.96.0.10']);
  });

  test('masquerades clients outside the pod network, and pods of this bridge reaching an endpoint on it', () => {
    expect(set(ruleset, 'pod-cidrs')!.elements).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    expect(chain(ruleset, serviceChainName(web))!.rules[0]).toBe('ip daddr 10.96.0.10 ip saddr != @pod-cidrs jump mark-for-masquerade');
    // 10.244.1.5 is on this node's bridge: its peers there are masqueraded; 10.244.2.5 only when it reaches itself.
    expect(chain(ruleset, endpointChainName(web, web.endpoints[0]))!.rules[0]).toBe('ip saddr 10.244.1.0/24 jump mark-for-masquerade');
    expect(chain(ruleset, endpointChainName(web, web.endpoints[1]))!.rules[0]).toBe('ip saddr 10.244.2.5 jump mark-for-masquerade');
  });

  test('masquerades this node\'s pods leaving the cluster\'s pod CIDRs, and nothing between pods', () => {
    expect(chain(ruleset, 'nat-postrouting')!.rules).toEqual(['jump masquerading', 'ip saddr 10.244.1.0/24 ip daddr != @pod-cidrs masquerade']);
    expect(chain(renderRuleset({ ...model, localPodCIDR: undefined }), 'nat-postrouting')!.rules).toEqual(['jump masquerading']);
  });

  test('ClientIP affinity: a timed set per endpoint, looked up before the random pick and refreshed on use', () => {
    const affinity = web.endpoints.map((b) => affinitySetName(web, b, 300));
    for (const name of affinity) {
      expect(set(ruleset, name)).toEqual({ name, kind: 'set', definition: 'type ipv4_addr; flags dynamic,timeout; timeout 300s;', elements: [], dynamic: true });
    }
    const rules = chain(ruleset, serviceChainName(web))!.rules;
    expect(rules.slice(1, 4)).toEqual(web.endpoints.map((b, i) => `ip saddr @${affinity[i]} goto ${endpointChainName(web, b)}`));
    expect(chain(ruleset, endpointChainName(web, web.endpoints[2]))!.rules).toContain(`update @${affinity[2]} { ip saddr }`);
    // Ports without affinity have none.
    expect(rulesetText(renderRuleset(modelOf([service('x', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] })], [endpoints('x', [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }])])))).not.toContain('affinity');
  });

  test('the same model renders the same text; a changed endpoint changes it', () => {
    expect(rulesetText(renderRuleset(model))).toBe(rulesetText(ruleset));
    const fewer = modelOf(
      [service('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] })],
      [endpoints('web', [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ name: 'http', port: 8080 }] }])],
    );
    expect(rulesetText(renderRuleset(fewer))).not.toBe(rulesetText(ruleset));
  });
});

describe('external addresses and traffic policies', () => {
  const ruleset = renderRuleset(policyModel, 'berth');
  const elements = (name: string) => set(ruleset, name)!.elements;

  test('the model is what the fixtures say', () => {
    expect(policyModel.servicePorts.map((p) => p.id)).toEqual(['default/itp-remote/tcp/', 'default/itp/tcp/', 'default/lb/tcp/', 'default/local/tcp/', 'default/none/tcp/', 'default/remote/tcp/']);
  });

  test('external and load-balancer IPs go, like the NodePort, through the external chain: masqueraded, then to any endpoint', () => {
    const external = `goto ${externalChainName(lb)}`;
    expect(elements('service-ips')).toEqual(
      expect.arrayContaining([`10.96.1.1 . tcp . 80 : goto ${serviceChainName(lb)}`, `192.168.0.1 . tcp . 80 : ${external}`, `192.168.0.2 . tcp . 80 : ${external}`, `203.0.113.5 . tcp . 80 : ${external}`]),
    );
    // The nodes are its load balancer: their loopback answers too (nat-prerouting passes 127/8 from elsewhere by).
    expect(elements('service-ips')).toContain(`127.0.0.1 . tcp . 80 : ${external}`);
    expect(elements('service-nodeports')).toContain(`tcp . 30100 : ${external}`);
    expect(chain(ruleset, externalChainName(lb))!.rules).toEqual(['jump mark-for-masquerade', `goto ${serviceChainName(lb)}`]);
    expect(chain(ruleset, localChainName(lb))).toBeUndefined();
  });

  test('externalTrafficPolicy Local: pods and the node reach every endpoint, other clients only local ones, unmasqueraded', () => {
    expect(chain(ruleset, externalChainName(local))!.rules).toEqual([
      `ip saddr @pod-cidrs goto ${serviceChainName(local)}`,
      'fib saddr type local jump mark-for-masquerade',
      `fib saddr type local goto ${serviceChainName(local)}`,
      `goto ${localChainName(local)}`,
    ]);
    expect(chain(ruleset, localChainName(local))!.rules).toEqual([`numgen random mod 1 vmap { 0 : goto ${endpointChainName(local, local.endpoints[0])} }`]);
    // ClusterIP traffic is not external: all endpoints.
    expect(elements('service-ips')).toContain(`10.96.1.2 . tcp . 80 : goto ${serviceChainName(local)}`);
    expect(chain(ruleset, serviceChainName(local))!.rules.at(-1)).toContain('numgen random mod 2');
    expect(elements('no-endpoint-services').join()).not.toContain('10.96.1.2');
  });

  test('externalTrafficPolicy Local without a local endpoint: external clients are dropped, pods and the node still served', () => {
    expect(elements('no-endpoint-services')).toEqual(expect.arrayContaining(['203.0.113.7 . tcp . 80 : drop']));
    expect(elements('no-endpoint-nodeports')).toContain('tcp . 30102 : drop');
    expect(elements('service-ips')).toEqual(expect.arrayContaining([`203.0.113.7 . tcp . 80 : goto ${externalChainName(remote)}`, `10.96.1.3 . tcp . 80 : goto ${serviceChainName(remote)}`]));
    expect(chain(ruleset, externalChainName(remote))!.rules).toHaveLength(3);
    expect(chain(ruleset, localChainName(remote))).toBeUndefined();
  });

  test('internalTrafficPolicy Local: the ClusterIP reaches only local endpoints; without one it drops', () => {
    expect(elements('service-ips')).toContain(`10.96.1.4 . tcp . 80 : goto ${localChainName(itp)}`);
    expect(chain(ruleset, localChainName(itp))!.rules).toEqual([
      'ip daddr 10.96.1.4 ip saddr != @pod-cidrs jump mark-for-masquerade',
      `numgen random mod 1 vmap { 0 : goto ${endpointChainName(itp, { ip: '10.244.1.5', port: 8080 })} }`,
    ]);
    // Nothing reaches the other node's endpoint, so it has no chain.
    expect(chain(ruleset, serviceChainName(itp))).toBeUndefined();
    expect(chain(ruleset, endpointChainName(itp, { ip: '10.244.2.5', port: 8080 }))).toBeUndefined();
    expect(elements('no-endpoint-services')).toContain('10.96.1.5 . tcp . 80 : drop');
    expect(rulesetText(ruleset)).not.toContain(`-${itpRemote.id}`);
  });

  test('no endpoint at all: refused on every address and the NodePort, whatever the policy', () => {
    expect(elements('no-endpoint-services')).toEqual(expect.arrayContaining(['10.96.1.6 . tcp . 80 : goto reject-chain', '203.0.113.8 . tcp . 80 : goto reject-chain']));
    expect(elements('no-endpoint-nodeports')).toContain('tcp . 30103 : goto reject-chain');
    expect(rulesetText(ruleset)).not.toContain(`-${none.id}`);
  });

  test('the endpoints check runs on input (external IPs may be the node\'s own) and after DNAT on output', () => {
    expect(chain(ruleset, 'filter-input')!.rules).toContain('ct state new jump service-endpoints-check');
    expect(chain(ruleset, 'filter-output')).toBeUndefined();
    expect(chain(ruleset, 'filter-output-post-dnat')!.rules).toEqual(['ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check']);
  });
});

describe('applyScript', () => {
  const ruleset = renderRuleset(model, 'berth');

  test('declares, empties and refills every chain and set, but never empties an affinity set', () => {
    const script = applyScript(ruleset).split('\n');
    expect(script[0]).toBe('add table ip berth');
    expect(script).toContain('add chain ip berth filter-input { type filter hook input priority -110; policy accept; }');
    expect(script).toContain('flush map ip berth service-ips');
    const affinity = affinitySetName(web, web.endpoints[0], 300);
    expect(script).toContain(`add set ip berth ${affinity} { type ipv4_addr; flags dynamic,timeout; timeout 300s; }`);
    expect(script).not.toContain(`flush set ip berth ${affinity}`);
    expect(script.some((line) => line.startsWith('delete'))).toBe(false);
  });

  test('what the table holds and the ruleset does not is emptied first and deleted last', () => {
    const script = applyScript(ruleset, { chains: new Set(['services', 'service-OLD-x', 'endpoint-OLD-x']), sets: new Set(['affinity-OLD']), maps: new Set(['service-ips']) }).trim().split('\n');
    expect(script.slice(-3)).toEqual(['delete set ip berth affinity-OLD', 'delete chain ip berth endpoint-OLD-x', 'delete chain ip berth service-OLD-x']);
    const firstRule = script.findIndex((line) => line.startsWith('add rule'));
    expect(script.indexOf('flush chain ip berth service-OLD-x')).toBeLessThan(firstRule);
    expect(script).not.toContain('delete chain ip berth services');
  });

  test('parseExistingObjects reads the names of `nft list table`', () => {
    const listing = 'table ip berth {\n\tset pod-cidrs {\n\t\ttype ipv4_addr\n\t}\n\n\tmap service-ips {\n\t\ttype ipv4_addr : verdict\n\t}\n\n\tchain endpoint-AB-default/web/tcp/__10.0.0.1/80 {\n\t\tmeta l4proto tcp dnat to 10.0.0.1:80\n\t}\n}\n';
    const existing = parseExistingObjects(listing);
    expect([...existing.sets]).toEqual(['pod-cidrs']);
    expect([...existing.maps]).toEqual(['service-ips']);
    expect([...existing.chains]).toEqual(['endpoint-AB-default/web/tcp/__10.0.0.1/80']);
  });
});

describe('nft accepts the rendered rules', () => {
  // A throwaway network namespace: `nft -c` checks against the kernel without applying, but nothing of
  // this suite may touch the machine's own tables either way.
  const netns = `nnc-${randomBytes(4).toString('hex')}`;
  const nft = (args: string[], input?: string) =>
    execFileSync('nsenter', [`--net=/var/run/netns/${netns}`, 'nft', ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

  beforeAll(() => execFileSync('ip', ['netns', 'add', netns]));
  afterAll(() => execFileSync('ip', ['netns', 'del', netns]));

  test('the incremental script, the replacing script, and an empty cluster', () => {
    const ruleset = renderRuleset(model, 'berth');
    expect(() => nft(['-c', '-f', '-'], applyScript(ruleset))).not.toThrow();
    expect(() => nft(['-c', '-f', '-'], recreateScript(ruleset))).not.toThrow();
    expect(() => nft(['-c', '-f', '-'], applyScript(renderRuleset(modelOf([], []), 'other')))).not.toThrow();
    expect(() => nft(['-c', '-f', '-'], applyScript(renderRuleset(policyModel, 'policies')))).not.toThrow();
    // Checked only: nothing was applied.
    expect(nft(['list', 'tables'])).toBe('');
  });

  test('a broken rule is refused (the check can fail)', () => {
    const ruleset = renderRuleset(model, 'berth');
    ruleset.chains[0].rules.push('ip daddr 999.1.1.1 drop');
    expect(() => nft(['-c', '-f', '-'], applyScript(ruleset))).toThrow();
  });

  describe('applied', () => {
    afterEach(() => nft(['flush', 'ruleset']));

    const listing = () => nft(['list', 'table', 'ip', 'berth']);
    const affinity = affinitySetName(web, web.endpoints[0], 300);

    test('an update removes what is gone and keeps the clients pinned by affinity', () => {
      const first = renderRuleset(model, 'berth');
      nft(['-f', '-'], applyScript(first));
      nft(['add', 'element', 'ip', 'berth', affinity, '{ 10.244.1.77 }']);
      const gone = endpointChainName(web, web.endpoints[2]);
      expect(listing()).toContain(`chain ${gone} {`);

      const fewer = { ...model, servicePorts: model.servicePorts.map((p) => (p === web ? { ...p, endpoints: p.endpoints.slice(0, 2) } : p)) };
      const second = renderRuleset(fewer, 'berth');
      nft(['-f', '-'], applyScript(second, parseExistingObjects(listing())));
      const after = listing();
      expect(after).not.toContain(gone);
      expect(after).not.toContain(affinitySetName(web, web.endpoints[2], 300));
      expect(after).toContain('numgen random mod 2');
      // The pinned client survived the sync.
      expect(nft(['list', 'set', 'ip', 'berth', affinity])).toContain('10.244.1.77');
      expect(parseExistingObjects(after)).toEqual(parseExistingObjects(nft(['-t', 'list', 'table', 'ip', 'berth'])));
    });

    test('a table at odds with the ruleset fails the update in place, and is replaced wholesale', () => {
      // A set of the same name but another type: `add set` cannot redefine it.
      nft(['-f', '-'], 'add table ip berth\nadd set ip berth cluster-ips { type inet_service; }\nadd chain ip berth leftover\n');
      const ruleset = renderRuleset(model, 'berth');
      expect(() => nft(['-f', '-'], applyScript(ruleset, parseExistingObjects(listing())))).toThrow();
      nft(['-f', '-'], recreateScript(ruleset));
      const after = listing();
      expect(after).not.toContain('leftover');
      const clusterIPs = nft(['list', 'set', 'ip', 'berth', 'cluster-ips']);
      expect(clusterIPs).toContain('type ipv4_addr');
      for (const ip of ['10.96.0.53', '10.96.0.20', '10.96.0.10']) expect(clusterIPs).toContain(ip);
    });
  });
});
