import { resolveResourceName } from '@berth/api';
import { DOCKER_HUB_KEY } from '@berth/registry-auth';
import { objectName } from '../kinds';
import type { Session } from '../session';

export async function createNamespace(session: Session, name: string): Promise<void> {
  const type = resolveResourceName('namespaces')!;
  await session.client.create(type, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  session.out(`${objectName(type, name)} created`);
}

export { DOCKER_HUB_KEY as DEFAULT_DOCKER_SERVER };
