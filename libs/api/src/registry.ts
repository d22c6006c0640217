/**
 * Every resource type the apiserver serves, built from the kinds' folders (resources/<group>/<kind>/),
 * with the lookups discovery, REST paths and the CLI use. The order is the order discovery lists them in.
 */
import { DEFINITIONS } from './resources';
import type { ResourceDefinition, ResourceType } from './resources/definition';

export type { ResourceDefinition, ResourceType, Subresource } from './resources/definition';

export const RESOURCES: readonly ResourceDefinition[] = DEFINITIONS;

const BY_VERSION = new Map<string, ResourceDefinition>(RESOURCES.map((d) => [`${d.group}/${d.version}/${d.kind}`, d]));
/** A kind served in several versions is known first by the one listed first (its preferred, stored one). */
const BY_KIND = new Map<string, ResourceDefinition>();
for (const d of RESOURCES) if (!BY_KIND.has(`${d.group}/${d.kind}`)) BY_KIND.set(`${d.group}/${d.kind}`, d);

/** The whole definition of a served type (its schema, defaults, table, strategy); of its preferred version when the version is not served. */
export function definitionOf(type: ResourceType): ResourceDefinition {
  const definition = BY_VERSION.get(`${type.group}/${type.version}/${type.kind}`) ?? BY_KIND.get(`${type.group}/${type.kind}`);
  if (!definition) throw new Error(`${type.kind}.${type.group || 'core'} is not a served kind`);
  return definition;
}

export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `deployments.apps`, `pods`: how Kubernetes names a resource in messages. */
export function qualifiedName(r: ResourceType): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** Finds a type by apiVersion + kind, as written in a manifest. */
export function resourceForKind(apiVersion: string, kind: string): ResourceDefinition | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Finds a type by group/version and the plural REST path segment. */
export function resourceForPath(group: string, version: string, plural: string): ResourceDefinition | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/**
 * Resolves what a user types: plural, singular, short name or kind, optionally qualified by group
 * (`deployments.apps`, `deploy`, `Deployment`), case-insensitively.
 */
export function resolveResourceName(typed: string): ResourceDefinition | undefined {
  const lower = typed.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot >= 0 ? lower.slice(0, dot) : lower;
  const group = dot >= 0 ? lower.slice(dot + 1) : undefined;
  return RESOURCES.find(
    (r) =>
      (group === undefined || r.group === group || `${r.version}.${r.group}` === group) &&
      (r.plural === name || r.singular === name || r.kind.toLowerCase() === name || r.shortNames.includes(name)),
  );
}
