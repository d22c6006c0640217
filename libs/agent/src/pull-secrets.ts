import type { Secret } from '@berth/api';
import { errors } from '@berth/errors';
import { parseReference } from '@berth/image';
import { DockerConfig, MAX_DOCKER_CONFIG_BYTES } from '@berth/registry-auth';
import type { RegistryAuth } from '@berth/runtime-client';

export const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CFG = 'kubernetes.io/dockercfg';

/**
 * The docker config of an image pull Secret: `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`,
 * `{"auths": {KEY: ENTRY}}`) or the legacy `kubernetes.io/dockercfg` (`.dockercfg`, `{KEY: ENTRY}`),
 * decoded by @berth/registry-auth as docker decodes its config.json. A Secret of another type, or one that
 * does not parse, is BadRequest naming it: kubelet skips such a secret with a warning, and so does the caller.
 */
export function pullSecretConfig(secret: Secret): DockerConfig {
  const name = `${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`;
  const bad = (why: string) => errors.badRequest(`image pull secret ${name}: ${why}`);
  const field = secret.type === DOCKER_CONFIG_JSON ? '.dockerconfigjson' : secret.type === DOCKER_CFG ? '.dockercfg' : undefined;
  if (!field) throw bad(`type "${secret.type ?? ''}" is neither ${DOCKER_CONFIG_JSON} nor ${DOCKER_CFG}`);
  const encoded = secret.data && Object.hasOwn(secret.data, field) ? secret.data[field] : undefined;
  if (typeof encoded !== 'string') throw bad(`has no ${field}`);
  if (encoded.length > (MAX_DOCKER_CONFIG_BYTES * 4) / 3 + 4) throw bad(`${field} is larger than ${MAX_DOCKER_CONFIG_BYTES} bytes`);
  const text = Buffer.from(encoded, 'base64');
  const source = `image pull secret ${name} ${field}`;
  return field === '.dockerconfigjson' ? DockerConfig.parse(text, source) : DockerConfig.parseDockercfg(text, source);
}

/**
 * The credentials to try for `image`, best first, as kubelet's keyring (a union of one keyring per pull
 * secret, in the pod's order): within a secret the keys matching the image's repository, most specific
 * first (DockerConfig.credentialsForImage); an entry with nothing in it, and a credential already listed,
 * left out. The image is normalised as docker does first (`busybox` is `docker.io/library/busybox`), so
 * Docker Hub credentials serve short names; a name that is no reference gets none.
 */
export function credentialsFor(image: string, configs: readonly DockerConfig[]): RegistryAuth[] {
  let repository: string;
  try {
    repository = parseReference(image).repository;
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const result: RegistryAuth[] = [];
  for (const config of configs) {
    for (const credential of config.credentialsForImage(repository)) {
      if (!credential.username && !credential.password && !credential.identityToken) continue;
      const id = JSON.stringify([credential.username, credential.password, credential.identityToken]);
      if (seen.has(id)) continue;
      seen.add(id);
      result.push({ ...credential });
    }
  }
  return result;
}
