import { validateObjectMetaNames } from './metadata';
import { resolveResourceName } from './registry';
import type { ResourceType } from './registry';
import type { KubeObject } from './types';

function typeNamed(name: string): ResourceType {
  const type = resolveResourceName(name);
  if (!type) throw new Error(`no resource type ${name}`);
  return type;
}

function fieldsOf(type: string, metadata: KubeObject['metadata']): string[] {
  const causes = validateObjectMetaNames(typeNamed(type), { apiVersion: 'v1', kind: 'X', metadata });
  return causes.map((c) => `${c.field}: ${c.message.split(':')[0]}`);
}

describe('validateObjectMetaNames', () => {
  it('accepts dotted names where Kubernetes uses DNS subdomains and refuses them for labels', () => {
    expect(fieldsOf('configmaps', { name: 'app.config', namespace: 'default' })).toEqual([]);
    expect(fieldsOf('nodes', { name: 'node-1.example.com' })).toEqual([]);
    expect(fieldsOf('namespaces', { name: 'team.a' })).toEqual(['metadata.name: Invalid value']);
    expect(fieldsOf('services', { name: 'web.api', namespace: 'default' })).toEqual(['metadata.name: Invalid value']);
  });

  it('validates a generateName as a prefix, trailing dash allowed', () => {
    expect(fieldsOf('pods', { generateName: 'web-', namespace: 'default' })).toEqual([]);
    expect(fieldsOf('pods', { generateName: '-web', namespace: 'default' })).toEqual(['metadata.generateName: Invalid value']);
  });

  it('checks the namespace itself as a DNS label', () => {
    expect(fieldsOf('pods', { name: 'p', namespace: 'Team_A' })).toEqual(['metadata.namespace: Invalid value']);
  });

  it('leaves a missing or malformed metadata to the schema', () => {
    expect(validateObjectMetaNames(typeNamed('pods'), { apiVersion: 'v1', kind: 'Pod', metadata: 'x' as unknown as KubeObject['metadata'] })).toEqual([]);
  });
});
