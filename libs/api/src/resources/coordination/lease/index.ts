import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { LeaseObject } from './schema';
import type { Lease } from './types';

export type * from './types';

export const leaseResource = defineResource<Lease>({
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  schema: LeaseObject,
  table: table([NAME, ['Holder', 'string', 'The identity of the holder of the current lease.'], AGE], (obj, now) => [
    obj.metadata.name,
    view<{ spec?: { holderIdentity?: string } }>(obj).spec?.holderIdentity ?? '',
    humanAge(obj.metadata.creationTimestamp, now),
  ]),
});
