import { DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, nodeAllocatable, podNonZeroRequests, podRequests, resourcesOf } from './resources';
import { node, pod } from './spec-helpers';

const container = (name: string, cpu?: string, memory?: string, restartPolicy?: 'Always') => ({
  name,
  image: 'busybox',
  restartPolicy,
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
});

describe('resources', () => {
  it('reads quantities in millicores and bytes, rounding up', () => {
    expect(resourcesOf({ cpu: '1.5', memory: '1Gi', pods: '110' })).toEqual({ milliCpu: 1500, memory: 1024 ** 3, pods: 110 });
    expect(resourcesOf({ cpu: '100m', memory: '1k' })).toEqual({ milliCpu: 100, memory: 1000, pods: 0 });
    expect(resourcesOf({ cpu: '1n' }).milliCpu).toBe(1);
    expect(resourcesOf(undefined)).toEqual({ milliCpu: 0, memory: 0, pods: 0 });
  });

  it('sums app containers and counts the pod once; missing requests are 0', () => {
    const p = pod('p', { containers: [container('a', '250m', '64Mi'), container('b', '250m'), container('c')] });
    expect(podRequests(p)).toEqual({ milliCpu: 500, memory: 64 * 1024 ** 2, pods: 1 });
  });

  it('takes the larger of the app containers and the biggest init container', () => {
    const p = pod('p', { containers: [container('a', '100m', '100Mi')], spec: { initContainers: [container('i1', '2', '10Mi'), container('i2', '50m', '50Mi')] } });
    expect(podRequests(p)).toEqual({ milliCpu: 2000, memory: 100 * 1024 ** 2, pods: 1 });
  });

  it('adds sidecars to the app containers and to the init containers started after them', () => {
    const p = pod('p', {
      containers: [container('a', '100m')],
      spec: { initContainers: [container('early', '1'), container('sidecar', '200m', undefined, 'Always'), container('late', '900m')] },
    });
    // app 100m + sidecar 200m = 300m; early alone 1000m; late 900m + sidecar 200m = 1100m.
    expect(podRequests(p).milliCpu).toBe(1100);
  });

  it('adds the pod overhead', () => {
    const p = pod('p', { cpu: '100m', spec: { overhead: { cpu: '50m', memory: '1Mi' } } });
    expect(podRequests(p)).toEqual({ milliCpu: 150, memory: 1024 ** 2, pods: 1 });
  });

  it('assumes Kubernetes defaults per container for balancing when nothing is requested', () => {
    const p = pod('p', { containers: [container('a'), container('b', '1')] });
    expect(podNonZeroRequests(p)).toEqual({ milliCpu: DEFAULT_MILLI_CPU_REQUEST + 1000, memory: 2 * DEFAULT_MEMORY_REQUEST, pods: 1 });
  });

  it('reads a node allocatable, falling back to capacity', () => {
    expect(nodeAllocatable(node('n'))).toEqual({ milliCpu: 2000, memory: 4 * 1024 ** 3, pods: 110 });
    expect(nodeAllocatable({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { capacity: { cpu: '4' } } })).toEqual({ milliCpu: 4000, memory: 0, pods: 0 });
  });
});
