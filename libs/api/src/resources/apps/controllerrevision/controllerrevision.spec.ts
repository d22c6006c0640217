import type { KubeObject } from '../../../types';
import { admitted, tableRow } from '../../spec-helpers';

const NOW = new Date('2026-12-07T07:00:00Z');
const row = (name: string, obj: KubeObject) => tableRow(name, obj, NOW);

describe('ControllerRevision', () => {
  const revision = (data: unknown, number: unknown = 1): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: 'agent-7c9b8d6f5',
      namespace: 'default',
      creationTimestamp: '2026-12-07T06:00:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u1', controller: true }],
    },
    data,
    revision: number,
  });

  it('holds a data object and a revision number, and its data never changes', () => {
    expect(admitted('controllerrevisions', revision({ spec: { template: { $patch: 'replace' } } }))).toEqual([]);
    expect(admitted('controllerrevisions', revision({}, -1))).toEqual(['revision: Invalid value: -1: must be greater than or equal to 0']);
    expect(admitted('controllerrevisions', revision(undefined))).toEqual(['data: Required value']);
    expect(admitted('controllerrevisions', revision({ a: 2 }, 2), revision({ a: 1 }))).toEqual(['data: Invalid value: {"a":2}: field is immutable']);
    expect(admitted('controllerrevisions', revision({ a: 1 }, 2), revision({ a: 1 }))).toEqual([]);
  });

  it('prints its controller as group-qualified kind and name', () => {
    expect(row('controllerrevisions', revision({}, 3))).toEqual({ Name: 'agent-7c9b8d6f5', Controller: 'daemonset.apps/agent', Revision: 3, Age: '60m' });
  });
});
