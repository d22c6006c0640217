import type { Pod } from '@berth/api';
import { judgePod } from './drain';

const pod = (extra: { owner?: string; emptyDir?: boolean; phase?: string; mirror?: boolean; deletedAt?: string } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p',
    namespace: 'ns',
    ...(extra.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: extra.owner, name: 'o', uid: 'u', controller: true }] } : {}),
    ...(extra.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
    ...(extra.deletedAt ? { deletionTimestamp: extra.deletedAt } : {}),
  },
  spec: { containers: [{ name: 'c', image: 'i' }], ...(extra.emptyDir ? { volumes: [{ name: 'v', emptyDir: {} }] } : {}) },
  ...(extra.phase ? { status: { phase: extra.phase as 'Succeeded' } } : {}),
});
const verdict = (p: Pod, options = {}, dsExists?: boolean) => {
  const { pod: _pod, ...rest } = judgePod(p, options, dsExists, Date.parse('2026-01-01T00:10:00Z'));
  return rest;
};

describe("kubectl drain's filters", () => {
  it('removes pods a controller owns', () => {
    expect(verdict(pod({ owner: 'ReplicaSet' }))).toEqual({ remove: true });
  });

  it('keeps DaemonSet pods: an error, or a warning with --ignore-daemonsets; a missing DaemonSet needs --force', () => {
    expect(verdict(pod({ owner: 'DaemonSet' }), {}, true)).toEqual({ remove: false, error: 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)' });
    expect(verdict(pod({ owner: 'DaemonSet' }), { ignoreDaemonsets: true }, true)).toEqual({ remove: false, warning: 'ignoring DaemonSet-managed Pods' });
    expect(verdict(pod({ owner: 'DaemonSet' }), {}, false)).toEqual({ remove: false, error: 'daemonsets.apps "o" not found' });
    expect(verdict(pod({ owner: 'DaemonSet' }), { force: true }, false)).toEqual({ remove: true });
    expect(verdict(pod({ owner: 'DaemonSet', phase: 'Succeeded' }), {}, true)).toEqual({ remove: true });
  });

  it('keeps mirror pods silently, and pods deleted longer ago than --skip-wait-for-delete-timeout', () => {
    expect(verdict(pod({ mirror: true }))).toEqual({ remove: false });
    expect(verdict(pod({ owner: 'ReplicaSet', deletedAt: '2026-01-01T00:00:00Z' }), { skipWaitForDeleteTimeout: 60 })).toEqual({ remove: false });
    expect(verdict(pod({ owner: 'ReplicaSet', deletedAt: '2026-01-01T00:09:30Z' }), { skipWaitForDeleteTimeout: 60 })).toEqual({ remove: true });
  });

  it('needs --delete-emptydir-data for local data and --force for pods without a controller', () => {
    expect(verdict(pod({ owner: 'ReplicaSet', emptyDir: true }))).toEqual({ remove: false, error: 'Pods with local storage (use --delete-emptydir-data to override)' });
    // The last filter speaks: a managed pod's emptyDir warning is not repeated, as in kubectl.
    expect(verdict(pod({ owner: 'ReplicaSet', emptyDir: true }), { deleteEmptydirData: true })).toEqual({ remove: true });
    expect(verdict(pod())).toEqual({ remove: false, error: 'cannot delete Pods that declare no controller (use --force to override)' });
    expect(verdict(pod(), { force: true })).toEqual({ remove: true, warning: 'deleting Pods that declare no controller' });
    expect(verdict(pod({ phase: 'Failed' }))).toEqual({ remove: true });
  });
});
