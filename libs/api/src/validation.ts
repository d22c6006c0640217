import type { FieldCause } from '@berth/errors';
import type { ResourceType } from './registry';
import type { KubeObject } from './types';

/** What `?fieldValidation=` asks for: Strict rejects unknown fields, Warn reports them, Ignore drops the check. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface ValidationOptions {
  fieldValidation: FieldValidation;
  /** The stored object on update, for immutability rules. */
  old?: KubeObject;
}

export interface ValidationResult {
  /** Problems that make the request 422 Invalid (or 400 for unknown fields under Strict, reported separately). */
  causes: FieldCause[];
  /** Unknown fields found (paths like `spec.replicaz`): errors under Strict, warnings under Warn. */
  unknownFields: string[];
}

/** Validates a whole object of the given type after defaulting. Implemented with class-validator. */
export function validateObject(type: ResourceType, obj: KubeObject, opts: ValidationOptions): ValidationResult {
  void type;
  void obj;
  void opts;
  throw new Error('validateObject: not implemented yet');
}
