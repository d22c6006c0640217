/** core/v1 ConfigMap. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { Doc, isPlainObject, problem, t, Field } from '../../../schema/fields';
import { base64Values, mapBytes, tooLong } from '../../../schema/checks';
import { TypedObject } from '../../../schema/meta';
import { configKeyErrors, eachKeyNamed } from '../../../schema/syntax';
import type * as types from './types';
import type { KindShape } from '../../definition';

/** etcd's value limit, which Kubernetes applies to a config map's or secret's whole payload. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export const configKeys = eachKeyNamed(configKeyErrors);

/** A key may live in `data` or `binaryData`, not both: the mounted file could only hold one. */
const notAlsoIn = (sibling: string): Check<Record<string, string>> => (map, owner) => {
  const other = owner[sibling];
  if (!isPlainObject(other)) return [];
  return Object.keys(map)
    .filter((key) => key in other)
    .map((key) => problem(field.invalid('', key, `duplicate of key present in ${sibling}`), `[${key}]`));
};

/** The whole payload counts, so the check sits on `data` and includes its siblings. */
export const payloadFits = (...siblings: string[]): Check<Record<string, string>> => (map, owner) => {
  const total = [map, ...siblings.map((s) => owner[s])].reduce<number>(
    (sum, m) => sum + (isPlainObject(m) ? mapBytes(m) : 0),
    0,
  );
  return total > MAX_CONFIG_BYTES ? tooLong(MAX_CONFIG_BYTES) : undefined;
};

@Doc('Configuration data for pods to consume as environment variables or files.')
export class ConfigMapObject extends TypedObject implements KindShape<types.ConfigMap> {
  @Doc('UTF-8 values by key.')
  @Field(t.stringMap, configKeys, notAlsoIn('binaryData'), payloadFits('binaryData')) data?: Record<string, string>;
  @Doc('Binary values by key, base64-encoded.')
  @Field(t.stringMap, configKeys, base64Values) binaryData?: Record<string, string>;
  @Doc('When true, the data can no longer change (the object can still be deleted).')
  @Field(t.boolean) immutable?: boolean;
}

