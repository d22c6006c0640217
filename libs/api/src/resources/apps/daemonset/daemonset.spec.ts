import type { DaemonSet } from './types';
import { admitted, tableRow, typeNamed } from '../../spec-helpers';

const NOW = new Date('2026-12-07T07:00:00Z');
const row = (name: string, obj: DaemonSet) => tableRow(name, obj, NOW);

function daemonSet(spec: Record<string, unknown> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', creationTimestamp: '2026-12-07T06:59:00Z' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } },
      ...spec,
    },
  } as DaemonSet;
}

describe('DaemonSet', () => {
  it('is served as apps/v1 daemonsets, short name ds, in category all, with a status subresource', () => {
    const type = typeNamed('ds');
    expect([type.group, type.version, type.kind, type.plural]).toEqual(['apps', 'v1', 'DaemonSet', 'daemonsets']);
    expect(type.categories).toEqual(['all']);
    expect(type.subresources).toEqual(['status']);
  });

  it('defaults to a RollingUpdate of one unavailable pod, no surge, ten revisions', () => {
    const ds = daemonSet();
    expect(admitted('ds', ds)).toEqual([]);
    expect(ds.spec!.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(ds.spec!.revisionHistoryLimit).toBe(10);
    expect(ds.spec!.template.spec!.restartPolicy).toBe('Always');
  });

  it('leaves OnDelete without rollingUpdate', () => {
    const ds = daemonSet({ updateStrategy: { type: 'OnDelete' } });
    expect(admitted('ds', ds)).toEqual([]);
    expect(ds.spec!.updateStrategy).toEqual({ type: 'OnDelete' });
  });

  it('refuses what Kubernetes refuses', () => {
    expect(admitted('ds', daemonSet({ selector: { matchLabels: { app: 'other' } } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"agent"}: `selector` does not match template `labels`',
    ]);
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } }))).toEqual([
      'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero',
    ]);
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }))).toEqual([
      'spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0',
    ]);
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'Sometimes' } }))).toEqual([
      'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "RollingUpdate", "OnDelete"',
    ]);
    const failing = daemonSet();
    failing.spec!.template.spec!.restartPolicy = 'Never';
    expect(admitted('ds', failing)).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']);
  });

  it('accepts a surge when no pod may be unavailable', () => {
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '50%' } } }))).toEqual([]);
  });

  it('keeps its selector on update', () => {
    const old = daemonSet();
    const next = daemonSet({ selector: { matchLabels: { app: 'agent', tier: 'x' } } });
    next.spec!.template.metadata!.labels!.tier = 'x';
    expect(admitted('ds', next, old)).toEqual(['spec.selector: Invalid value: {"matchLabels":{"app":"agent","tier":"x"}}: field is immutable']);
  });

  it('prints the columns kubectl shows', () => {
    const ds = daemonSet();
    ds.spec!.template.spec!.nodeSelector = { 'kubernetes.io/os': 'linux' };
    ds.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 1, numberAvailable: 2, numberMisscheduled: 0 };
    expect(row('ds', ds)).toEqual({
      Name: 'agent',
      Desired: 3,
      Current: 3,
      Ready: 2,
      'Up-to-date': 1,
      Available: 2,
      'Node Selector': 'kubernetes.io/os=linux',
      Age: '60s',
      Containers: 'c',
      Images: 'busybox:1.36',
      Selector: 'app=agent',
    });
    expect(row('ds', daemonSet())['Node Selector']).toBe('<none>');
  });
});
