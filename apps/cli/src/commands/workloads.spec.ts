import { RESOURCES, type Pod } from '@berth/api';
import { fixedResolver } from '../kinds';
import { byLogging, chooseContainer, parseCount, parseDurationFlag, parseKeyValues, parseRef, parseRefs } from './workloads';

const session = { discovery: fixedResolver(RESOURCES) };

describe('workload references', () => {
  it('reads TYPE/NAME and takes a bare name as a pod', async () => {
    expect(await parseRef(session, 'deploy/web')).toMatchObject({ type: { plural: 'deployments' }, name: 'web' });
    expect(await parseRef(session, 'rs/web-1')).toMatchObject({ type: { plural: 'replicasets' }, name: 'web-1' });
    expect(await parseRef(session, 'web-1')).toMatchObject({ type: { plural: 'pods' }, name: 'web-1' });
    await expect(parseRef(session, 'gadget/x')).rejects.toThrow('the server doesn\'t have a resource type "gadget"');
  });

  it('reads both of kubectl\'s forms for several names', async () => {
    expect((await parseRefs(session, ['deployment', 'a', 'b'])).map((r) => `${r.type.plural}/${r.name}`)).toEqual(['deployments/a', 'deployments/b']);
    expect((await parseRefs(session, ['deploy/a', 'rs/b'])).map((r) => `${r.type.plural}/${r.name}`)).toEqual(['deployments/a', 'replicasets/b']);
    await expect(parseRefs(session, ['deployment'])).rejects.toThrow('no name was specified');
  });
});

describe('flag values', () => {
  it('takes whole numbers from the minimum up', () => {
    expect(parseCount('--replicas')('3')).toBe(3);
    expect(parseCount('--replicas')('0')).toBe(0);
    expect(parseCount('--tail', -1)('-1')).toBe(-1);
    expect(() => parseCount('--replicas')('-1')).toThrow('invalid value "-1" for --replicas: it must be a whole number >= 0');
    expect(() => parseCount('--replicas')('two')).toThrow('invalid value "two" for --replicas');
    expect(() => parseCount('--replicas')('1.5')).toThrow('invalid value "1.5"');
  });

  it('reads Go durations, compound ones too, and refuses others as pflag does', () => {
    expect(parseDurationFlag('90s')).toBe(90_000);
    expect(parseDurationFlag('1h30m')).toBe(5_400_000);
    expect(parseDurationFlag('0')).toBe(0);
    expect(() => parseDurationFlag('10', 'since')).toThrow('invalid argument "10" for "since" flag: time: missing unit in duration "10"');
    expect(() => parseDurationFlag('5x')).toThrow('invalid argument "5x" for "duration" flag: time: unknown unit "x" in duration "5x"');
    expect(() => parseDurationFlag('', 'timeout')).toThrow('invalid argument "" for "timeout" flag: time: invalid duration ""');
  });

  it('reads KEY=VALUE pairs, values with = in them included', () => {
    expect(parseKeyValues(['A=1', 'B=x=y', 'C='], 'env')).toEqual({ A: '1', B: 'x=y', C: '' });
    expect(() => parseKeyValues(['A'], 'env')).toThrow('invalid env: "A": expected KEY=VALUE');
    expect(() => parseKeyValues(['=1'], 'label')).toThrow('invalid label');
  });
});

function pod(name: string, opts: { phase?: string; ready?: boolean; node?: string; restarts?: number; created?: string; deleting?: boolean; containers?: string[]; annotations?: Record<string, string> } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
      deletionTimestamp: opts.deleting ? '2026-01-01T00:01:00Z' : undefined,
      annotations: opts.annotations,
    },
    spec: { nodeName: opts.node, containers: (opts.containers ?? ['main']).map((c) => ({ name: c, image: 'busybox' })) },
    status: {
      phase: opts.phase,
      conditions: opts.ready ? [{ type: 'Ready', status: 'True' }] : [],
      containerStatuses: [{ name: 'main', ready: !!opts.ready, restartCount: opts.restarts ?? 0, image: 'busybox', imageID: '' }],
    },
  } as Pod;
}

describe('the pod kubectl picks of a workload', () => {
  it('prefers live, scheduled, running, ready pods, then more restarts, then older', () => {
    const pods = [
      pod('pending', { phase: 'Pending', node: 'n' }),
      pod('unscheduled', { phase: 'Pending' }),
      pod('terminating', { phase: 'Running', ready: true, node: 'n', deleting: true }),
      pod('running-new', { phase: 'Running', ready: true, node: 'n', created: '2026-01-02T00:00:00Z' }),
      pod('running-old', { phase: 'Running', ready: true, node: 'n' }),
      pod('running-unready', { phase: 'Running', node: 'n' }),
      pod('running-restarted', { phase: 'Running', ready: true, node: 'n', restarts: 2, created: '2026-01-03T00:00:00Z' }),
    ];
    expect(byLogging(pods).map((p) => p.metadata.name)).toEqual([
      'running-restarted', 'running-old', 'running-new', 'running-unready', 'pending', 'unscheduled', 'terminating',
    ]);
  });
});

describe('choosing a container', () => {
  const said: string[] = [];
  const say = (line: string) => said.push(line);
  beforeEach(() => (said.length = 0));

  it('takes the only container, a named one, or the default-container annotation, silently', () => {
    expect(chooseContainer(pod('p'), undefined, say)).toBe('main');
    expect(chooseContainer(pod('p', { containers: ['a', 'b'] }), 'b', say)).toBe('b');
    expect(chooseContainer(pod('p', { containers: ['a', 'b'], annotations: { 'kubectl.kubernetes.io/default-container': 'b' } }), undefined, say)).toBe('b');
    expect(said).toEqual([]);
  });

  it('defaults to the first of several and says so, as kubectl 1.32 does; refuses a container the pod lacks', () => {
    expect(chooseContainer(pod('p', { containers: ['a', 'b'] }), undefined, say)).toBe('a');
    expect(said).toEqual(['Defaulted container "a" out of: a, b']);
    expect(() => chooseContainer(pod('p'), 'other', say)).toThrow('container other is not valid for pod p');
  });
});
