import { isPendingFor, nodeChangeMatters } from './scheduler';
import { node, pod } from './spec-helpers';

describe('which pods the scheduler takes', () => {
  it('takes unbound, live pods naming it, or naming no scheduler when it is the default one', () => {
    expect(isPendingFor(pod('p'), 'default-scheduler')).toBe(true);
    expect(isPendingFor(pod('p', { spec: { schedulerName: 'default-scheduler' } }), 'default-scheduler')).toBe(true);
    expect(isPendingFor(pod('p', { spec: { schedulerName: 'other' } }), 'default-scheduler')).toBe(false);
    expect(isPendingFor(pod('p', { spec: { schedulerName: 'other' } }), 'other')).toBe(true);
    expect(isPendingFor(pod('p'), 'other')).toBe(false);
    expect(isPendingFor(pod('p', { nodeName: 'n1' }), 'default-scheduler')).toBe(false);
    const deleting = pod('p');
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(isPendingFor(deleting, 'default-scheduler')).toBe(false);
    const failed = pod('p');
    failed.status = { phase: 'Failed' };
    expect(isPendingFor(failed, 'default-scheduler')).toBe(false);
  });

  it('leaves a pod alone while a scheduling gate holds it back, and takes it once the last is gone', () => {
    const gated = pod('p', { spec: { schedulingGates: [{ name: 'example.com/a' }, { name: 'example.com/b' }] } });
    expect(isPendingFor(gated, 'default-scheduler')).toBe(false);
    gated.spec!.schedulingGates = [{ name: 'example.com/b' }];
    expect(isPendingFor(gated, 'default-scheduler')).toBe(false);
    gated.spec!.schedulingGates = [];
    expect(isPendingFor(gated, 'default-scheduler')).toBe(true);
  });
});

describe('which node changes wake unschedulable pods', () => {
  it('ignores heartbeats but not labels, taints, cordons, allocatable or readiness', () => {
    const base = node('n');
    const heartbeat = node('n');
    heartbeat.status!.conditions![0].lastHeartbeatTime = '2026-01-01T00:00:10Z';
    expect(nodeChangeMatters(base, heartbeat)).toBe(false);
    expect(nodeChangeMatters(base, node('n', { labels: { disk: 'ssd' } }))).toBe(true);
    expect(nodeChangeMatters(base, node('n', { taints: [{ key: 'k', effect: 'NoSchedule' }] }))).toBe(true);
    expect(nodeChangeMatters(base, node('n', { unschedulable: true }))).toBe(true);
    expect(nodeChangeMatters(base, node('n', { cpu: '4' }))).toBe(true);
    expect(nodeChangeMatters(base, node('n', { ready: false }))).toBe(true);
  });
});
