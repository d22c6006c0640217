import { AGE, NAME, humanAge, table } from '../../columns';
import { defineResource } from '../../definition';
import { ServiceAccountObject } from './schema';
import type { ServiceAccount } from './types';

export type * from './types';

/**
 * v1 ServiceAccount: the `default` one of every namespace comes from the serviceaccount controller
 * (libs/controllers); `token` issues bound tokens (libs/apiserver/src/service-account-tokens.ts).
 */
export const serviceAccountResource = defineResource<ServiceAccount>({
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  shortNames: ['sa'],
  subresources: ['token'],
  schema: ServiceAccountObject,
  table: table(
    [NAME, ['Secrets', 'integer', 'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount'], AGE],
    (obj, now) => [obj.metadata.name, Array.isArray(obj.secrets) ? obj.secrets.length : 0, humanAge(obj.metadata.creationTimestamp, now)],
  ),
});
