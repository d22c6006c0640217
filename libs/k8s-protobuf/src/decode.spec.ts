import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '@berth/errors';
import { decodeKubernetesProtobuf } from './index';
import { messageType, UNKNOWN_TYPE } from './definitions';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', `kubectl-create-${name}.pb`));

/** Wraps a message of one of our definitions in the envelope kubectl sends. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array, extra: Record<string, unknown> = {}): Buffer {
  const unknown = messageType(UNKNOWN_TYPE).encode({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '', ...extra }).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

function encoded(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = messageType(typeName);
  return type.encode(type.fromObject(value)).finish();
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof BerthError) return err.reason;
    throw err;
  }
  return 'no error';
}

describe('decodeKubernetesProtobuf on bodies kubectl v1.32 sent', () => {
  it.each<[string, unknown]>([
    ['namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' }, spec: {}, status: {} }],
    ['configmap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }],
    ['secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: Buffer.from('v').toString('base64') } }],
    [
      'deployment',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd', labels: { app: 'd' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'd' } },
          template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'busybox', image: 'busybox', resources: {} }] } },
          strategy: {},
        },
        status: {},
      },
    ],
    [
      'service',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', labels: { app: 's' } },
        spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 's' }, type: 'ClusterIP' },
        status: { loadBalancer: {} },
      },
    ],
  ])('kubectl create %s', (name, expected) => {
    expect(decodeKubernetesProtobuf(fixture(name))).toEqual(expected);
  });

  it('kubectl autoscale deploy/x --min 1 --max 3 --cpu-percent 50 (an autoscaling/v1 HorizontalPodAutoscaler)', () => {
    const body = readFileSync(join(__dirname, 'fixtures', 'kubectl-autoscale.pb'));
    expect(decodeKubernetesProtobuf(body)).toEqual({
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'x' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'x', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
      status: {},
    });
  });
});

describe('decodeKubernetesProtobuf conversions', () => {
  it('converts times, int-or-strings, quantities, embedded structs and pointer zeros', () => {
    const pod = encoded('k8s.io.api.core.v1.Pod', {
      metadata: {
        name: 'p',
        creationTimestamp: {},
        deletionTimestamp: { seconds: 1700000000 },
        deletionGracePeriodSeconds: 0,
        generation: 0,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: false }],
        managedFields: [{ manager: 'm', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { Raw: Buffer.from('{"f:spec":{}}') }, time: { seconds: 1700000000 } }],
      },
      spec: {
        terminationGracePeriodSeconds: 0,
        hostNetwork: false,
        volumes: [{ name: 'v', volumeSource: { configMap: { localObjectReference: { name: 'cm' }, defaultMode: 420 }, emptyDir: { sizeLimit: { string: '1Gi' } } } }],
        containers: [
          {
            name: 'c',
            image: 'i',
            args: [''],
            ports: [{ containerPort: 80, hostPort: 0 }],
            resources: { limits: { cpu: { string: '500m' }, memory: { string: '128Mi' } } },
            readinessProbe: { handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } }, periodSeconds: 3 },
            livenessProbe: { handler: { tcpSocket: { port: { type: 0, intVal: 8080 } } } },
            env: [{ name: 'A', valueFrom: { secretKeyRef: { localObjectReference: { name: 's' }, key: 'k', optional: false } } }, { name: 'ZERO', value: '0' }],
          },
        ],
      },
      status: { phase: 'Running', startTime: { seconds: 1700000000, nanos: 5 } },
    });
    expect(decodeKubernetesProtobuf(envelope('v1', 'Pod', pod))).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        deletionTimestamp: '2023-11-14T22:13:20Z',
        deletionGracePeriodSeconds: 0,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: false }],
        managedFields: [{ manager: 'm', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} }, time: '2023-11-14T22:13:20Z' }],
      },
      spec: {
        terminationGracePeriodSeconds: 0,
        volumes: [{ name: 'v', configMap: { name: 'cm', defaultMode: 420 }, emptyDir: { sizeLimit: '1Gi' } }],
        containers: [
          {
            name: 'c',
            image: 'i',
            args: [''],
            ports: [{ containerPort: 80 }],
            resources: { limits: { cpu: '500m', memory: '128Mi' } },
            readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 3 },
            livenessProbe: { tcpSocket: { port: 8080 } },
            env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: false } } }, { name: 'ZERO', value: '0' }],
          },
        ],
      },
      status: { phase: 'Running', startTime: '2023-11-14T22:13:20Z' },
    });
  });

  it('writes MicroTime with microseconds and keeps pointer zeros (Lease)', () => {
    const lease = encoded('k8s.io.api.coordination.v1.Lease', {
      metadata: { name: 'node-1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, leaseTransitions: 0, renewTime: { seconds: 1700000000, nanos: 123456789 } },
    });
    expect(decodeKubernetesProtobuf(envelope('coordination.k8s.io/v1', 'Lease', lease))).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, leaseTransitions: 0, renewTime: '2023-11-14T22:13:20.123456Z' },
    });
  });

  it('keeps empty map values and binary data (ConfigMap)', () => {
    const cm = encoded('k8s.io.api.core.v1.ConfigMap', { metadata: { name: 'c' }, data: { empty: '' }, binaryData: { b: Buffer.from([0, 255]) }, immutable: false });
    expect(decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', cm))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { empty: '' },
      binaryData: { b: 'AP8=' },
      immutable: false,
    });
  });

  it('decodes a ReplicaSet with a zero replica count', () => {
    const rs = encoded('k8s.io.api.apps.v1.ReplicaSet', { metadata: { name: 'r' }, spec: { replicas: 0, template: { spec: { containers: [{ name: 'c' }] } } } });
    expect(decodeKubernetesProtobuf(envelope('apps/v1', 'ReplicaSet', rs)).spec).toEqual({ replicas: 0, template: { spec: { containers: [{ name: 'c' }] } } });
  });
});

describe('decodeKubernetesProtobuf on bad input', () => {
  it('rejects a body without the k8s\\0 prefix', () => {
    expect(reasonOf(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"Namespace"}')))).toBe('BadRequest');
    expect(reasonOf(() => decodeKubernetesProtobuf(Buffer.alloc(0)))).toBe('BadRequest');
  });

  it('rejects a truncated body', () => {
    const body = fixture('deployment');
    expect(reasonOf(() => decodeKubernetesProtobuf(body.subarray(0, body.length - 7)))).toBe('BadRequest');
  });

  it('rejects an envelope without apiVersion and kind', () => {
    expect(reasonOf(() => decodeKubernetesProtobuf(Buffer.from('k8s\0', 'latin1')))).toBe('BadRequest');
  });

  it('answers UnsupportedMediaType for kinds without definitions, encodings, and fields it does not know', () => {
    expect(reasonOf(() => decodeKubernetesProtobuf(envelope('v1', 'Node', new Uint8Array())))).toBe('UnsupportedMediaType');
    expect(reasonOf(() => decodeKubernetesProtobuf(envelope('v1', 'Namespace', new Uint8Array(), { contentEncoding: 'gzip' })))).toBe('UnsupportedMediaType');
    // Namespace field 9 does not exist in our definitions (nor in Kubernetes'): it must not vanish silently.
    expect(reasonOf(() => decodeKubernetesProtobuf(envelope('v1', 'Namespace', Buffer.from([0x4a, 0x01, 0x78]))))).toBe('UnsupportedMediaType');
  });

  it('holds map keys and FieldsV1 from the body to the rules of a JSON body: no __proto__, bounded nesting', () => {
    const withData = encoded('k8s.io.api.core.v1.ConfigMap', { metadata: { name: 'c' }, data: JSON.parse('{"__proto__":"x","constructor":"y"}') });
    expect(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', withData))).toThrow('"__proto__"');
    const withLabels = encoded('k8s.io.api.core.v1.ConfigMap', { metadata: { name: 'c', labels: JSON.parse('{"__proto__":"x"}') } });
    expect(reasonOf(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', withLabels)))).toBe('BadRequest');
    const deep = '{"f:a":'.repeat(5000) + '{}' + '}'.repeat(5000);
    const withFields = encoded('k8s.io.api.core.v1.ConfigMap', { metadata: { name: 'c', managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { Raw: Buffer.from(deep) } }] } });
    expect(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', withFields))).toThrow('nests deeper than');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('never crashes on random or mutated bodies', () => {
    const seeds = ['namespace', 'configmap', 'secret', 'deployment', 'service'].map(fixture);
    let state = 42;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(seeds[i % seeds.length]);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) body[4 + Math.floor(random() * (body.length - 4))] = Math.floor(random() * 256);
      const input = i % 10 === 0 ? Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256)))]) : body;
      try {
        const decoded = decodeKubernetesProtobuf(input);
        expect(typeof decoded.kind).toBe('string');
      } catch (err) {
        if (!(err instanceof BerthError) || !['BadRequest', 'UnsupportedMediaType'].includes(err.reason)) throw err;
      }
    }
  });
});
