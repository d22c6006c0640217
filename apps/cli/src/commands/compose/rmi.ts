import { checkRegistryHosts, parseReference, RegistriesConfig, RegistryResolver, RegistryTransport, splitRepository } from '@berth/image';
import { errors } from '@berth/errors';
import { clusterOfRegistry, registryAuthFor, type CredentialContext } from '../../runtime/credentials';
import { DEFAULT_REGISTRIES_CONFIG, registryHost } from '../../runtime/registry';
import type { Workload } from './project';
import { workloadImages } from './pull';

export type RmiMode = 'local' | 'all';

export function parseRmi(text: string | undefined): RmiMode | undefined {
  if (text === undefined) return undefined;
  if (text !== 'local' && text !== 'all') throw errors.badRequest(`invalid --rmi ${JSON.stringify(text)}: use local or all`);
  return text;
}

/**
 * The images `down --rmi` removes: `all` every image the services run; `local` those without a name of
 * their own, which `compose build` names `<registry>/<project>/<service>` (the service has no `image`).
 */
export function imagesToRemove(workloads: Workload[], mode: RmiMode, project: string): string[] {
  const images = workloads.flatMap((w) =>
    workloadImages(w).filter((image) => {
      if (mode === 'all') return true;
      try {
        return splitRepository(parseReference(image).repository).path === `${project}/${w.service}`;
      } catch {
        return false;
      }
    }),
  );
  return [...new Set(images)];
}

/**
 * Removes each image from the cluster registry (the manifest its tag or digest names: DELETE
 * /v2/NAME/manifests/REF, with the kubeconfig's credential and the cluster CA); an image of another
 * registry is left alone (compose removes images from the engine it runs on, berth's is the cluster's
 * registry). `say` is told of each image removed; one that is already gone is not an error.
 */
export async function removeRegistryImages(images: string[], context: CredentialContext, say: (image: string) => void): Promise<void> {
  const config = await RegistriesConfig.load(DEFAULT_REGISTRIES_CONFIG);
  for (const image of images) {
    const ref = parseReference(image);
    const host = registryHost(ref);
    const cluster = await clusterOfRegistry(host, context);
    if (!cluster) continue;
    const resolver = new RegistryResolver(config, checkRegistryHosts([{ host, caPem: cluster.ca }]));
    const transport = new RegistryTransport(resolver);
    try {
      const { registry, path } = splitRepository(ref.repository);
      const endpoint = resolver.defaultEndpoint(registry, path);
      const url = new URL(`${path}/manifests/${ref.digest ?? ref.tag}`, endpoint.base);
      const auth = await registryAuthFor(host, context);
      const res = await transport.request(endpoint, auth, { method: 'DELETE', url, scopes: [`repository:${path}:delete`] });
      res.resume();
      if (res.statusCode === 202 || res.statusCode === 200) say(image);
      else if (res.statusCode !== 404) throw errors.unavailable(`removing ${image} from the cluster registry: ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    } finally {
      transport.close();
    }
  }
}
