import { decodeYaml, ownMember, resourceForKind, type ConfigMap } from '@berth/api';
import { errors, isBerthError } from '@berth/errors';
import type { KubeClient } from './client';

/** Where a cluster advertises its registry: Kubernetes' KEP-1755 ("Standard for communicating a local registry") ConfigMap. */
export const LOCAL_REGISTRY_HOSTING = {
  namespace: 'kube-public',
  name: 'local-registry-hosting',
  key: 'localRegistryHosting.v1',
  /** berth's own key beside KEP-1755's: the registries (comma-separated) nodes look for in the cluster registry first. */
  mirrorOfKey: 'mirrorOf',
} as const;

/** The ConfigMap that advertises the registry at `host` (`ADDR:PORT`), in KEP-1755's format, with a line of `help` for people. */
export function localRegistryHosting(host: string, help: string, mirrorOf: readonly string[] = []): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: LOCAL_REGISTRY_HOSTING.name, namespace: LOCAL_REGISTRY_HOSTING.namespace },
    data: {
      [LOCAL_REGISTRY_HOSTING.key]: `host: ${JSON.stringify(host)}\nhelp: ${JSON.stringify(help)}\n`,
      ...(mirrorOf.length ? { [LOCAL_REGISTRY_HOSTING.mirrorOfKey]: mirrorOf.join(',') } : {}),
    },
  };
}

/** The advertisement is a few lines; anything much larger is not one. */
const MAX_HOSTING_BYTES = 64 * 1024;
/** host[:port] as it appears in image names: a DNS name, an IPv4 address or a bracketed IPv6 one, maybe a port. */
const REGISTRY_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/**
 * The registry host a `local-registry-hosting` ConfigMap advertises (`localRegistryHosting.v1`, YAML with
 * `host: "ADDR:PORT"`), undefined when there is none; BadRequest, one line, when the ConfigMap says
 * something that is not a registry host.
 */
export function advertisedRegistryHost(configMap: ConfigMap | undefined): string | undefined {
  const text = ownMember(configMap?.data, LOCAL_REGISTRY_HOSTING.key);
  if (text === undefined) return undefined;
  const what = `${LOCAL_REGISTRY_HOSTING.namespace}/${LOCAL_REGISTRY_HOSTING.name} ${LOCAL_REGISTRY_HOSTING.key}`;
  if (typeof text !== 'string' || text.length > MAX_HOSTING_BYTES) throw errors.badRequest(`${what} is not a YAML text of at most 64 KiB`);
  const hosting = decodeYaml(text, what);
  const host = typeof hosting === 'object' && hosting !== null && !Array.isArray(hosting) ? ownMember(hosting as Record<string, unknown>, 'host') : undefined;
  if (host === undefined || host === '') return undefined;
  if (typeof host !== 'string' || host.length > 255 || !REGISTRY_HOST.test(host)) throw errors.badRequest(`${what}: host ${JSON.stringify(host).slice(0, 300)} is not host[:port]`);
  return host;
}

/** A cluster registry stands in for a handful of registries, not thousands. */
const MAX_MIRRORED_REGISTRIES = 16;

/** `docker.io,quay.io` → the registries a list names; BadRequest, one line, for anything that is not one. */
export function parseMirroredRegistries(text: string, what = 'mirrored registries'): string[] {
  const registries = text.split(',').map((r) => r.trim()).filter((r) => r !== '');
  if (registries.length > MAX_MIRRORED_REGISTRIES) throw errors.badRequest(`${what}: at most ${MAX_MIRRORED_REGISTRIES} registries`);
  for (const registry of registries) {
    if (registry.length > 255 || !REGISTRY_HOST.test(registry)) throw errors.badRequest(`${what}: ${JSON.stringify(registry.slice(0, 300))} is not a registry host[:port]`);
  }
  return [...new Set(registries)];
}

/** The registries the advertised cluster registry stands in for (berth's `mirrorOf` key); none when it names none. */
export function advertisedMirrors(configMap: ConfigMap | undefined): string[] {
  const text = ownMember(configMap?.data, LOCAL_REGISTRY_HOSTING.mirrorOfKey);
  const what = `${LOCAL_REGISTRY_HOSTING.namespace}/${LOCAL_REGISTRY_HOSTING.name} ${LOCAL_REGISTRY_HOSTING.mirrorOfKey}`;
  if (text === undefined) return [];
  if (typeof text !== 'string' || text.length > MAX_HOSTING_BYTES) throw errors.badRequest(`${what} is not a list of registries`);
  return parseMirroredRegistries(text, what);
}

/** The advertisement as the cluster has it now; undefined when it has none (NotFound). */
export async function fetchLocalRegistryHosting(client: Pick<KubeClient, 'get'>): Promise<ConfigMap | undefined> {
  try {
    return await client.get<ConfigMap>(resourceForKind('v1', 'ConfigMap')!, LOCAL_REGISTRY_HOSTING.name, { namespace: LOCAL_REGISTRY_HOSTING.namespace });
  } catch (err) {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  }
}
