import { AGE, NAME, countOf, humanAge, table } from '../../columns';
import { defineResource } from '../../definition';
import { payloadFrozen } from '../../immutable';
import { ConfigMapObject } from './schema';
import type { ConfigMap } from './types';

export type * from './types';

export const configMapResource = defineResource<ConfigMap>({
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  shortNames: ['cm'],
  schema: ConfigMapObject,
  table: table([NAME, ['Data', 'string', 'The number of data entries.'], AGE], (obj, now) => [
    obj.metadata.name,
    countOf(obj.data) + countOf(obj.binaryData),
    humanAge(obj.metadata.creationTimestamp, now),
  ]),
  strategy: { validateUpdate: payloadFrozen(['data', 'binaryData']) },
});
