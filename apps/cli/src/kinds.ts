import { resolveResourceName, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { ResourceCatalog } from './discovery';

/** One resource type and the names asked for (none: every object). */
export interface Target {
  type: ResourceType;
  names: string[];
}

/**
 * Where typed kinds are looked up: the server's discovery (`Session.discovery`), which asks the server
 * again for a name its cache does not know.
 */
export interface KindResolver {
  resources(): Promise<ResourceCatalog>;
  resolve(typed: string): Promise<ResourceType>;
}

/**
 * A kind a verb is about by definition (pods for logs, services for expose, nodes for cordon): its REST
 * names are fixed by Kubernetes, so the verb needs no discovery to find it. What users type goes through
 * a KindResolver.
 */
export function builtinType(plural: string): ResourceType {
  const type = resolveResourceName(plural);
  if (!type) throw new BerthError('InternalError', `no built-in resource type "${plural}"`);
  return type;
}

/** The same resource, however it was found (discovery or the built-in list). */
export function sameType(a: ResourceType, b: ResourceType): boolean {
  return a.group === b.group && a.plural === b.plural;
}

/** `deploy,svc` or a category (`all`) as the types it names, each once, in the order given. */
export async function resolveKinds(typed: string, resolver: KindResolver): Promise<ResourceType[]> {
  const types: ResourceType[] = [];
  for (const part of typed.split(',')) {
    const inCategory = (await resolver.resources()).category(part);
    for (const type of inCategory.length > 0 ? inCategory : [await resolver.resolve(part)]) {
      if (!types.some((t) => sameType(t, type))) types.push(type);
    }
  }
  return types;
}

/** Reads kubectl's two argument forms: `KIND[,KIND] [NAME...]` and `KIND/NAME...`. */
export async function parseTargets(args: string[], resolver: KindResolver): Promise<Target[]> {
  if (args.length === 0) {
    throw new BerthError('BadRequest', 'you must specify the type of resource to get. Use "berth get all" or a resource type such as pods, deployments, services');
  }
  if (args[0].includes('/')) {
    const targets: Target[] = [];
    for (const arg of args) {
      const slash = arg.indexOf('/');
      if (slash <= 0 || slash === arg.length - 1) {
        throw new BerthError('BadRequest', `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'berth get resource/<resource_name>' instead of 'berth get resource resource/<resource_name>'`);
      }
      const type = await resolver.resolve(arg.slice(0, slash));
      const name = arg.slice(slash + 1);
      const existing = targets.find((t) => sameType(t.type, type));
      if (existing) existing.names.push(name);
      else targets.push({ type, names: [name] });
    }
    return targets;
  }
  const names = args.slice(1);
  return (await resolveKinds(args[0], resolver)).map((type) => ({ type, names: [...names] }));
}

/** `deployment.apps`, `pod`: the prefix kubectl prints before a name. */
export function kindPrefix(type: ResourceType): string {
  const kind = type.kind.toLowerCase();
  return type.group ? `${kind}.${type.group}` : kind;
}

/** `deployment.apps/web`, as `-o name` and apply print an object. */
export function objectName(type: ResourceType, name: string): string {
  return `${kindPrefix(type)}/${name}`;
}

/** A resolver over a fixed list of types, each with no subresources beyond its own (unit tests, fakes). */
export function fixedResolver(types: readonly ResourceType[]): KindResolver {
  const catalog = new ResourceCatalog(types.map((type) => ({ type, subresources: [...type.subresources] })));
  return {
    resources: async () => catalog,
    resolve: async (typed) => {
      const found = catalog.resolve(typed);
      if (!found) throw new BerthError('NotFound', `the server doesn't have a resource type "${typed}"`);
      return found;
    },
  };
}
