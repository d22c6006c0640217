import { objectName } from '../kinds';
import type { Session } from '../session';
import { DEPLOYMENT_TYPE, expectTypes, ObjectRef, parseRefs, REPLICASET_TYPE } from './workloads';

/** Sets a workload's replicas through its scale subresource, as `kubectl scale` does (a merge patch). */
export async function scaleTo(session: Session, ref: ObjectRef, replicas: number): Promise<void> {
  await session.client.patch(ref.type, ref.name, { spec: { replicas } }, { namespace: session.namespace, type: 'merge', subresource: 'scale' });
}

export async function scale(session: Session, args: string[], options: { replicas: number }): Promise<void> {
  const refs = await parseRefs(session, args);
  refs.forEach((ref) => expectTypes(ref, [DEPLOYMENT_TYPE, REPLICASET_TYPE], 'scale'));
  for (const ref of refs) {
    try {
      await scaleTo(session, ref, options.replicas);
      session.out(`${objectName(ref.type, ref.name)} scaled`);
    } catch (err) {
      session.fail(err);
    }
  }
}
