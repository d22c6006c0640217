import { definitionOf, EMPTY_SCHEMA } from '@berth/api';
import type { FieldSchema, ResourceType } from '@berth/api';

export { EMPTY_SCHEMA } from '@berth/api';
export type { FieldSchema, ListSchema } from '@berth/api';

/** The merge schema of a served kind (its definition's mergeSchema); kinds without tagged fields only have metadata's. */
export function schemaFor(type: ResourceType): FieldSchema {
  return definitionOf(type).mergeSchema;
}

/** A field's schema; a name the schema does not declare (`constructor` too) merges by default. */
export function fieldSchema(schema: FieldSchema, name: string): FieldSchema {
  const fields = schema.fields;
  return fields && Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : EMPTY_SCHEMA;
}
