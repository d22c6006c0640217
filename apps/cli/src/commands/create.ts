import { resolveResourceName } from '@berth/api';
import { errors } from '@berth/errors';
import { DOCKER_HUB_KEY, dockerConfigJson, readDockerConfigText } from '@berth/registry-auth';
import { basename } from 'node:path';
import { objectName } from '../kinds';
import type { Session } from '../session';

export async function createNamespace(session: Session, name: string): Promise<void> {
  const type = resolveResourceName('namespaces')!;
  await session.client.create(type, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  session.out(`${objectName(type, name)} created`);
}

export { DOCKER_HUB_KEY as DEFAULT_DOCKER_SERVER };

export interface DockerRegistrySecretOptions {
  dockerServer: string;
  dockerUsername?: string;
  dockerPassword?: string;
  dockerEmail?: string;
  fromFile: string[];
}

/**
 * `kubectl create secret docker-registry NAME`: a `kubernetes.io/dockerconfigjson` Secret whose
 * `.dockerconfigjson` holds one server's credential, or the docker config.json files given with
 * `--from-file=[.dockerconfigjson=]PATH` (checked to be one before anything is sent).
 */
export async function createDockerRegistrySecret(session: Session, name: string, options: DockerRegistrySecretOptions): Promise<void> {
  const data: Record<string, string> = {};
  if (options.fromFile.length) {
    for (const source of options.fromFile) {
      const eq = source.indexOf('=');
      const [key, path] = eq < 0 ? [basename(source), source] : [source.slice(0, eq), source.slice(eq + 1)];
      if (!key || !path) throw errors.badRequest(`key names or file paths cannot be empty: "${source}"`);
      if (key in data) throw errors.badRequest(`cannot add key ${key}, another key by that name already exists`);
      data[key] = Buffer.from(await readDockerConfigText(path)).toString('base64');
    }
  } else {
    if (!options.dockerUsername || !options.dockerPassword || !options.dockerServer) {
      throw errors.badRequest('either --from-file or the combination of --docker-username, --docker-password and --docker-server is required');
    }
    const json = dockerConfigJson(options.dockerServer, { username: options.dockerUsername, password: options.dockerPassword, email: options.dockerEmail });
    data['.dockerconfigjson'] = Buffer.from(json).toString('base64');
  }
  const type = resolveResourceName('secrets')!;
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/dockerconfigjson', data };
  await session.client.create(type, secret, { namespace: session.namespace });
  session.out(`${objectName(type, name)} created`);
}
