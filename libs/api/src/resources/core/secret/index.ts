import type { FieldCause } from '@berth/errors';
import { AGE, NAME, countOf, humanAge, table } from '../../columns';
import { defineResource } from '../../definition';
import type { Obj } from '../../defaulting';
import { child, isObj, setDefault } from '../../defaulting';
import { immutableField, payloadFrozen } from '../../immutable';
import { isAbsent } from '../../../schema/fields';
import { plainField } from '../../selectable';
import type { KubeObject } from '../../../types';
import { SecretObject } from './schema';
import type { Secret } from './types';

export type * from './types';

/** stringData is write-only: it is merged into data (base64) and never stored. */
function defaultSecret(secret: Obj): void {
  setDefault(secret, 'type', 'Opaque');
  if (isObj(secret.stringData)) {
    const data = child(secret, 'data');
    if (!data) return;
    for (const [key, value] of Object.entries(secret.stringData)) {
      if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
    }
    delete secret.stringData;
  }
}

function secretUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const causes = payloadFrozen(['data'])(obj, old);
  if (!isAbsent(old.type) && obj.type !== old.type) causes.push(immutableField('type', obj.type));
  return causes;
}

export const secretResource = defineResource<Secret>({
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  schema: SecretObject,
  defaults: defaultSecret,
  table: table(
    [NAME, ['Type', 'string', 'Used to facilitate programmatic handling of secret data.'], ['Data', 'string', 'The number of data entries.'], AGE],
    (obj, now) => [obj.metadata.name, (obj.type as string | undefined) ?? '', countOf(obj.data), humanAge(obj.metadata.creationTimestamp, now)],
  ),
  selectableFields: { type: plainField('type') },
  strategy: { validateUpdate: secretUpdate },
});
