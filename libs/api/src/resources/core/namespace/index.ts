import { BerthError } from '@berth/errors';
import { dns1123LabelErrors } from '../../../schema/syntax';
import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { CONDITIONS, objectMerge, struct } from '../../merge';
import { child, setDefault } from '../../defaulting';
import { plainField } from '../../selectable';
import { NamespaceObject } from './schema';
import type { Namespace } from './types';

export type * from './types';

/** Namespaces Kubernetes creates itself and refuses to delete (kube-node-lease may go). */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const UNDELETABLE_NAMESPACES = ['default', 'kube-system', 'kube-public'];

export const namespaceResource = defineResource<Namespace>({
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  shortNames: ['ns'],
  namespaced: false,
  subresources: ['status'],
  // As in Kubernetes, namespaces are deleted one by one: each one's deletion is a cascade of its own.
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  schema: NamespaceObject,
  mergeSchema: objectMerge({ status: struct({ conditions: CONDITIONS }) }),
  // A namespace's name is part of every DNS name in it.
  nameErrors: dns1123LabelErrors,
  defaults: (ns) => {
    const spec = child(ns, 'spec');
    if (spec) setDefault(spec, 'finalizers', ['kubernetes']);
    const status = child(ns, 'status');
    if (status) setDefault(status, 'phase', 'Active');
  },
  table: table([NAME, ['Status', 'string', 'The status of the namespace'], AGE], (obj, now) => [
    obj.metadata.name,
    view<{ status?: { phase?: string } }>(obj).status?.phase ?? '',
    humanAge(obj.metadata.creationTimestamp, now),
  ]),
  selectableFields: { 'status.phase': plainField('status.phase') },
  strategy: {
    prepareForCreate: (ns) => {
      ns.spec = { finalizers: ['kubernetes'] };
      ns.status = { phase: 'Active' };
    },
    // Namespace finalizers change only through the termination flow, as in Kubernetes.
    prepareForUpdate: (next, old, subresource) => {
      if (subresource === 'status') return;
      next.spec = structuredClone(old.spec);
      next.status = structuredClone(old.status);
    },
    // A namespace is emptied before it goes: the namespace reconciler deletes its content, then it.
    deletion: (ns) => {
      const name = ns.metadata.name ?? '';
      if (UNDELETABLE_NAMESPACES.includes(name)) {
        throw new BerthError('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
      }
      if (ns.metadata.deletionTimestamp) return { kind: 'pending' };
      return {
        kind: 'keep',
        prepare: (marked) => {
          marked.status = { ...(marked.status as Record<string, unknown>), phase: 'Terminating' };
        },
      };
    },
  },
});
