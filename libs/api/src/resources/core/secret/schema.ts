/** core/v1 Secret. */
import { field } from '@berth/errors';
import type { Check, Problem } from '../../../schema/fields';
import { Doc, isPlainObject, problem, requiredIf, t, Field } from '../../../schema/fields';
import { base64Values } from '../../../schema/checks';
import { TypedObject } from '../../../schema/meta';
import { configKeys, payloadFits } from '../configmap/schema';
import type * as types from './types';
import type { KindShape } from '../../definition';

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

@Doc('Sensitive data (passwords, tokens, keys) for pods to consume as environment variables or files.')
export class SecretObject extends TypedObject implements KindShape<types.Secret> {
  @Doc('Values by key, base64-encoded.')
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
  @Doc('Plain-text values by key, write-only: merged into data on write.')
  @Field(t.stringMap, configKeys) stringData?: Record<string, string>;
  @Doc('What the data holds (Opaque, kubernetes.io/tls, kubernetes.io/dockerconfigjson, ...), which decides the keys required.')
  @Field(t.string) type?: string;
  @Doc('When true, the data can no longer change.')
  @Field(t.boolean) immutable?: boolean;
}
