import { kindSchemaName, openApiSchemas } from './openapi';
import type { OpenApiSchema } from './openapi';
import { RESOURCES, resourceForKind } from './registry';

const schemas = openApiSchemas(RESOURCES);

function resolve(schema: OpenApiSchema): OpenApiSchema {
  const target = (schema.allOf as OpenApiSchema[] | undefined)?.[0] ?? schema;
  const ref = target.$ref as string | undefined;
  if (!ref) return schema;
  const resolved = schemas[ref.replace('#/components/schemas/', '')];
  if (!resolved) throw new Error(`unresolved ${ref}`);
  return resolved;
}

/** The schema at a dotted path from a kind (`spec.containers`), through refs and list items. */
function at(kind: string, path: string): OpenApiSchema {
  let schema = schemas[kindSchemaName(resourceForKind(kind === 'Deployment' ? 'apps/v1' : 'v1', kind)!)];
  for (const name of path.split('.')) {
    let resolved = resolve(schema);
    if (resolved.type === 'array') resolved = resolve(resolved.items as OpenApiSchema);
    schema = (resolved.properties as Record<string, OpenApiSchema>)[name];
    if (!schema) throw new Error(`no ${name} in ${kind}.${path}`);
  }
  return schema;
}

describe('OpenAPI v3 schemas from the kinds’ folders', () => {
  it('tags each kind with its group-version-kind, as kubectl explain looks it up', () => {
    for (const r of RESOURCES) {
      expect(schemas[kindSchemaName(r)]['x-kubernetes-group-version-kind']).toEqual([{ group: r.group, kind: r.kind, version: r.version }]);
    }
  });

  it('resolves every $ref it writes', () => {
    const refs = JSON.stringify(schemas).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(100);
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(Object.hasOwn(schemas, name)).toBe(true);
    }
  });

  it('describes pod.spec.containers as the schema validates it: a list of Container, name and image required', () => {
    const containers = at('Pod', 'spec.containers');
    expect(containers.type).toBe('array');
    expect(containers.description).toMatch(/containers of the pod/);
    const container = resolve(containers.items as OpenApiSchema);
    expect(container.required).toEqual(['image', 'name']);
    expect(at('Pod', 'spec.containers.imagePullPolicy')).toMatchObject({ type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] });
    expect(at('Pod', 'spec.containers.ports.containerPort')).toMatchObject({ type: 'integer' });
    expect(at('Pod', 'spec.containers.resources.limits')).toEqual({
      type: 'object',
      additionalProperties: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' },
    });
  });

  it('carries the kinds’ and fields’ descriptions, and metadata’s from the shared object schema', () => {
    expect(schemas[kindSchemaName(resourceForKind('apps/v1', 'Deployment')!)].description).toMatch(/ReplicaSets/);
    expect(at('Deployment', 'spec.template').description).toBe('The pods to create.');
    expect(at('Deployment', 'metadata.labels').description).toMatch(/selectors match on/);
    expect(at('Deployment', 'spec.strategy.rollingUpdate.maxSurge')).toEqual({ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' });
  });

  it('writes free-form fields as objects that keep unknown fields', () => {
    expect(at('Pod', 'metadata.managedFields.fieldsV1')).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  });
});
