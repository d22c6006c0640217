import { initAnnotation, userAnnotation, type ConfigMap, type Pod, type Secret } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { containerEnv, containerMounts, containerResources, expandVars, runtimeContainerConfig, type ObjectSource, type SubPathBinder } from './container-spec';

const objects: ObjectSource = {
  async configMap(namespace, name) {
    if (namespace !== 'ns' || name !== 'cm') return undefined;
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'one', 'b.c': 'two', 'bad key': 'x' }, binaryData: { bin: Buffer.from('raw').toString('base64') } } as ConfigMap;
  },
  async secret(namespace, name) {
    if (namespace !== 'ns' || name !== 'sec') return undefined;
    return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { token: Buffer.from('t0k').toString('base64') } } as Secret;
  },
};

const ctx = { podIP: '10.0.0.5', hostIP: '192.0.2.1', allocatable: { cpu: 4, memory: 8 * 2 ** 30 } };

function pod(container: NonNullable<Pod['spec']>['containers'][number]): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'ns', uid: 'u-1', labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [container] } };
}

describe('expandVars', () => {
  it('replaces defined $(VAR)s, unescapes $$ and leaves the rest as written', () => {
    const vars = new Map([['A', 'x'], ['B', 'y']]);
    expect(expandVars('$(A)-$(B)-$(C)-$$(A)-$-$(', vars)).toBe('x-y-$(C)-$(A)-$-$(');
  });
});

describe('containerEnv', () => {
  it('takes envFrom first, then env in order with references to earlier variables', async () => {
    const p = pod({
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' } }, { prefix: 'S_', secretRef: { name: 'sec' } }],
      env: [
        { name: 'a', value: 'overridden' },
        { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'b.c' } } },
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'COMBINED', value: '$(NAME)@$(NODE)' },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'MISSING_OK', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
      ],
    });
    const env = await containerEnv(p, p.spec!.containers[0]!, objects, ctx);
    expect(Object.fromEntries(env)).toEqual({
      a: 'overridden',
      'b.c': 'two',
      bin: 'raw',
      S_token: 't0k',
      FROM_CM: 'two',
      NAME: 'web',
      APP: 'web',
      IP: '10.0.0.5',
      HOST: '192.0.2.1',
      NODE: 'n1',
      COMBINED: 'web@n1',
      UID: 'u-1',
      // No limits: the node's allocatable, as kubelet shows them.
      CPU_LIMIT: '4000',
      MEM_LIMIT: '8192',
    });
  });

  it("starts from the Services' variables, which the container's own override and $(VAR) can refer to", async () => {
    const p = pod({ name: 'c', env: [{ name: 'WEB_SERVICE_PORT', value: '8080' }, { name: 'URL', value: 'http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)' }] });
    const serviceEnv = new Map([['WEB_SERVICE_HOST', '10.43.0.12'], ['WEB_SERVICE_PORT', '80']]);
    const env = await containerEnv(p, p.spec!.containers[0]!, objects, { ...ctx, serviceEnv });
    expect(Object.fromEntries(env)).toEqual({ WEB_SERVICE_HOST: '10.43.0.12', WEB_SERVICE_PORT: '8080', URL: 'http://10.43.0.12:8080' });
  });

  it('fails on a missing ConfigMap, Secret or key that is not optional', async () => {
    const cases = [
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } },
      { name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'nokey' } } },
    ];
    for (const env of cases) {
      const p = pod({ name: 'c', env: [env] });
      const err = await containerEnv(p, p.spec!.containers[0]!, objects, ctx).catch((e: unknown) => e);
      expect(isBerthError(err)).toBe(true);
    }
    const p = pod({ name: 'c', envFrom: [{ secretRef: { name: 'gone' } }] });
    await expect(containerEnv(p, p.spec!.containers[0]!, objects, ctx)).rejects.toThrow('secrets "gone" not found');
  });
});

describe('containerResources', () => {
  it('maps limits to a memory limit and CPU quota and requests.cpu to shares', () => {
    expect(containerResources({ name: 'c', resources: { limits: { memory: '64Mi', cpu: '500m' }, requests: { cpu: '250m' } } })).toEqual({ memoryBytes: 64 * 1024 * 1024, cpus: 0.5, cpuShares: 256 });
    expect(containerResources({ name: 'c', resources: { requests: { cpu: '1m' } } })).toEqual({ cpuShares: 2 });
    expect(containerResources({ name: 'c' })).toEqual({});
  });
});

describe('containerMounts', () => {
  const volumes = new Map([
    ['data', { hostPath: '/var/pods/u/volumes/data', readOnly: false }],
    ['config', { hostPath: '/var/pods/u/volumes/config', readOnly: true }],
  ]);
  /** Records what would be bound; answers a path naming the request. */
  const binds: string[] = [];
  const binder: SubPathBinder = async (volume, mount, subPath, index) => {
    binds.push(`${volume.hostPath} ${mount.name} ${subPath} ${index}`);
    return `/bound/${index}`;
  };

  it('binds prepared volumes, subPaths (subPathExpr expanded from the environment) through the binder, keeping read-only volumes read-only', async () => {
    binds.length = 0;
    const mounts = await containerMounts(
      {
        name: 'c',
        volumeMounts: [
          { name: 'data', mountPath: '/data', subPath: 'sub/dir' },
          { name: 'config', mountPath: '/etc/c' },
          { name: 'data', mountPath: '/ro', readOnly: true },
          { name: 'data', mountPath: '/logs', subPathExpr: 'logs/$(POD)' },
        ],
      },
      volumes,
      new Map([['POD', 'web-1']]),
      binder,
    );
    expect(mounts).toEqual([
      { type: 'bind', source: '/bound/0', destination: '/data', readOnly: false },
      { type: 'bind', source: '/var/pods/u/volumes/config', destination: '/etc/c', readOnly: true },
      { type: 'bind', source: '/var/pods/u/volumes/data', destination: '/ro', readOnly: true },
      { type: 'bind', source: '/bound/3', destination: '/logs', readOnly: false },
    ]);
    expect(binds).toEqual(['/var/pods/u/volumes/data data sub/dir 0', '/var/pods/u/volumes/data data logs/web-1 3']);
  });

  it('refuses unknown volumes and subPaths that leave the volume, also once expanded', async () => {
    await expect(containerMounts({ name: 'c', volumeMounts: [{ name: 'other', mountPath: '/x' }] }, volumes, new Map(), binder)).rejects.toThrow('names no volume');
    await expect(containerMounts({ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/x', subPath: '../../etc' }] }, volumes, new Map(), binder)).rejects.toThrow('relative path inside');
    await expect(containerMounts({ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/x', subPath: '/etc' }] }, volumes, new Map(), binder)).rejects.toThrow('relative path inside');
    await expect(containerMounts({ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/x', subPathExpr: '$(UP)/etc' }] }, volumes, new Map([['UP', '..']]), binder)).rejects.toThrow('relative path inside');
  });
});

describe('runtimeContainerConfig', () => {
  it('makes command the entrypoint and args the command, both expanded', async () => {
    const p = pod({ name: 'c', image: 'busybox', command: ['echo', '$(MSG)'], args: ['$(MSG)!'], env: [{ name: 'MSG', value: 'hi' }], workingDir: '/w', securityContext: { runAsUser: 1000, runAsGroup: 100 } });
    const config = await runtimeContainerConfig({ pod: p, container: p.spec!.containers[0]!, objects, ctx, volumes: new Map(), bindSubPath: async () => '', name: 'k8s_c', sandboxId: 'sb', labels: { l: 'v' }, seccompDir: '/nowhere' });
    expect(config).toMatchObject({ name: 'k8s_c', image: 'busybox', overrideEntrypoint: true, entrypoint: ['echo', 'hi'], command: ['hi!'], env: ['MSG=hi'], workingDir: '/w', user: '1000:100', sandboxId: 'sb', labels: { l: 'v' } });
  });

  it("keeps the image's entrypoint when only args are given", async () => {
    const p = pod({ name: 'c', image: 'busybox', args: ['x'] });
    const config = await runtimeContainerConfig({ pod: p, container: p.spec!.containers[0]!, objects, ctx, volumes: new Map(), bindSubPath: async () => '', name: 'n', sandboxId: 'sb', labels: {}, seccompDir: '/nowhere' });
    expect(config.overrideEntrypoint).toBeUndefined();
    expect(config.command).toEqual(['x']);
  });

  it("passes lifecycle.stopSignal, the pod's init annotation and its user name (when runAsUser is unset) to runtimed", async () => {
    const base = pod({ name: 'c', image: 'postgres', lifecycle: { stopSignal: 'SIGINT' } });
    const annotated: Pod = { ...base, metadata: { ...base.metadata, annotations: { [initAnnotation('c')]: 'true', [userAnnotation('c')]: 'postgres' } } };
    const make = (p: Pod) => runtimeContainerConfig({ pod: p, container: p.spec!.containers[0]!, objects, ctx, volumes: new Map(), bindSubPath: async () => '', name: 'n', sandboxId: 'sb', labels: {}, seccompDir: '/nowhere' });
    expect(await make(annotated)).toMatchObject({ stopSignal: 'SIGINT', init: true, user: 'postgres' });
    const plain = await make(pod({ name: 'c', image: 'postgres' }));
    expect(plain.stopSignal).toBeUndefined();
    expect(plain.init).toBeUndefined();
    expect(plain.user).toBeUndefined();
    // runAsUser wins over the name; runAsGroup replaces the name's group.
    const numeric: Pod = { ...annotated, spec: { ...annotated.spec!, securityContext: { runAsUser: 70 } } };
    expect((await make(numeric)).user).toBe('70');
    const grouped: Pod = { ...annotated, metadata: { ...annotated.metadata, annotations: { [userAnnotation('c')]: 'postgres:staff' } }, spec: { ...annotated.spec!, securityContext: { runAsGroup: 5 } } };
    expect((await make(grouped)).user).toBe('postgres:5');
  });
});
