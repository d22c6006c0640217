import { isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { inContext } from '../errors';
import { objectName } from '../kinds';
import { loadManifests, mapManifest, MappedManifest } from '../manifests';
import type { Session } from '../session';
import { namespaceForManifest } from './namespaces';

export const APPLY_FIELD_MANAGER = 'berth';

export interface ApplyOptions {
  filename: string[];
}

/** Server-side apply of every object in the manifests, each reported as created, configured or unchanged. */
export async function apply(session: Session, options: ApplyOptions): Promise<void> {
  const manifests = loadManifests(options.filename, 'apply');
  for (const manifest of manifests) {
    try {
      session.out(await applyOne(session, await mapManifest(manifest, session.discovery)));
    } catch (err) {
      // A connection failure would repeat for every object: one report is enough.
      if (!(err instanceof StatusError) && !isBerthError(err, 'BadRequest') && !isBerthError(err, 'NotFound')) throw err;
      session.fail(inContext(err, `error when applying "${manifest.source}"`));
    }
  }
}

async function applyOne(session: Session, manifest: MappedManifest): Promise<string> {
  const { type, object } = manifest;
  const name = object.metadata.name!;
  const namespace = namespaceForManifest(session, manifest);
  const client = session.client;
  // The verb needs the version before the apply: a create answers 201, but "unchanged" vs "configured"
  // is only visible as a resourceVersion that did or did not move.
  const before = await client.get(type, name, { namespace }).catch((err: unknown) => {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  });
  const after = await client.apply(type, object, { namespace, fieldManager: APPLY_FIELD_MANAGER, force: true });
  const verb = !before ? 'created' : before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured';
  return `${objectName(type, name)} ${verb}`;
}
