/**
 * Runs class-validator over a plain object and turns its errors into Kubernetes field causes; walks the same
 * schema declarations to find the fields nothing declares.
 */
import type { ValidationError } from 'class-validator';
import type { FieldCause } from '@berth/errors';
import type { Problem, SchemaClass } from './fields';
import { classValidator, declaredFields, isPlainObject } from './fields';

/**
 * The declared part of a value as an instance of its schema class (nested objects as instances of
 * theirs), which is what class-validator walks. Built here rather than by class-transformer, which reads
 * `value.constructor` inside free-form values: a ConfigMap key named `constructor` made it throw.
 * Unknown fields are reported separately, and leaving them out keeps keys like `__proto__` from ever
 * being assigned onto an instance; declared values that are not schema objects are passed as they are.
 */
function instanceOf(cls: SchemaClass, value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const fields = declaredFields(cls);
  const instance = new cls() as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) {
    const info = fields.get(key);
    if (!info) continue;
    const nested = info.nested?.();
    if (!nested) instance[key] = item;
    else if (info.list && Array.isArray(item)) instance[key] = item.map((element) => instanceOf(nested, element));
    else instance[key] = instanceOf(nested, item);
  }
  return instance;
}

function childPath(parent: string, property: string, parentIsList: boolean): string {
  if (parentIsList) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

function causesOf(errors: ValidationError[], parent: string, parentIsList: boolean, out: FieldCause[]): void {
  for (const error of errors) {
    const path = childPath(parent, error.property, parentIsList);
    for (const [name, message] of Object.entries(error.constraints ?? {})) {
      // Nested values' shape is checked by the property's own constraint, which words it the Kubernetes way.
      if (name === 'nestedValidation') continue;
      for (const p of JSON.parse(message) as Problem[]) {
        out.push({ reason: p.reason, message: p.message, field: path + (p.subpath ?? '') });
      }
    }
    if (error.children?.length) causesOf(error.children, path, Array.isArray(error.value), out);
  }
}

/** Field-level problems of `obj` against the schema class, with Kubernetes paths. */
export function schemaCauses(cls: SchemaClass, obj: unknown): FieldCause[] {
  const instance = instanceOf(cls, obj) as object;
  const errors = classValidator().validateSync(instance, { forbidUnknownValues: false, validationError: { value: true } });
  const causes: FieldCause[] = [];
  causesOf(errors, '', false, causes);
  return causes;
}

/**
 * Paths of fields present in `obj` that no schema class declares (`spec.replicaz`). With `remove`, they are
 * also deleted from `obj`, as Kubernetes' decoder drops what its types do not have.
 */
export function unknownFields(cls: SchemaClass, obj: unknown, path = '', remove = false): string[] {
  if (!isPlainObject(obj)) return [];
  const fields = declaredFields(cls);
  const found: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    const here = path ? `${path}.${key}` : key;
    const info = fields.get(key);
    if (!info) {
      found.push(here);
      if (remove) delete obj[key];
    } else if (info.nested && info.list && Array.isArray(value)) {
      value.forEach((item, i) => found.push(...unknownFields(info.nested!(), item, `${here}[${i}]`, remove)));
    } else if (info.nested) {
      found.push(...unknownFields(info.nested(), value, here, remove));
    }
  }
  return found;
}
