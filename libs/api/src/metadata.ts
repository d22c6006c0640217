/** The ObjectMeta rules that depend on the kind: how names are spelled and whether a namespace belongs. */
import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import type { ResourceType } from './registry';
import type { KubeObject } from './types';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './schema/syntax';

/** Kinds whose names become DNS labels (a namespace in hostnames, a service in its DNS name). */
const LABEL_NAMED_KINDS = new Set(['/Namespace', '/Service']);

export function nameRuleFor(type: ResourceType): (name: string) => string[] {
  return LABEL_NAMED_KINDS.has(`${type.group}/${type.kind}`) ? dns1123LabelErrors : dns1123SubdomainErrors;
}

/** A generateName prefix may end in '-': Kubernetes validates it as if a suffix followed. */
function asPrefix(generateName: string): string {
  return generateName.endsWith('-') ? `${generateName}a` : generateName;
}

/**
 * Kinds whose names are shorter than a DNS subdomain: a CronJob's Jobs are named after it with 11 more
 * characters, and a Job's name is a label value of its pods.
 */
const MAX_NAME_LENGTH: Readonly<Record<string, number>> = { 'batch/CronJob': 52 };

export function validateObjectMetaNames(type: ResourceType, obj: KubeObject): FieldCause[] {
  const meta = obj.metadata as unknown;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return [];
  const { name, generateName, namespace } = meta as Record<string, unknown>;
  const nameRule = nameRuleFor(type);
  const causes: FieldCause[] = [];
  if (typeof name === 'string' && name !== '') {
    causes.push(...nameRule(name).map((detail) => field.invalid('metadata.name', name, detail)));
    const max = MAX_NAME_LENGTH[`${type.group}/${type.kind}`];
    if (max !== undefined && name.length > max) causes.push(field.invalid('metadata.name', name, `must be no more than ${max} characters`));
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
