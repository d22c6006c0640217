/**
 * The vocabulary the schema classes are declared in. Each property carries one decorator (Field, Nested or
 * NestedList) that both registers a class-validator constraint and records the property as known, so the
 * same declarations give (a) field-level problems with Kubernetes wording and (b) the unknown-field walk.
 *
 * A check returns problems relative to the property it sits on; `subpath` (`[1].name`, `[cpu]`,
 * `.metadata.labels`) lets a check on a list or map name the exact element, as Kubernetes does.
 */
import type { FieldCause } from '@berth/errors';

type ClassValidator = typeof import('class-validator');

/**
 * class-validator (and reflect-metadata, which it expects) load on the first validation, not with the
 * schema classes: every process that imports @berth/api defines them, but only the apiserver and the
 * CLI's apply validate, and loading it costs ~120 ms at each `berth` call's start. The decorators record
 * what they would register; `classValidator()` loads it and registers them, before any `validateSync`.
 */
const pendingConstraints: ((validator: ClassValidator) => void)[] = [];
let loadedValidator: ClassValidator | undefined;

function whenValidatorLoads(registration: (validator: ClassValidator) => void): void {
  if (loadedValidator) registration(loadedValidator);
  else pendingConstraints.push(registration);
}

/** class-validator with every schema class's constraints registered. */
export function classValidator(): ClassValidator {
  if (!loadedValidator) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('reflect-metadata');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loadedValidator = require('class-validator') as ClassValidator;
  }
  const validator = loadedValidator;
  for (const registration of pendingConstraints.splice(0)) registration(validator);
  return validator;
}

export interface Problem {
  reason: string;
  message: string;
  subpath?: string;
}

export type Check<T = unknown> = (value: T, owner: Record<string, unknown>) => Problem[] | Problem | undefined;

const enumOfCheck = new WeakMap<Check<never>, readonly string[]>();

/** Records the values a check allows, for the OpenAPI schema (`oneOf` in checks.ts does). */
export function allowingOnly<T>(check: Check<T>, values: readonly string[]): Check<T> {
  enumOfCheck.set(check as Check<never>, values);
  return check;
}

function enumOf(checks: Check<never>[]): readonly string[] | undefined {
  for (const check of checks) {
    const values = enumOfCheck.get(check);
    if (values) return values;
  }
  return undefined;
}

const descriptions = new Map<object, Map<string, string>>();
const classDescriptions = new WeakMap<object, string>();

/**
 * What a field, or a whole schema class, means: the description OpenAPI (and so `kubectl explain`) shows.
 * On a property it goes beside its Field/Nested decorator; on a class, above it.
 */
export function Doc(text: string): PropertyDecorator & ClassDecorator {
  return ((target: object, property?: string | symbol) => {
    if (property === undefined) {
      classDescriptions.set(target, text);
      return;
    }
    const cls = target.constructor;
    let map = descriptions.get(cls);
    if (!map) descriptions.set(cls, (map = new Map()));
    map.set(String(property), text);
  }) as PropertyDecorator & ClassDecorator;
}

/** A field's description, its ancestors' included; a class's description. */
export function describedField(cls: object, property: string): string | undefined {
  for (let c: object | null = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const text = descriptions.get(c)?.get(property);
    if (text !== undefined) return text;
  }
  return undefined;
}

export function describedClass(cls: object): string | undefined {
  return classDescriptions.get(cls);
}

export type SchemaClass = new () => object;

export interface FieldInfo {
  nested?: () => SchemaClass;
  list?: boolean;
  /** A scalar, list-of-scalars or map field's JSON type (absent for nested objects). */
  type?: FieldType<unknown>;
  /** Marked `required` (not `requiredIf`): OpenAPI lists it in the object's `required`. */
  required?: boolean;
  /** The values a `oneOf` check allows. */
  enum?: readonly string[];
}

const fieldsByClass = new Map<object, Map<string, FieldInfo>>();
const mergedByClass = new Map<object, Map<string, FieldInfo>>();

/** The properties a schema class declares, its ancestors' included. */
export function declaredFields(cls: object): Map<string, FieldInfo> {
  const cached = mergedByClass.get(cls);
  if (cached) return cached;
  const merged = new Map<string, FieldInfo>();
  const chain: object[] = [];
  for (let c: object | null = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c);
  for (const c of chain) for (const [name, info] of fieldsByClass.get(c) ?? []) merged.set(name, info);
  mergedByClass.set(cls, merged);
  return merged;
}

/** Turns a cause built by `@berth/errors`' field builders into a path-less problem. */
export function problem(cause: FieldCause, subpath?: string): Problem {
  return { reason: cause.reason, message: cause.message, ...(subpath ? { subpath } : {}) };
}

export function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An OpenAPI v3 schema object (the subset berth writes: type, format, items, additionalProperties, $ref, ...). */
export type OpenApiSchema = Record<string, unknown>;

/** Shared value schemas OpenAPI documents refer to (`#/components/schemas/<name>`), as Kubernetes names them. */
export const QUANTITY_SCHEMA = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const INT_OR_STRING_SCHEMA = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
export const SHARED_VALUE_SCHEMAS: Readonly<Record<string, OpenApiSchema>> = {
  // No `type` on these two: either is a string or a number, and kubectl explain then names them (`<Quantity>`).
  [QUANTITY_SCHEMA]: {
    description: 'A fixed-point number with an optional suffix (Ki, Mi, Gi, m, k, M, G, ...): `500m`, `128Mi`, `2`.',
  },
  [INT_OR_STRING_SCHEMA]: {
    'x-kubernetes-int-or-string': true,
    description: 'An integer or a string: a port number or a named port, a count or a percentage.',
  },
};

const ref = (name: string): OpenApiSchema => ({ $ref: `#/components/schemas/${name}` });

/** What a property's JSON value must be; checks after it only run on values it accepts. */
export interface FieldType<T> {
  accepts(value: unknown): value is T;
  /** Problems inside an accepted-looking container (a map's non-string values). */
  inner?(value: T): Problem[];
  expected: string;
  /** The value's OpenAPI v3 schema. */
  openapi: OpenApiSchema;
}

function typeOf<T>(expected: string, openapi: OpenApiSchema, accepts: (value: unknown) => boolean, inner?: (value: T) => Problem[]): FieldType<T> {
  return { expected, openapi, accepts: accepts as (value: unknown) => value is T, inner };
}

const MAX_SHOWN_VALUE = 200;

/** A wrongly typed value can be a whole subtree; the message shows its beginning only. */
function typeMismatch(value: unknown, expected: string): Problem {
  const json = JSON.stringify(value) ?? String(value);
  const shown = json.length > MAX_SHOWN_VALUE ? `${json.slice(0, MAX_SHOWN_VALUE)}...` : json;
  return { reason: 'FieldValueTypeInvalid', message: `Invalid value: ${shown}: must be ${expected}` };
}

function listOf<T>(element: FieldType<T>): FieldType<T[]> {
  return typeOf<T[]>(`a list of ${element.expected.replace(/^of type /, '')}`, { type: 'array', items: element.openapi }, Array.isArray, (list) =>
    list.flatMap((item, i) => (element.accepts(item) ? [] : [{ ...typeMismatch(item, element.expected), subpath: `[${i}]` }])),
  );
}

const STRING = { type: 'string' };

export const t = {
  string: typeOf<string>('of type string', STRING, (v) => typeof v === 'string'),
  boolean: typeOf<boolean>('of type boolean', { type: 'boolean' }, (v) => typeof v === 'boolean'),
  integer: typeOf<number>('of type integer', { type: 'integer' }, (v) => Number.isSafeInteger(v)),
  number: typeOf<number>('of type number', { type: 'number' }, (v) => typeof v === 'number' && Number.isFinite(v)),
  intOrString: typeOf<number | string>('an integer or a string', ref(INT_OR_STRING_SCHEMA), (v) => typeof v === 'string' || Number.isSafeInteger(v)),
  stringMap: typeOf<Record<string, string>>('a map of string to string', { type: 'object', additionalProperties: STRING }, isPlainObject, (map) =>
    Object.entries(map).flatMap(([key, v]) =>
      typeof v === 'string' ? [] : [{ ...typeMismatch(v, 'of type string'), subpath: `[${key}]` }],
    ),
  ),
  /** A resource quantity: YAML's `cpu: 1` arrives as a number, which Kubernetes accepts too. */
  quantity: typeOf<string | number>('a quantity string or number', ref(QUANTITY_SCHEMA), (v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))),
  quantityMap: typeOf<Record<string, string | number>>(
    'a map of resource name to quantity',
    { type: 'object', additionalProperties: ref(QUANTITY_SCHEMA) },
    isPlainObject,
    (map) =>
      Object.entries(map).flatMap(([key, v]) =>
        typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))
          ? []
          : [{ ...typeMismatch(v, 'a quantity string or number'), subpath: `[${key}]` }],
      ),
  ),
  /** Free-form JSON object (managedFields' fieldsV1). */
  object: typeOf<Record<string, unknown>>('an object', { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, isPlainObject),
  /** A list of free-form objects (extension points berth stores but does not interpret). */
  objectList: listOf(typeOf<Record<string, unknown>>('an object', { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, isPlainObject)),
  stringList: listOf(typeOf<string>('of type string', STRING, (v) => typeof v === 'string')),
  integerList: listOf(typeOf<number>('of type integer', { type: 'integer' }, (v) => Number.isSafeInteger(v))),
};

/** Marks a field as required: absent, null, '' and [] are reported as `Required value`. */
export const required: Check = () => undefined;

const requiredWhen = new WeakMap<Check, (owner: Record<string, unknown>) => boolean>();

/** Required only when the object's other fields say so (`externalName` of an ExternalName service). */
export function requiredIf(condition: (owner: Record<string, unknown>) => boolean): Check {
  const marker: Check = () => undefined;
  requiredWhen.set(marker, condition);
  return marker;
}

function demandsValue(check: Check, owner: Record<string, unknown>): boolean {
  return check === required || requiredWhen.get(check)?.(owner) === true;
}

/** '' and [] count as missing only where they are of the right type (a `spec: []` is a type error instead). */
function isEmpty<T>(type: FieldType<T>, value: unknown): boolean {
  return isAbsent(value) || ((value === '' || (Array.isArray(value) && value.length === 0)) && type.accepts(value));
}

function asList(result: Problem[] | Problem | undefined): Problem[] {
  if (!result) return [];
  return Array.isArray(result) ? result : [result];
}

/** Runs a field's checks the way Kubernetes reports: required first, then type, then each rule. */
function evaluate<T>(type: FieldType<T>, checks: Check<T>[], value: unknown, owner: Record<string, unknown>): Problem[] {
  if (isEmpty(type, value) && checks.some((check) => demandsValue(check as Check, owner))) {
    return [{ reason: 'FieldValueRequired', message: 'Required value' }];
  }
  if (isAbsent(value)) return [];
  if (!type.accepts(value)) return [typeMismatch(value, type.expected)];
  const inner = type.inner?.(value) ?? [];
  if (inner.length) return inner;
  return checks.filter((c) => c !== required && !requiredWhen.has(c as Check)).flatMap((check) => asList(check(value, owner)));
}

function register(target: object, property: string, info: FieldInfo): void {
  const cls = target.constructor;
  let fields = fieldsByClass.get(cls);
  if (!fields) fieldsByClass.set(cls, (fields = new Map()));
  fields.set(property, info);
  mergedByClass.clear();
}

function constrain<T>(target: object, property: string, type: FieldType<T>, checks: Check<T>[]): void {
  whenValidatorLoads(({ registerDecorator }) => registerDecorator({
    name: 'berthField',
    target: target.constructor,
    propertyName: property,
    validator: {
      validate: (value, args) => evaluate(type, checks, value, args?.object as Record<string, unknown>).length === 0,
      // The problems travel to the converter as JSON: class-validator carries one string per constraint.
      defaultMessage: (args) => JSON.stringify(evaluate(type, checks, args?.value, args?.object as Record<string, unknown>)),
    },
  }));
}

/** A scalar, list-of-scalars or free-form map property. */
export function Field<T>(type: FieldType<T>, ...checks: Check<T>[]): PropertyDecorator {
  return (target, property) => {
    register(target, String(property), {
      type: type as FieldType<unknown>,
      required: checks.includes(required as Check<T>),
      enum: enumOf(checks as Check<never>[]),
    });
    constrain(target, String(property), type, checks);
  };
}

const objectType = typeOf<Record<string, unknown>>('an object', { type: 'object' }, isPlainObject);
const objectListType = listOf(objectType);

/** A property holding one object of a schema class. */
export function Nested<T>(cls: () => SchemaClass, ...checks: Check<T>[]): PropertyDecorator {
  return (target, property) => {
    register(target, String(property), { nested: cls, required: checks.includes(required as Check<T>) });
    constrain(target, String(property), objectType, checks as Check<Record<string, unknown>>[]);
    whenValidatorLoads(({ ValidateNested }) => ValidateNested()(target, String(property)));
  };
}

/** A property holding a list of objects of a schema class. */
export function NestedList<T>(cls: () => SchemaClass, ...checks: Check<T[]>[]): PropertyDecorator {
  return (target, property) => {
    register(target, String(property), { nested: cls, list: true, required: checks.includes(required as Check<T[]>) });
    constrain(target, String(property), objectListType, checks as unknown as Check<Record<string, unknown>[]>[]);
    whenValidatorLoads(({ ValidateNested }) => ValidateNested({ each: true })(target, String(property)));
  };
}
