/** The ObjectMeta rules that depend on the kind: how names are spelled and whether a namespace belongs. */
import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import { definitionOf } from './registry';
import type { ResourceType } from './registry';
import type { KubeObject } from './types';
import { dns1123LabelErrors } from './schema/syntax';

export function nameRuleFor(type: ResourceType): (name: string) => string[] {
  return definitionOf(type).nameErrors;
}

/** A generateName prefix may end in '-': Kubernetes validates it as if a suffix followed. */
function asPrefix(generateName: string): string {
  return generateName.endsWith('-') ? `${generateName}a` : generateName;
}

export function validateObjectMetaNames(type: ResourceType, obj: KubeObject): FieldCause[] {
  const meta = obj.metadata as unknown;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return [];
  const { name, generateName, namespace } = meta as Record<string, unknown>;
  const nameRule = nameRuleFor(type);
  const causes: FieldCause[] = [];
  if (typeof name === 'string' && name !== '') {
    causes.push(...nameRule(name).map((detail) => field.invalid('metadata.name', name, detail)));
  } else if (typeof generateName === 'string' && generateName !== '') {
    causes.push(...nameRule(asPrefix(generateName)).map((detail) => field.invalid('metadata.generateName', generateName, detail)));
  } else if (name === undefined || name === null || name === '') {
    causes.push(field.required('metadata.name', 'name or generateName is required'));
  }
  if (type.namespaced) {
    if (typeof namespace !== 'string' || namespace === '') {
      if (namespace === undefined || namespace === null || namespace === '') causes.push(field.required('metadata.namespace'));
    } else {
      causes.push(...dns1123LabelErrors(namespace).map((detail) => field.invalid('metadata.namespace', namespace, detail)));
    }
  } else if (typeof namespace === 'string' && namespace !== '') {
    causes.push(field.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  return causes;
}
