/**
 * OpenAPI v3 schemas of the served kinds, generated from each folder's validation schema: the same
 * declarations that validate an object describe it, so `kubectl explain` shows what the server checks.
 * Field descriptions come from the schema's `@Doc`s; enums from its `oneOf` checks; required fields from
 * its `required` checks (not from `requiredIf`, which depends on other fields).
 */
import type { ResourceDefinition } from './resources/definition';
import type { OpenApiSchema, SchemaClass } from './schema/fields';
import { declaredFields, describedClass, describedField, SHARED_VALUE_SCHEMAS } from './schema/fields';

export type { OpenApiSchema } from './schema/fields';

const ref = (name: string): OpenApiSchema => ({ $ref: `#/components/schemas/${name}` });

/** `io.berth.core.v1.Pod`, `io.berth.apps.v1.Deployment`: a kind's schema name (kubectl shows the last part). */
export function kindSchemaName(definition: ResourceDefinition): string {
  return `io.berth.${definition.group ? definition.group.split('.')[0] : 'core'}.${definition.version}.${definition.kind}`;
}

/** A schema class's name; its classes' names are unique across the kinds' schemas. */
function classSchemaName(cls: SchemaClass): string {
  return `io.berth.schema.${cls.name}`;
}

function withDescription(schema: OpenApiSchema, description: string | undefined): OpenApiSchema {
  return description ? { ...schema, description } : schema;
}

/** The schema of one class, its nested classes added to `out` as they are met. */
function objectSchema(cls: SchemaClass, out: Record<string, OpenApiSchema>): OpenApiSchema {
  const properties: Record<string, OpenApiSchema> = {};
  const required: string[] = [];
  for (const [name, info] of declaredFields(cls)) {
    let schema: OpenApiSchema;
    if (info.nested) {
      const nested = info.nested();
      addClass(nested, out);
      const item = { allOf: [ref(classSchemaName(nested))] };
      schema = info.list ? { type: 'array', items: item } : item;
    } else {
      schema = { ...(info.type?.openapi ?? {}) };
      if (info.enum) schema.enum = [...info.enum];
    }
    properties[name] = withDescription(schema, describedField(cls, name));
    if (info.required) required.push(name);
  }
  return withDescription(
    { type: 'object', properties, ...(required.length ? { required: required.sort() } : {}) },
    describedClass(cls),
  );
}

function addClass(cls: SchemaClass, out: Record<string, OpenApiSchema>): void {
  const name = classSchemaName(cls);
  if (Object.hasOwn(out, name)) return;
  out[name] = {}; // claimed before the walk, so that a class reaching itself stops
  out[name] = objectSchema(cls, out);
}

/**
 * `components.schemas` for these kinds: each kind's object schema (tagged with its group-version-kind, which
 * is how kubectl finds it), every class it nests, and the shared value schemas (Quantity, IntOrString).
 */
export function openApiSchemas(definitions: readonly ResourceDefinition[]): Record<string, OpenApiSchema> {
  const out: Record<string, OpenApiSchema> = { ...SHARED_VALUE_SCHEMAS };
  for (const definition of definitions) {
    out[kindSchemaName(definition)] = {
      ...objectSchema(definition.schema, out),
      'x-kubernetes-group-version-kind': [{ group: definition.group, kind: definition.kind, version: definition.version }],
    };
  }
  return out;
}
