import type { ResourceType } from '@berth/api';

/** Where the objects of a type live: `/registry/<group or core>/<plural>/`. */
export function typePrefix(type: ResourceType): string {
  return `/registry/${type.group || 'core'}/${type.plural}/`;
}

/** The prefix of a list: every object of the type, or those in one namespace. */
export function listPrefix(type: ResourceType, namespace: string | undefined): string {
  return type.namespaced && namespace ? `${typePrefix(type)}${namespace}/` : typePrefix(type);
}

export function objectKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return type.namespaced ? `${typePrefix(type)}${namespace}/${name}` : `${typePrefix(type)}${name}`;
}
