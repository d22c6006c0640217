import { parseQuantity, RESOURCE_FIELD_PATHS, splitSubscriptedPath, type Container, type Pod } from '@berth/api';
import { errors } from '@berth/errors';

/** What a container may use up when it sets no limit: the node's allocatable resources, in cores and bytes. */
export interface NodeAllocatable {
  cpu: number;
  memory: number;
}

/** What a container's environment can show besides the pod object itself. */
export interface PodEnvContext {
  podIP: string;
  hostIP: string;
  allocatable: NodeAllocatable;
  /** The Services' variables (see serviceEnvironment), which the container's own variables override. */
  serviceEnv?: ReadonlyMap<string, string>;
}

/** Go's %q for the printable ASCII that label and annotation values mostly are; other characters are escaped. */
function goQuote(value: string): string {
  const escapes: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (escapes[ch]) out += escapes[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** kubelet's FormatMap: `key="value"` lines in key order, as the labels and annotations files read. */
export function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${goQuote(map![key]!)}`)
    .join('\n');
}

/** The value of a downward-API fieldRef, as kubelet resolves it for environment variables and volume files. */
export function podFieldValue(pod: Pod, fieldPath: string, ctx: Pick<PodEnvContext, 'podIP' | 'hostIP'>): string {
  const subscripted = splitSubscriptedPath(fieldPath);
  if (subscripted?.path === 'metadata.labels') return pod.metadata.labels?.[subscripted.subscript] ?? '';
  if (subscripted?.path === 'metadata.annotations') return pod.metadata.annotations?.[subscripted.subscript] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    default:
      throw errors.badRequest(`unsupported fieldRef ${JSON.stringify(fieldPath)}`);
  }
}

/**
 * A container's resource in units of `divisor`, rounded up, as kubelet's ExtractContainerResourceValue: a
 * limit the container does not set is the node's allocatable amount, a request it does not set is 0.
 */
export function containerResourceValue(container: Container, resource: string, divisor: string | number | undefined, allocatable: NodeAllocatable): string {
  if (!(RESOURCE_FIELD_PATHS as readonly string[]).includes(resource)) throw errors.badRequest(`unsupported resourceFieldRef ${JSON.stringify(resource)}`);
  const [kind, name] = resource.split('.') as ['limits' | 'requests', 'cpu' | 'memory'];
  const set = container.resources?.[kind]?.[name];
  const amount = set !== undefined ? parseQuantity(set) : kind === 'limits' ? allocatable[name] : 0;
  const unit = divisor === undefined || divisor === '' || parseQuantity(divisor) === 0 ? 1 : parseQuantity(divisor);
  // Milli-precision first for cpu, as Kubernetes compares millicores: 0.1 / 0.001 must be 100, not 100.00000000000001.
  const quotient = name === 'cpu' ? Math.round(amount * 1000) / Math.round(unit * 1000) : amount / unit;
  return String(Math.ceil(quotient));
}

/** The container a resourceFieldRef names (init containers included), or `own` when it names none. */
export function referencedContainer(pod: Pod, containerName: string | undefined, own?: Container): Container {
  if (!containerName && own) return own;
  const found = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === containerName);
  if (!found) throw errors.badRequest(`resourceFieldRef names container ${JSON.stringify(containerName ?? '')}, which the pod does not have`);
  return found;
}
