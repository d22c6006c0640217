import { BerthError } from '@berth/errors';
import type { MappedManifest } from '../manifests';
import type { Session } from '../session';

/**
 * The namespace a manifest's object goes to: its own, else the session's; cluster-scoped objects have
 * none. A `-n` that contradicts the manifest is an error, as in kubectl.
 */
export function namespaceForManifest(session: Session, manifest: MappedManifest): string | undefined {
  if (!manifest.type.namespaced) return undefined;
  const own = manifest.object.metadata.namespace;
  const flag = session.namespaceFlag;
  if (own && flag && own !== flag) {
    throw new BerthError(
      'BadRequest',
      `the namespace from the provided object "${own}" does not match the namespace "${flag}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  return own || session.namespace;
}
