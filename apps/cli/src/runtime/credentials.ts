import { advertisedRegistryHost as hostOfAdvertisement, fetchLocalRegistryHosting, KubeClient, loadKubeConfig, type ClusterConnection } from '@berth/client';
import { DockerConfig, dockerConfigPath } from '@berth/registry-auth';
import type { RegistryAuth } from '@berth/runtime-client';

/** The user name sent with the kubeconfig's token: the cluster registry takes any. */
export const CLUSTER_REGISTRY_USER = 'berth';

/** What a verb needs to find credentials: the --kubeconfig flag and the environment (DOCKER_CONFIG, KUBECONFIG). */
export interface CredentialContext {
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** berth's own kubeconfig (default: the one `berth server` writes); tests point it elsewhere. */
  berthKubeconfig?: string;
  /** docker's certs.d directory (default /etc/docker/certs.d): the CAs `berth login` trusts per registry. */
  certsDir?: string;
  /** registries.yaml (default /etc/berth/registries.yaml): its TLS settings apply to `berth login`. */
  registriesConfig?: string;
}

/** How long the cluster may take to say where its registry is before the verb goes on without it. */
const ADVERTISEMENT_TIMEOUT_MS = 5000;

/** The host part of host[:port] (`[::1]:5000` → `::1`). */
export function hostOnly(hostPort: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (bracketed) return bracketed[1]!;
  const colon = hostPort.lastIndexOf(':');
  return colon >= 0 && hostPort.indexOf(':') === colon ? hostPort.slice(0, colon) : hostPort;
}

function kubeconfigConnection(context: CredentialContext): ClusterConnection | undefined {
  try {
    const connection = loadKubeConfig({ kubeconfig: context.kubeconfig, env: context.env, home: context.home, berthKubeconfig: context.berthKubeconfig });
    return connection.source ? connection : undefined;
  } catch {
    return undefined;
  }
}

/** The host the cluster advertises its registry at (ConfigMap kube-public/local-registry-hosting, KEP-1755). */
async function advertisedRegistryHost(connection: ClusterConnection): Promise<string | undefined> {
  const client = new KubeClient(connection, { userAgent: 'berth-cli', requestTimeoutMs: ADVERTISEMENT_TIMEOUT_MS });
  try {
    return hostOfAdvertisement(await fetchLocalRegistryHosting(client));
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}

/** host[:port] → its port ('' without one). */
function portOf(hostPort: string): string {
  const match = /:(\d+)$/.exec(hostPort);
  return match && !hostPort.endsWith(']') ? match[1]! : '';
}

/**
 * The kubeconfig's cluster when `registryHost` is that cluster's registry: the host the cluster
 * advertises (kube-public/local-registry-hosting), or the API server's own host (as the kubeconfig names
 * it) with the advertised port. Its token is only ever sent to the cluster itself: no advertisement, no
 * cluster registry.
 */
export async function clusterOfRegistry(registryHost: string, context: CredentialContext): Promise<ClusterConnection | undefined> {
  const connection = kubeconfigConnection(context);
  if (!connection) return undefined;
  let serverHost: string;
  try {
    serverHost = new URL(connection.server).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
  const advertised = await advertisedRegistryHost(connection);
  if (!advertised) return undefined;
  if (advertised === registryHost) return connection;
  return hostOnly(registryHost) === serverHost && portOf(registryHost) === portOf(advertised) ? connection : undefined;
}

/**
 * The credential pull and push send for an image on `registryHost`: docker's config.json entry for it,
 * else, for the cluster's own registry, the kubeconfig's bearer token as the password (so the quick
 * start pushes without a login), else none (anonymous).
 */
export async function registryAuthFor(registryHost: string, context: CredentialContext = {}): Promise<RegistryAuth | undefined> {
  const config = await DockerConfig.load(dockerConfigPath(context.env ?? process.env, context.home));
  const stored = config.credentialFor(registryHost);
  if (stored) return stored;
  const cluster = await clusterOfRegistry(registryHost, context);
  return cluster?.token ? { username: CLUSTER_REGISTRY_USER, password: cluster.token } : undefined;
}
