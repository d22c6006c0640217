/**
 * What the downward API exposes of a pod, as Kubernetes lists it: the apiserver refuses anything else,
 * and the node resolves exactly these.
 */

/** `valueFrom.fieldRef.fieldPath` of an environment variable (besides one label or annotation). */
export const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
] as const;

/** `fieldRef.fieldPath` of a downwardAPI volume file (besides one label or annotation). */
export const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'] as const;

/** The maps a fieldPath may pick one entry of: `metadata.labels['app']`. */
export const SUBSCRIPTED_FIELD_PATHS = ['metadata.annotations', 'metadata.labels'] as const;

/** `resourceFieldRef.resource`: what berth nodes know of a container's resources. */
export const RESOURCE_FIELD_PATHS = ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory'] as const;

/** The divisors Kubernetes allows, by resource: the value is written in these units, rounded up. */
export const RESOURCE_DIVISORS: Readonly<Record<'cpu' | 'memory', readonly string[]>> = {
  cpu: ['1m', '1'],
  memory: ['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei'],
};

/** apimachinery's SplitMaybeSubscriptedPath: `metadata.labels['app']` → `metadata.labels` and `app`. */
export function splitSubscriptedPath(fieldPath: string): { path: string; subscript: string } | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const inner = fieldPath.slice(0, -2);
  const open = inner.indexOf("['");
  if (open <= 0) return undefined;
  return { path: inner.slice(0, open), subscript: inner.slice(open + 2) };
}
