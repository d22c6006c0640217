import { BerthError } from '@berth/errors';
import type { ComposeProject } from './model';

/**
 * The services a verb given SERVICE arguments acts on, as compose picks them: those named and, transitively,
 * what they depend on; in the project's (sorted) order. No names: every service. A name the project does
 * not have is NotFound.
 */
export function withDependencies(project: ComposeProject, names: string[]): string[] {
  if (names.length === 0) return Object.keys(project.services);
  const picked = new Set<string>();
  const pending = [...names];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (picked.has(name)) continue;
    if (!Object.hasOwn(project.services, name)) throw new BerthError('NotFound', `no such service: ${name}`);
    picked.add(name);
    pending.push(...Object.keys(project.services[name].depends_on));
  }
  return Object.keys(project.services).filter((name) => picked.has(name));
}
