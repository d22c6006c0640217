import type { FieldCause } from '@berth/errors';
import { validateObjectMetaNames } from './metadata';
import { definitionOf } from './registry';
import type { ResourceType } from './registry';
import { schemaCauses, unknownFields } from './schema';
import type { KubeObject } from './types';

/**
 * What `?fieldValidation=` asks for: Strict rejects unknown fields, Warn reports and drops them, Ignore drops
 * them silently. Dropped, not stored, as Kubernetes' decoder drops what its types lack: a field berth would
 * store and never act on would make the object say what nothing does.
 */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface ValidationOptions {
  fieldValidation: FieldValidation;
  /** The stored object on update, for immutability rules; absent on create, when the create-only rules run. */
  old?: KubeObject;
}

export interface ValidationResult {
  /** Problems that make the request 422 Invalid (or 400 for unknown fields under Strict, reported separately). */
  causes: FieldCause[];
  /** Unknown fields found (paths like `spec.replicaz`): errors under Strict, warnings under Warn, none under Ignore. */
  unknownFields: string[];
}

/**
 * Validates a whole object of the given type after defaulting, dropping its unknown fields unless Strict. Field shapes and per-field rules come from
 * the kind's schema class (its folder's schema.ts); name rules that depend on the kind and the strategy's
 * update rules that compare with the stored object are added here.
 */
export function validateObject(type: ResourceType, obj: KubeObject, opts: ValidationOptions): ValidationResult {
  try {
    return validateChecked(type, obj, opts);
  } catch (err) {
    // Validation walks values recursively; a body nested deep enough exhausts the stack, and that is the client's fault.
    if (err instanceof RangeError) return { causes: [TOO_DEEP], unknownFields: [] };
    throw err;
  }
}

const TOO_DEEP: FieldCause = { reason: 'FieldValueInvalid', message: 'the object is nested too deeply to be validated' };

function validateChecked(type: ResourceType, obj: KubeObject, opts: ValidationOptions): ValidationResult {
  const { schema, strategy } = definitionOf(type);
  const causes = [...validateObjectMetaNames(type, obj), ...schemaCauses(schema, strategy.schemaView ? strategy.schemaView(obj) : obj)];
  if (opts.old && strategy.validateUpdate) causes.push(...strategy.validateUpdate(obj, opts.old));
  if (!opts.old && strategy.validateCreate) causes.push(...strategy.validateCreate(obj));
  const unknown = unknownFields(schema, obj, '', opts.fieldValidation !== 'Strict');
  return { causes, unknownFields: opts.fieldValidation === 'Ignore' ? [] : unknown };
}

