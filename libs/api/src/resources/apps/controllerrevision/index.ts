import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, table } from '../../columns';
import { defineResource } from '../../definition';
import { immutableField, sameJson } from '../../immutable';
import { ControllerRevisionObject } from './schema';
import type { ControllerRevision } from './types';

export type * from './types';

/** `daemonset.apps/agent`: the controlling owner as Kubernetes' formatResourceName writes a GroupKind and name. */
function controllerName(obj: KubeObject): string {
  const owner = (obj.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
  if (!owner) return '<none>';
  const slash = owner.apiVersion.indexOf('/');
  const group = slash >= 0 ? owner.apiVersion.slice(0, slash) : '';
  return `${(group ? `${owner.kind}.${group}` : owner.kind).toLowerCase()}/${owner.name}`;
}

export const controllerRevisionResource = defineResource<ControllerRevision>({
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  schema: ControllerRevisionObject,
  table: table(
    [NAME, ['Controller', 'string', 'Controller of the object'], ['Revision', 'string', 'Revision of the object'], AGE],
    (obj, now) => [obj.metadata.name, controllerName(obj), (obj as ControllerRevision).revision ?? 0, humanAge(obj.metadata.creationTimestamp, now)],
  ),
  strategy: {
    // A revision is a snapshot: its owner renumbers it, but what it restores never changes.
    validateUpdate: (next, old) => (sameJson(next.data, old.data) ? [] : [immutableField('data', next.data)]),
  },
});
