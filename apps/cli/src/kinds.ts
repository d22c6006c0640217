import { RESOURCES, resolveResourceName, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';

/** One resource type and the names asked for (none: every object). */
export interface Target {
  type: ResourceType;
  names: string[];
}

/** Resolves a typed resource name (plural, singular, short name, kind, `kind.group`). */
export function resolveKind(typed: string): ResourceType {
  const type = typed ? resolveResourceName(typed) : undefined;
  if (!type) throw new BerthError('NotFound', `the server doesn't have a resource type "${typed}"`);
  return type;
}

/** `deploy,svc` or a category (`all`) as the types it names, each once, in the order given. */
export function resolveKinds(typed: string): ResourceType[] {
  const types: ResourceType[] = [];
  for (const part of typed.split(',')) {
    const inCategory = RESOURCES.filter((r) => r.categories.includes(part.toLowerCase()));
    for (const type of inCategory.length > 0 ? inCategory : [resolveKind(part)]) {
      if (!types.includes(type)) types.push(type);
    }
  }
  return types;
}

/** Reads kubectl's two argument forms: `KIND[,KIND] [NAME...]` and `KIND/NAME...`. */
export function parseTargets(args: string[]): Target[] {
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
      const type = resolveKind(arg.slice(0, slash));
      const name = arg.slice(slash + 1);
      const existing = targets.find((t) => t.type === type);
      if (existing) existing.names.push(name);
      else targets.push({ type, names: [name] });
    }
    return targets;
  }
  const names = args.slice(1);
  return resolveKinds(args[0]).map((type) => ({ type, names: [...names] }));
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
