/** The language kinds' validation schemas are declared in (each kind's schema lives in its folder under resources/). */
export { schemaCauses, unknownFields } from './engine';
export type { SchemaClass } from './fields';
