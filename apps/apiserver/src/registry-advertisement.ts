import { resourceForKind } from '@berth/api';
import { isBerthError } from '@berth/errors';
import type { ObjectService } from './objects';

/** Where Kubernetes' KEP-1755 ("Standard for communicating a local registry") has a cluster say where its registry is. */
export const LOCAL_REGISTRY_HOSTING = { namespace: 'kube-public', name: 'local-registry-hosting', key: 'localRegistryHosting.v1' } as const;

const CONFIG_MAP = resourceForKind('v1', 'ConfigMap')!;
const FIELD_MANAGER = 'berth-apiserver';

/** The ConfigMap that advertises the registry at `host` (`ADDR:PORT`), in KEP-1755's format. */
export function localRegistryHosting(host: string): Record<string, unknown> {
  const help = 'the berth cluster registry: push with any user name and the admin kubeconfig token as password (berth push, podman login); every node pulls from it';
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: LOCAL_REGISTRY_HOSTING.name, namespace: LOCAL_REGISTRY_HOSTING.namespace },
    data: { [LOCAL_REGISTRY_HOSTING.key]: `host: ${JSON.stringify(host)}\nhelp: ${JSON.stringify(help)}\n` },
  };
}

/**
 * Makes the advertisement say what this server serves: the registry's `host` (written by server-side apply,
 * so it is created, or corrected when another start left another address), or, when it runs none (undefined),
 * no advertisement at all. The namespace kube-public is one of the system namespaces the server ensures.
 */
export async function advertiseRegistry(objects: Pick<ObjectService, 'patch' | 'delete'>, host: string | undefined): Promise<void> {
  const { namespace, name } = LOCAL_REGISTRY_HOSTING;
  if (host !== undefined) {
    await objects.patch(CONFIG_MAP, namespace, name, 'apply', localRegistryHosting(host), {
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
