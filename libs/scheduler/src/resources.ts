import { parseQuantity, type Container, type Node, type Pod, type ResourceList } from '@berth/api';

/** The amounts the scheduler accounts for, in integer units so sums never drift: millicores, bytes, a pod count. */
export interface Resources {
  milliCpu: number;
  memory: number;
  pods: number;
}

export const ZERO_RESOURCES: Readonly<Resources> = Object.freeze({ milliCpu: 0, memory: 0, pods: 0 });

/**
 * What Kubernetes assumes a container without a request uses when it spreads load (not when it checks fit):
 * otherwise best-effort pods would all look free and pile onto one node.
 */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** Kubernetes rounds quantities up to the unit it counts in (MilliValue, Value). */
function milliCpuOf(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.ceil(Math.round(parseQuantity(quantity) * 1e9) / 1e6);
}

function bytesOf(quantity: string | undefined): number {
  return quantity === undefined ? 0 : Math.ceil(parseQuantity(quantity));
}

export function resourcesOf(list: ResourceList | undefined): Resources {
  return { milliCpu: milliCpuOf(list?.cpu), memory: bytesOf(list?.memory), pods: list?.pods === undefined ? 0 : Math.floor(parseQuantity(list.pods)) };
}

export function addResources(a: Resources, b: Resources): Resources {
  return { milliCpu: a.milliCpu + b.milliCpu, memory: a.memory + b.memory, pods: a.pods + b.pods };
}

export function subtractResources(a: Resources, b: Resources): Resources {
  return { milliCpu: a.milliCpu - b.milliCpu, memory: a.memory - b.memory, pods: a.pods - b.pods };
}

function maxResources(a: Resources, b: Resources): Resources {
  return { milliCpu: Math.max(a.milliCpu, b.milliCpu), memory: Math.max(a.memory, b.memory), pods: Math.max(a.pods, b.pods) };
}

type ContainerRequests = (container: Container) => Resources;

const declaredRequests: ContainerRequests = (container) => ({ ...resourcesOf(container.resources?.requests), pods: 0 });

const nonZeroRequests: ContainerRequests = (container) => {
  const requests = container.resources?.requests;
  return {
    milliCpu: requests?.cpu === undefined ? DEFAULT_MILLI_CPU_REQUEST : milliCpuOf(requests.cpu),
    memory: requests?.memory === undefined ? DEFAULT_MEMORY_REQUEST : bytesOf(requests.memory),
    pods: 0,
  };
};

/**
 * A pod's effective request as Kubernetes computes it: the app containers run together (plus the sidecars,
 * init containers with restartPolicy Always, which keep running), while each plain init container runs alone
 * beside the sidecars started before it; the pod needs the larger of the two, plus its overhead.
 */
function aggregateRequests(pod: Pod, requestsOf: ContainerRequests): Resources {
  const spec = pod.spec;
  let appContainers: Resources = ZERO_RESOURCES;
  for (const container of spec?.containers ?? []) appContainers = addResources(appContainers, requestsOf(container));
  let sidecars: Resources = ZERO_RESOURCES;
  let initPeak: Resources = ZERO_RESOURCES;
  for (const container of spec?.initContainers ?? []) {
    const own = requestsOf(container);
    if (container.restartPolicy === 'Always') {
      sidecars = addResources(sidecars, own);
      initPeak = maxResources(initPeak, sidecars);
    } else {
      initPeak = maxResources(initPeak, addResources(own, sidecars));
    }
  }
  const total = maxResources(addResources(appContainers, sidecars), initPeak);
  return { ...addResources(total, { ...resourcesOf(spec?.overhead), pods: 0 }), pods: 1 };
}

/** What a pod needs on a node to fit: requests default to 0. Counts as one pod. */
export function podRequests(pod: Pod): Resources {
  return aggregateRequests(pod, declaredRequests);
}

/** The requests used for balancing scores, with Kubernetes' defaults for containers that request nothing. */
export function podNonZeroRequests(pod: Pod): Resources {
  return aggregateRequests(pod, nonZeroRequests);
}

/** What a node offers to pods: status.allocatable, or capacity when a node reports no allocatable. */
export function nodeAllocatable(node: Node): Resources {
  return resourcesOf(node.status?.allocatable ?? node.status?.capacity);
}
