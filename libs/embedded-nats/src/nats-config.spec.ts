import { checkHostPort, deriveClusterSecrets, natsServerConfig, type NatsServerSettings } from './nats-config';
import { newServerName, parseMembershipLists, withMember } from './membership';

const SETTINGS: NatsServerSettings = {
  serverName: 'host-a-0a1b2c3d',
  listenAddress: '0.0.0.0',
  advertisedAddress: '10.0.0.1',
  clientPort: 4222,
  clusterPort: 6222,
  routes: ['10.0.0.1:6222', '10.0.0.2:6222'],
  storeDir: '/var/lib/berth/nats/jetstream',
  secrets: { routePassword: 'r'.repeat(8), clientPassword: 'c'.repeat(8) },
};

test('the config: clustered JetStream in the data dir, routes and clients behind passwords', () => {
  expect(natsServerConfig(SETTINGS)).toBe(
    [
      'server_name: "host-a-0a1b2c3d"',
      'listen: "0.0.0.0:4222"',
      'client_advertise: "10.0.0.1:4222"',
      'max_payload: 8MB',
      'authorization { user: "berth", password: "cccccccc" }',
      'jetstream { store_dir: "/var/lib/berth/nats/jetstream" }',
      'cluster {',
      '  name: "berth"',
      '  listen: "0.0.0.0:6222"',
      '  advertise: "10.0.0.1:6222"',
      '  authorization { user: "berth-route", password: "rrrrrrrr" }',
      '  routes: ["nats-route://berth-route:rrrrrrrr@10.0.0.1:6222", "nats-route://berth-route:rrrrrrrr@10.0.0.2:6222"]',
      '}',
      '',
    ].join('\n'),
  );
});

test('nothing can end a quoted value early', () => {
  expect(() => natsServerConfig({ ...SETTINGS, routes: ['a:1", evil: "x'] })).toThrow('must be HOST:PORT');
  expect(() => natsServerConfig({ ...SETTINGS, serverName: 'a"b' })).toThrow('NATS server name');
  expect(() => natsServerConfig({ ...SETTINGS, storeDir: '/tmp/a"\n}' })).toThrow('cannot be written into a NATS config');
  for (const bad of ['host', 'host:0', 'host:70000', ':1', 'a b:1', '[::1]:4222', 42, null]) expect(() => checkHostPort(bad, 'x')).toThrow('x must be HOST:PORT');
  expect(checkHostPort('nats-1.example.com:4222', 'x')).toBe('nats-1.example.com:4222');
});

test('secrets: the same token gives the same ones on every server, another token others, each label its own', async () => {
  const [a, b, other] = await Promise.all([deriveClusterSecrets('T0k3n'), deriveClusterSecrets('T0k3n'), deriveClusterSecrets('T0k3n!')]);
  expect(a).toEqual(b);
  expect(a.routePassword).toMatch(/^[0-9a-f]{64}$/);
  expect(new Set([a.routePassword, a.clientPassword, a.joinKey.toString('hex'), other.routePassword]).size).toBe(4);
});

test('membership: server names unique per start, members added once, lists checked', () => {
  expect(newServerName('Build_Host.Example')).toMatch(/^build-host.example-[0-9a-f]{8}$/);
  expect(newServerName('Build_Host')).not.toBe(newServerName('Build_Host'));
  expect(newServerName('---')).toMatch(/^berth-[0-9a-f]{8}$/);
  const one = { serverName: 'a-00000000', routes: ['a:6222'], clientAddresses: ['a:4222'] };
  expect(withMember(withMember(one, 'b:6222', 'b:4222'), 'b:6222', 'b:4222')).toEqual({ serverName: 'a-00000000', routes: ['a:6222', 'b:6222'], clientAddresses: ['a:4222', 'b:4222'] });
  expect(() => parseMembershipLists({ routes: [], clientAddresses: ['a:1'] }, 'm')).toThrow('m: routes must list 1 to 16 members');
  expect(() => parseMembershipLists({ routes: Array(17).fill('a:1'), clientAddresses: ['a:1'] }, 'm')).toThrow('routes must list 1 to 16');
  expect(() => parseMembershipLists('x', 'm')).toThrow('routes must list');
});
