import type { ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { inContext } from '../errors';
import { kindPrefix, parseTargets } from '../kinds';
import { loadManifests, mapManifest, MappedManifest } from '../manifests';
import type { Session } from '../session';
import { namespaceForManifest } from './namespaces';

export interface DeleteOptions {
  filename: string[];
  selector?: string;
  all?: boolean;
  allNamespaces?: boolean;
}

/** Deletes one object (dependents in the background, as kubectl asks) and says so. */
async function deleteOne(session: Session, type: ResourceType, name: string, namespace: string | undefined, context?: string): Promise<void> {
  try {
    await session.client.delete(type, name, { namespace, propagationPolicy: 'Background' });
    session.out(`${kindPrefix(type)} "${name}" deleted`);
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    session.fail(context ? inContext(err, context) : err);
  }
}

export async function deleteCommand(session: Session, args: string[], options: DeleteOptions): Promise<void> {
  if (options.filename.length > 0) {
    if (args.length > 0) throw new BerthError('BadRequest', 'resources to delete come either from -f or from arguments, not both');
    for (const unmapped of loadManifests(options.filename, 'delete')) {
      let namespace: string | undefined;
      let manifest: MappedManifest;
      try {
        manifest = await mapManifest(unmapped, session.discovery);
        namespace = namespaceForManifest(session, manifest);
      } catch (err) {
        session.fail(err);
        continue;
      }
      await deleteOne(session, manifest.type, manifest.object.metadata.name!, namespace, `error when deleting "${manifest.source}"`);
    }
    return;
  }
  if (args.length === 0) {
    throw new BerthError('BadRequest', 'You must provide one or more resources by argument or filename.');
  }
  const targets = await parseTargets(args, session.discovery);
  const named = targets.some((t) => t.names.length > 0);
  const bySelection = options.all || options.selector !== undefined;
  if (named && bySelection) throw new BerthError('BadRequest', 'name cannot be provided when a selector or --all is specified');
  if (!named && !bySelection) throw new BerthError('BadRequest', 'resource(s) were provided, but no name was specified');

  let deleted = 0;
  for (const { type, names } of targets) {
    const namespace = type.namespaced ? session.namespace : undefined;
    if (named) {
      for (const name of names) await deleteOne(session, type, name, namespace);
      continue;
    }
    const listNamespace = type.namespaced && !options.allNamespaces ? namespace : undefined;
    const list = await session.client.list(type, { namespace: listNamespace, labelSelector: options.selector });
    for (const object of list.items) {
      await deleteOne(session, type, object.metadata.name!, object.metadata.namespace);
      deleted++;
    }
  }
  if (!named && deleted === 0) session.notice('No resources found');
}
