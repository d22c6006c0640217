import { checkDecoded, decodeJson, type KubeObject } from '@berth/api';
import { BerthError, errors } from '@berth/errors';
import { Field, MapField, Message, Type } from 'protobufjs';
import { messageType, PROTOBUF_KINDS, UNKNOWN_TYPE } from './definitions';

/** Every Kubernetes protobuf body starts with these four bytes: `k8s\0`. */
const MAGIC = Buffer.from('k8s\0', 'latin1');

type Json = Record<string, unknown>;

interface UnknownEnvelope {
  typeMeta?: { apiVersion?: string; kind?: string };
  raw?: Uint8Array;
  contentEncoding?: string;
  contentType?: string;
}

/**
 * Decodes a Kubernetes protobuf request body (`k8s\0` + runtime.Unknown) into the JSON-shaped object it
 * encodes. Throws BerthError BadRequest for a malformed body, UnsupportedMediaType for a kind without a
 * definition in proto/k8s or a body with fields those definitions lack.
 */
export function decodeKubernetesProtobuf(body: Buffer): KubeObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw errors.badRequest('the protobuf body does not start with the Kubernetes "k8s\\x00" prefix');
  }
  const envelope = decodeMessage(messageType(UNKNOWN_TYPE), body.subarray(MAGIC.length), 'runtime.Unknown') as UnknownEnvelope;
  const apiVersion = envelope.typeMeta?.apiVersion;
  const kind = envelope.typeMeta?.kind;
  if (!apiVersion || !kind) throw errors.badRequest('the protobuf body does not name its apiVersion and kind');
  if (envelope.contentEncoding) {
    throw new BerthError('UnsupportedMediaType', `protobuf content encoding ${JSON.stringify(envelope.contentEncoding)} is not supported`);
  }
  const typeName = PROTOBUF_KINDS[`${apiVersion}/${kind}`];
  if (!typeName) {
    throw new BerthError('UnsupportedMediaType', `${kind} in ${apiVersion} cannot be sent as protobuf to this server; send application/json`);
  }
  const type = messageType(typeName);
  const raw = envelope.raw ?? new Uint8Array();
  const message = decodeMessage(type, raw, kind);
  // protobufjs skips fields it has no definition for; re-encoding shows whether any were dropped.
  if (encodedLength(type, message) !== raw.length) {
    throw new BerthError(
      'UnsupportedMediaType',
      `the protobuf ${kind} carries fields this server does not decode; send it as application/json`,
    );
  }
  let object: KubeObject;
  try {
    object = { apiVersion, kind, ...(messageToJson(type, message as unknown as Json) as Json) } as KubeObject;
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw errors.badRequest(`malformed protobuf ${kind}: ${(err as Error).message}`);
  }
  // Map keys and FieldsV1 come from the body: held to the rules of a JSON body.
  checkDecoded(object, 'the body of the request');
  return object;
}

function encodedLength(type: Type, message: Message): number {
  try {
    return type.encode(message).finish().length;
  } catch {
    // What cannot be encoded again was not decoded faithfully either.
    return -1;
  }
}

function decodeMessage(type: Type, bytes: Uint8Array, what: string): Message {
  try {
    return type.decode(bytes);
  } catch (err) {
    throw errors.badRequest(`malformed protobuf ${what}: ${(err as Error).message}`);
  }
}

const TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.Time';
const MICRO_TIME = 'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime';
const INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
const FIELDS_V1 = 'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1';

function fullName(type: Type): string {
  return type.fullName.replace(/^\./, '');
}

function has(message: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, name);
}

/** int64 fields decode to Long objects (protobufjs uses the `long` package when it is installed). */
function toNumber(value: unknown): number {
  if (typeof value === 'object' && value !== null && 'toNumber' in value) return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

/** RFC 3339 as Kubernetes writes it: whole seconds for Time, microseconds for MicroTime. */
function timeToJson(message: Json, micro: boolean): string | undefined {
  const seconds = has(message, 'seconds') ? toNumber(message.seconds) : 0;
  const nanos = has(message, 'nanos') ? toNumber(message.nanos) : 0;
  if (seconds === 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, '');
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** The well-known wrappers have a JSON form of their own; undefined means "leave the field out". */
function specialToJson(type: Type, message: Json): { value: unknown } | undefined {
  switch (fullName(type)) {
    case TIME:
      return { value: timeToJson(message, false) };
    case MICRO_TIME:
      return { value: timeToJson(message, true) };
    case INT_OR_STRING:
      return { value: toNumber(message.type ?? 0) === 1 ? (message.strVal ?? '') : toNumber(message.intVal ?? 0) };
    case QUANTITY:
      return { value: message.string ?? '' };
    case FIELDS_V1:
      return { value: message.Raw ? decodeJson(Buffer.from(message.Raw as Uint8Array).toString('utf8'), 'a FieldsV1 of the body') : {} };
    default:
      return undefined;
  }
}

function messageToJson(type: Type, message: Json): unknown {
  const special = specialToJson(type, message);
  if (special) return special.value;
  const out: Json = {};
  for (const field of type.fieldsArray) {
    if (!has(message, field.name)) continue;
    const value = fieldToJson(field, message[field.name]);
    if (value === undefined) continue;
    if (field.options?.['(inline)'] && typeof value === 'object' && value !== null) Object.assign(out, value);
    else out[field.name] = value;
  }
  return out;
}

function valueToJson(field: Field, value: unknown): unknown {
  if (field.resolvedType instanceof Type) return messageToJson(field.resolvedType, value as Json);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (field.type === 'int64' || field.type === 'uint64' || field.type === 'sint64') return toNumber(value);
  return value;
}

/** Go writes every non-pointer scalar, so a zero value there means "unset", as `omitempty` has it. */
function isUnsetScalar(field: Field, value: unknown): boolean {
  if (field.resolvedType || field.options?.['(pointer)']) return false;
  if (typeof value === 'string') return value === '';
  if (typeof value === 'boolean') return !value;
  return toNumber(value) === 0;
}

function fieldToJson(field: Field, value: unknown): unknown {
  if (field instanceof MapField) {
    const entries = Object.entries(value as Json);
    if (entries.length === 0) return undefined;
    return Object.fromEntries(entries.map(([key, v]) => [key, valueToJson(field, v)]));
  }
  if (field.repeated) {
    const items = value as unknown[];
    return items.length === 0 ? undefined : items.map((item) => valueToJson(field, item));
  }
  if (isUnsetScalar(field, value)) return undefined;
  return valueToJson(field, value);
}
