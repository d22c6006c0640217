import type { ContainerState, Pod } from '@berth/api';
import { psTable } from './ps';

const NOW = new Date('2026-01-01T01:00:00Z');

/** A one-container pod in a given state, as the agent reports it. */
function pod(name: string, phase: string, state: ContainerState | undefined, extra: { ready?: boolean; restarts?: number; deleting?: boolean; namespace?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: extra.namespace ?? 'default', creationTimestamp: '2026-01-01T00:00:00Z', deletionTimestamp: extra.deleting ? '2026-01-01T00:59:00Z' : undefined },
    spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'busybox:latest' }] },
    status: {
      phase,
      podIP: phase === 'Pending' ? undefined : '10.0.0.7',
      conditions: extra.ready ? [{ type: 'Ready', status: 'True' }] : [],
      containerStatuses: state ? [{ name: 'main', ready: !!extra.ready, restartCount: extra.restarts ?? 0, state, image: 'busybox:latest', imageID: '' }] : undefined,
    },
  } as Pod;
}

const status = (p: Pod) => psTable([p], { wide: false, withNamespace: false }, NOW)[1][2];

describe('berth ps STATUS, as kubectl computes it', () => {
  it.each([
    ['Running', pod('a', 'Running', { running: { startedAt: '2026-01-01T00:00:01Z' } }, { ready: true })],
    ['Pending', pod('a', 'Pending', undefined)],
    ['ContainerCreating', pod('a', 'Pending', { waiting: { reason: 'ContainerCreating' } })],
    ['CrashLoopBackOff', pod('a', 'Running', { waiting: { reason: 'CrashLoopBackOff' } }, { restarts: 4 })],
    ['Completed', pod('a', 'Succeeded', { terminated: { exitCode: 0, reason: 'Completed' } })],
    ['Error', pod('a', 'Failed', { terminated: { exitCode: 1, reason: 'Error' } })],
    ['ExitCode:3', pod('a', 'Failed', { terminated: { exitCode: 3 } })],
    ['Terminating', pod('a', 'Running', { running: {} }, { ready: true, deleting: true })],
  ])('%s', (expected, p) => {
    expect(status(p)).toBe(expected);
  });
});

describe('berth ps table', () => {
  it('has the docker-minded columns: readiness, restarts, age, IP and node', () => {
    const table = psTable([pod('web-1', 'Running', { running: {} }, { ready: true, restarts: 2 })], { wide: false, withNamespace: false }, NOW);
    expect(table).toEqual([
      ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE'],
      ['web-1', '1/1', 'Running', '2', '60m', '10.0.0.7', 'node-1'],
    ]);
  });

  it('shows <none> for a pod without an address, NAMESPACE with -A and IMAGES with -o wide', () => {
    const table = psTable([pod('p', 'Pending', undefined, { namespace: 'team' })], { wide: true, withNamespace: true }, NOW);
    expect(table).toEqual([
      ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'IMAGES'],
      ['team', 'p', '0/1', 'Pending', '0', '60m', '<none>', 'node-1', 'busybox:latest'],
    ]);
  });
});
