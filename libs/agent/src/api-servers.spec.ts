import type { Endpoints } from '@berth/api';
import { errors } from '@berth/errors';
import pino from 'pino';
import { ApiServerLearner, serversOf } from './api-servers';

const logger = pino({ level: 'silent' });

function endpoints(subsets: Endpoints['subsets']): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' }, subsets };
}

/** A client whose server list behaves as Transport's: setServers keeps the one in use first. */
function fakeClient(given: string[], answer: () => Endpoints) {
  let servers = [...given];
  return {
    get servers() {
      return [...servers];
    },
    setServers(next: string[]) {
      servers = [...new Set([servers[0]!, ...next])];
    },
    get: async <T>() => answer() as unknown as T,
  };
}

describe('serversOf', () => {
  it('makes a URL of each address with its https port, IPv6 in brackets, and skips what is not an IP', () => {
    expect(
      serversOf(
        endpoints([
          { addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: 'evil.example/x' }], ports: [{ name: 'https', port: 6443 }] },
          { addresses: [{ ip: 'fd00::1' }], ports: [{ name: 'https', port: 7443 }] },
          { addresses: [{ ip: '10.0.0.9' }], ports: [{ name: 'https', port: 70000 }] },
          { addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'https', port: 6443 }] },
        ]),
      ),
    ).toEqual(['https://10.0.0.1:6443', 'https://10.0.0.2:6443', 'https://[fd00::1]:7443']);
    expect(serversOf(endpoints(undefined))).toEqual([]);
    const many = Array.from({ length: 40 }, (_, i) => ({ ip: `10.0.1.${i}` }));
    expect(serversOf(endpoints([{ addresses: many, ports: [{ name: 'https', port: 6443 }] }]))).toHaveLength(16);
  });
});

describe('ApiServerLearner', () => {
  it('adds the servers the Endpoints list to the ones given, and drops learned ones once unlisted', async () => {
    let listed = ['10.0.0.1', '10.0.0.2'];
    const client = fakeClient(['https://gw:6443'], () => endpoints([{ addresses: listed.map((ip) => ({ ip })), ports: [{ name: 'https', port: 6443 }] }]));
    const learner = new ApiServerLearner({ client, logger, intervalMs: 60_000 });
    try {
      await learner.learn();
      expect(client.servers).toEqual(['https://gw:6443', 'https://10.0.0.1:6443', 'https://10.0.0.2:6443']);
      listed = ['10.0.0.2'];
      await learner.learn();
      expect(client.servers).toEqual(['https://gw:6443', 'https://10.0.0.2:6443']);
    } finally {
      learner.stop();
    }
  });

  it('keeps the list when the Endpoints cannot be read, and leaves a plain-http client alone', async () => {
    const failing = { ...fakeClient(['https://gw:6443'], () => endpoints([])), get: async () => Promise.reject(errors.unavailable('down')) };
    const learner = new ApiServerLearner({ client: failing, logger, intervalMs: 60_000 });
    await learner.learn();
    learner.stop();
    expect(failing.servers).toEqual(['https://gw:6443']);

    const plain = fakeClient(['http://127.0.0.1:8080'], () => endpoints([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'https', port: 6443 }] }]));
    const other = new ApiServerLearner({ client: plain, logger, intervalMs: 60_000 });
    await other.learn();
    other.stop();
    expect(plain.servers).toEqual(['http://127.0.0.1:8080']);
  });
});
