import { resolveResourceName } from '@berth/api';
import { objectName } from '../kinds';
import type { Session } from '../session';

export async function createNamespace(session: Session, name: string): Promise<void> {
  const type = resolveResourceName('namespaces')!;
  await session.client.create(type, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  session.out(`${objectName(type, name)} created`);
}
