import { resourceForKind, type ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { errors } from '@berth/errors';

/** The part of the API client the scheduler uses. */
export type SchedulerClient = Pick<KubeClient, 'list' | 'watch' | 'create' | 'patch' | 'request'>;

function builtInType(kind: string): ResourceType {
  const type = resourceForKind('v1', kind);
  if (!type) throw errors.internal(`the resource registry has no v1 ${kind}`);
  return type;
}

export const POD_TYPE = builtInType('Pod');
export const NODE_TYPE = builtInType('Node');
export const EVENT_TYPE = builtInType('Event');
export const NAMESPACE_TYPE = builtInType('Namespace');
