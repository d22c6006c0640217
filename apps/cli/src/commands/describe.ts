import type { KubeObject } from '@berth/api';
import { StatusError } from '@berth/client';
import { describeObject } from '../describe/describers';
import { parseTargets } from '../kinds';
import type { Session } from '../session';

export interface DescribeOptions {
  selector?: string;
  allNamespaces?: boolean;
}

export async function describe(session: Session, args: string[], options: DescribeOptions): Promise<void> {
  const targets = await parseTargets(args, session.discovery);
  const ctx = { client: session.client, now: new Date() };
  const texts: string[] = [];
  for (const { type, names } of targets) {
    const namespace = type.namespaced ? session.namespace : undefined;
    let objects: KubeObject[] = [];
    if (names.length > 0) {
      for (const name of names) {
        try {
          objects.push(await session.client.get(type, name, { namespace }));
        } catch (err) {
          if (!(err instanceof StatusError)) throw err;
          session.fail(err);
        }
      }
    } else {
      const listNamespace = options.allNamespaces ? undefined : namespace;
      objects = (await session.client.list(type, { namespace: listNamespace, labelSelector: options.selector })).items;
    }
    for (const object of objects) texts.push(await describeObject(ctx, object));
  }
  if (texts.length > 0) session.out(texts.join('\n\n'));
  else if (!targets.some((t) => t.names.length > 0)) {
    const namespaced = targets.some((t) => t.type.namespaced) && !options.allNamespaces;
    session.notice(namespaced ? `No resources found in ${session.namespace} namespace.` : 'No resources found');
  }
}
