import { resourceForKind } from '@berth/api';
import { LOCAL_REGISTRY_HOSTING, localRegistryHosting } from '@berth/client';
import { isBerthError } from '@berth/errors';
import type { ObjectService } from './objects';

const CONFIG_MAP = resourceForKind('v1', 'ConfigMap')!;
const FIELD_MANAGER = 'berth-apiserver';

const HELP = 'the berth cluster registry: push with any user name and the admin kubeconfig token as password (berth push, podman login); every node pulls from it';

/**
 * Makes the advertisement say what this server serves: the registry's `host` and the registries it stands in
 * for (written by server-side apply,
 * so it is created, or corrected when another start left another address), or, when it runs none (undefined),
 * no advertisement at all. The namespace kube-public is one of the system namespaces the server ensures.
 */
export async function advertiseRegistry(objects: Pick<ObjectService, 'patch' | 'delete'>, host: string | undefined, mirrorOf: readonly string[] = []): Promise<void> {
  const { namespace, name } = LOCAL_REGISTRY_HOSTING;
  if (host !== undefined) {
    await objects.patch(CONFIG_MAP, namespace, name, 'apply', localRegistryHosting(host, HELP, mirrorOf), {
      dryRun: false,
      fieldManager: FIELD_MANAGER,
      fieldValidation: 'Strict',
      force: true,
    });
    return;
  }
  try {
    await objects.delete(CONFIG_MAP, namespace, name, { dryRun: false });
  } catch (err) {
    if (!isBerthError(err, 'NotFound')) throw err;
  }
}
