/** core/v1 ConfigMap and Secret. */
import { field } from '@berth/errors';
import type { Check, Problem } from './fields';
import { isPlainObject, problem, requiredIf, t, Field } from './fields';
import { base64Values, mapBytes, tooLong } from './checks';
import { TypedObject } from './meta';
import { configKeyErrors, eachKeyNamed } from './syntax';

/** etcd's value limit, which Kubernetes applies to a config map's or secret's whole payload. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

const configKeys = eachKeyNamed(configKeyErrors);

/** A key may live in `data` or `binaryData`, not both: the mounted file could only hold one. */
const notAlsoIn = (sibling: string): Check<Record<string, string>> => (map, owner) => {
  const other = owner[sibling];
  if (!isPlainObject(other)) return [];
  return Object.keys(map)
    .filter((key) => key in other)
    .map((key) => problem(field.invalid('', key, `duplicate of key present in ${sibling}`), `[${key}]`));
};

/** The whole payload counts, so the check sits on `data` and includes its siblings. */
const payloadFits = (...siblings: string[]): Check<Record<string, string>> => (map, owner) => {
  const total = [map, ...siblings.map((s) => owner[s])].reduce<number>(
    (sum, m) => sum + (isPlainObject(m) ? mapBytes(m) : 0),
    0,
  );
  return total > MAX_CONFIG_BYTES ? tooLong(MAX_CONFIG_BYTES) : undefined;
};

export class ConfigMapObject extends TypedObject {
  @Field(t.stringMap, configKeys, notAlsoIn('binaryData'), payloadFits('binaryData')) data?: Record<string, string>;
  @Field(t.stringMap, configKeys, base64Values) binaryData?: Record<string, string>;
  @Field(t.boolean) immutable?: boolean;
}

/** Secret types whose consumers read fixed keys. */
export const SECRET_TYPE_KEYS: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

const keysForType: Check<Record<string, string>> = (data, secret) => {
  const keys = typeof secret.type === 'string' ? SECRET_TYPE_KEYS[secret.type] ?? [] : [];
  const stringData = isPlainObject(secret.stringData) ? secret.stringData : {};
  return keys.filter((key) => !(key in data) && !(key in stringData)).map((key): Problem => problem(field.required(''), `[${key}]`));
};

/** Secret types whose key must hold a docker config as JSON (an object), as Kubernetes checks them. */
const SECRET_TYPE_JSON_KEYS: Readonly<Record<string, string>> = {
  'kubernetes.io/dockerconfigjson': '.dockerconfigjson',
  'kubernetes.io/dockercfg': '.dockercfg',
};

/** `.dockerconfigjson` (and `.dockercfg`) must decode to a JSON object: the kubelet reads pull credentials from it. */
const dockerConfigReadable: Check<Record<string, string>> = (data, secret) => {
  const key = typeof secret.type === 'string' ? SECRET_TYPE_JSON_KEYS[secret.type] : undefined;
  const value = key === undefined ? undefined : data[key];
  if (typeof value !== 'string') return [];
  let why: string | undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    if (typeof parsed !== 'object' || Array.isArray(parsed)) why = 'must be a JSON object';
  } catch (err) {
    why = (err as Error).message;
  }
  return why ? [problem(field.invalid('', '<secret contents redacted>', why), `[${key}]`)] : [];
};

export class SecretObject extends TypedObject {
  @Field(
    t.stringMap,
    requiredIf((secret) => typeof secret.type === 'string' && secret.type in SECRET_TYPE_KEYS && !isPlainObject(secret.stringData)),
    configKeys,
    base64Values,
    keysForType,
    dockerConfigReadable,
    payloadFits('stringData'),
  )
  data?: Record<string, string>;
  @Field(t.stringMap, configKeys) stringData?: Record<string, string>;
  @Field(t.string) type?: string;
  @Field(t.boolean) immutable?: boolean;
}
