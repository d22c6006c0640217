import type { FieldCause } from '@berth/errors';
import { applyDefaults } from './defaults';
import type { Deployment, Pod, ReplicaSet, Secret, Service } from './kinds';
import { apiVersionOf, RESOURCES } from './registry';
import type { ResourceType } from './registry';
import * as fixtures from './schema/fixtures';
import type { KubeObject } from './types';
import { validateObject } from './validation';
import type { ValidationOptions } from './validation';

/** The kind's type in the object's version when it is served in several, else in its only one. */
function typeOf(kind: string, apiVersion?: string): ResourceType {
  const type = RESOURCES.find((r) => r.kind === kind && apiVersionOf(r) === apiVersion) ?? RESOURCES.find((r) => r.kind === kind);
  if (!type) throw new Error(`no resource type for ${kind}`);
  return type;
}

/** Defaulted, as the apiserver validates objects. */
function defaulted<T extends KubeObject>(obj: T): T {
  applyDefaults(typeOf(obj.kind, obj.apiVersion), obj);
  return obj;
}

function validate(obj: KubeObject, opts: Partial<ValidationOptions> = {}) {
  return validateObject(typeOf(obj.kind, obj.apiVersion), obj, { fieldValidation: 'Strict', ...opts });
}

function causes(obj: KubeObject, opts: Partial<ValidationOptions> = {}): FieldCause[] {
  return validate(obj, opts).causes;
}

function rendered(list: FieldCause[]): string[] {
  return list.map((c) => `${c.field}: ${c.message}`);
}

/** The one cause a broken object gets at `path`. */
function causeAt(obj: KubeObject, path: string, opts: Partial<ValidationOptions> = {}): FieldCause {
  const found = causes(obj, opts);
  const matching = found.filter((c) => c.field === path);
  if (matching.length !== 1) throw new Error(`expected one cause at ${path}, got:\n${rendered(found).join('\n') || '(none)'}`);
  return matching[0];
}

const pod = (): Pod => defaulted(fixtures.podFixture());
const deployment = (): Deployment => defaulted(fixtures.deploymentFixture());
const replicaSet = (): ReplicaSet => defaulted(fixtures.replicaSetFixture());
const service = (): Service => defaulted(fixtures.serviceFixture());
const secret = (): Secret => defaulted(fixtures.secretFixture());

const SUBDOMAIN_DETAIL =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_DETAIL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

describe('good objects', () => {
  const all = [
    fixtures.podFixture,
    fixtures.deploymentFixture,
    fixtures.replicaSetFixture,
    fixtures.serviceFixture,
    fixtures.namespaceFixture,
    fixtures.nodeFixture,
    fixtures.leaseFixture,
    fixtures.eventFixture,
    fixtures.endpointsFixture,
    fixtures.configMapFixture,
    fixtures.secretFixture,
    fixtures.daemonSetFixture,
    fixtures.controllerRevisionFixture,
    fixtures.endpointSliceFixture,
    fixtures.serviceAccountFixture,
    fixtures.podDisruptionBudgetFixture,
    fixtures.jobFixture,
    fixtures.cronJobFixture,
    fixtures.persistentVolumeFixture,
    fixtures.persistentVolumeClaimFixture,
    fixtures.storageClassFixture,
    fixtures.statefulSetFixture,
    fixtures.horizontalPodAutoscalerFixture,
    fixtures.horizontalPodAutoscalerV1Fixture,
  ];

  it.each(all.map((make) => [`${make().apiVersion} ${make().kind}`, make] as const))('%s passes, before and after defaulting, and is left unchanged', (_kind, make) => {
    for (const obj of [make(), defaulted(make())]) {
      const before = structuredClone(obj);
      expect(validate(obj)).toEqual({ causes: [], unknownFields: [] });
      expect(obj).toEqual(before);
    }
  });

  it('covers every served kind', () => {
    expect(new Set(all.map((make) => make().kind))).toEqual(new Set(RESOURCES.map((r) => r.kind)));
  });
});

describe('metadata', () => {
  it('rejects a name that is not a DNS subdomain, in Kubernetes words', () => {
    const obj = deployment();
    obj.metadata.name = 'Web_1';
    expect(rendered([causeAt(obj, 'metadata.name')])).toEqual([`metadata.name: Invalid value: "Web_1": ${SUBDOMAIN_DETAIL}`]);
  });

  it('wants DNS labels for namespace and service names', () => {
    const ns = fixtures.namespaceFixture();
    ns.metadata.name = 'team.a';
    expect(causeAt(ns, 'metadata.name').message).toBe(`Invalid value: "team.a": ${LABEL_DETAIL}`);
    const svc = service();
    svc.metadata.name = 'web.api';
    expect(causeAt(svc, 'metadata.name').message).toBe(`Invalid value: "web.api": ${LABEL_DETAIL}`);
  });

  it('rejects a name longer than 253 characters', () => {
    const obj = pod();
    obj.metadata.name = 'a'.repeat(254);
    expect(causeAt(obj, 'metadata.name').message).toContain('must be no more than 253 characters');
  });

  it('needs a name or a generateName', () => {
    const obj = pod();
    delete obj.metadata.name;
    expect(causeAt(obj, 'metadata.name')).toEqual({
      reason: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
    });
    obj.metadata.generateName = 'web-';
    expect(causes(obj)).toEqual([]);
    obj.metadata.generateName = 'Web_';
    expect(causeAt(obj, 'metadata.generateName').reason).toBe('FieldValueInvalid');
  });

  it('needs a namespace on namespaced kinds and refuses one on cluster-scoped kinds', () => {
    const obj = pod();
    delete obj.metadata.namespace;
    expect(causeAt(obj, 'metadata.namespace').message).toBe('Required value');
    const node = fixtures.nodeFixture();
    node.metadata.namespace = 'default';
    expect(causeAt(node, 'metadata.namespace').message).toBe('Forbidden: not allowed on this type');
  });

  it('checks label keys and values', () => {
    const obj = pod();
    obj.metadata.labels = { 'bad key': 'ok' };
    expect(causeAt(obj, 'metadata.labels').message).toMatch(/^Invalid value: "bad key": name part must consist of alphanumeric/);
    obj.metadata.labels = { app: '-web' };
    expect(causeAt(obj, 'metadata.labels').message).toMatch(/^Invalid value: "-web": a valid label must be an empty string/);
    obj.metadata.labels = { app: 'x'.repeat(64) };
    expect(causeAt(obj, 'metadata.labels').message).toContain('must be no more than 63 characters');
    obj.metadata.labels = { 'Example.com/app': 'web' };
    expect(causeAt(obj, 'metadata.labels').message).toContain('prefix part a lowercase RFC 1123 subdomain');
  });

  it('reports a non-string label value as a type error at its key', () => {
    const obj = pod() as KubeObject;
    (obj.metadata.labels as Record<string, unknown>).replicas = 3;
    expect(causeAt(obj, 'metadata.labels[replicas]')).toMatchObject({ reason: 'FieldValueTypeInvalid' });
  });

  it('checks annotation keys and their total size', () => {
    const obj = pod();
    obj.metadata.annotations = { 'a/b/c': 'x' };
    expect(causeAt(obj, 'metadata.annotations').message).toContain("with an optional DNS subdomain prefix and '/'");
    obj.metadata.annotations = { big: 'x'.repeat(256 * 1024) };
    expect(causeAt(obj, 'metadata.annotations')).toEqual({
      reason: 'FieldValueTooLong',
      field: 'metadata.annotations',
      message: 'Too long: must have at most 262144 bytes',
    });
  });

  it('requires the identifying fields of owner references', () => {
    const obj = pod();
    obj.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7', uid: '' }];
    expect(causeAt(obj, 'metadata.ownerReferences[0].uid').message).toBe('Required value');
  });
});

describe('Pod', () => {
  it('needs at least one container', () => {
    const obj = pod();
    obj.spec!.containers = [];
    expect(causeAt(obj, 'spec.containers').message).toBe('Required value');
  });

  it('needs unique DNS-label container names', () => {
    const obj = pod();
    obj.spec!.containers.push({ ...obj.spec!.containers[0], volumeMounts: [] });
    expect(causeAt(obj, 'spec.containers[1].name')).toEqual({
      reason: 'FieldValueDuplicate',
      field: 'spec.containers[1].name',
      message: 'Duplicate value: "web"',
    });
    obj.spec!.containers[1].name = 'Sidecar';
    expect(causeAt(obj, 'spec.containers[1].name').message).toBe(`Invalid value: "Sidecar": ${LABEL_DETAIL}`);
    obj.spec!.containers[1].name = 'sidecar';
    obj.spec!.initContainers = [{ name: 'sidecar', image: 'busybox' }];
    expect(causeAt(obj, 'spec.containers[1].name').reason).toBe('FieldValueDuplicate');
  });

  it('needs an image', () => {
    const obj = pod();
    delete obj.spec!.containers[0].image;
    expect(causeAt(obj, 'spec.containers[0].image').message).toBe('Required value');
  });

  it('reports a value of the wrong JSON type', () => {
    const obj = pod() as KubeObject;
    ((obj.spec as Record<string, unknown[]>).containers[0] as Record<string, unknown>).image = 5;
    expect(causeAt(obj, 'spec.containers[0].image')).toEqual({
      reason: 'FieldValueTypeInvalid',
      field: 'spec.containers[0].image',
      message: 'Invalid value: 5: must be of type string',
    });
    (obj.spec as Record<string, unknown>).containers = 'web';
    expect(causeAt(obj, 'spec.containers').reason).toBe('FieldValueTypeInvalid');
    (obj.spec as Record<string, unknown>).containers = ['web'];
    expect(causeAt(obj, 'spec.containers[0]').message).toBe('Invalid value: "web": must be an object');
  });

  it('checks container ports and protocols', () => {
    const obj = pod();
    obj.spec!.containers[0].ports = [{ containerPort: 70000, protocol: 'HTTP' as 'TCP' }];
    expect(causeAt(obj, 'spec.containers[0].ports[0].containerPort').message).toBe(
      'Invalid value: 70000: must be between 1 and 65535, inclusive',
    );
    expect(causeAt(obj, 'spec.containers[0].ports[0].protocol').message).toBe(
      'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    );
  });

  it.each([
    ['restartPolicy', 'spec.restartPolicy', 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    [
      'dnsPolicy',
      'spec.dnsPolicy',
      'Unsupported value: "Sometimes": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
    ],
  ])('checks %s', (name, path, message) => {
    const obj = pod();
    (obj.spec as unknown as Record<string, unknown>)[name] = 'Sometimes';
    expect(causeAt(obj, path).message).toBe(message);
  });

  it('checks imagePullPolicy', () => {
    const obj = pod();
    obj.spec!.containers[0].imagePullPolicy = 'Sometimes' as 'Always';
    expect(causeAt(obj, 'spec.containers[0].imagePullPolicy').message).toBe(
      'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    );
  });

  it('checks quantities and that requests stay within limits', () => {
    const obj = pod();
    obj.spec!.containers[0].resources = { limits: { cpu: '500m', memory: '12 8Mi' }, requests: { cpu: '2' } };
    expect(causeAt(obj, 'spec.containers[0].resources.limits[memory]').message).toMatch(
      /^Invalid value: "12 8Mi": quantities must match the regular expression/,
    );
    expect(causeAt(obj, 'spec.containers[0].resources.requests[cpu]').message).toBe(
      'Invalid value: "2": must be less than or equal to cpu limit of 500m',
    );
  });

  it('accepts numeric quantities, as YAML writes them, before defaulting', () => {
    const obj = fixtures.podFixture() as KubeObject;
    const container = (obj.spec as { containers: Array<Record<string, unknown>> }).containers[0];
    container.resources = { limits: { cpu: 2 }, requests: { cpu: 0.25 } };
    expect(causes(obj)).toEqual([]);
    container.resources = { limits: { cpu: 1 }, requests: { cpu: 1.5 } };
    expect(causeAt(obj, 'spec.containers[0].resources.requests[cpu]').message).toBe(
      'Invalid value: 1.5: must be less than or equal to cpu limit of 1',
    );
    container.resources = { limits: { cpu: true } };
    expect(causeAt(obj, 'spec.containers[0].resources.limits[cpu]').reason).toBe('FieldValueTypeInvalid');
  });

  it('needs unique volume names, one source per volume and mounts that name a volume', () => {
    const obj = pod();
    obj.spec!.volumes = [{ name: 'data', emptyDir: {} }, { name: 'data', emptyDir: {} }, { name: 'cache' }];
    expect(causeAt(obj, 'spec.volumes[1].name').reason).toBe('FieldValueDuplicate');
    expect(causeAt(obj, 'spec.volumes[2]').message).toBe('Required value: must specify a volume type');
    expect(causeAt(obj, 'spec.containers[0].volumeMounts[1].name')).toEqual({
      reason: 'FieldValueNotFound',
      field: 'spec.containers[0].volumeMounts[1].name',
      message: 'Not found: "config"',
    });
    obj.spec!.volumes = [{ name: 'data', emptyDir: {}, hostPath: { path: '/srv' } }];
    expect(causeAt(obj, 'spec.volumes[0].hostPath').message).toBe('Forbidden: may not specify more than 1 volume type');
  });

  it('checks environment variable names', () => {
    const obj = pod();
    obj.spec!.containers[0].env = [{ name: '1ST', value: 'x' }];
    expect(causeAt(obj, 'spec.containers[0].env[0].name').message).toMatch(
      /^Invalid value: "1ST": a valid environment variable name must consist of alphabetic characters/,
    );
  });

  it('needs exactly one handler per probe', () => {
    const obj = pod();
    obj.spec!.containers[0].livenessProbe = { periodSeconds: 5 };
    obj.spec!.containers[0].readinessProbe = { httpGet: { port: 80 }, tcpSocket: { port: 80 } };
    expect(causeAt(obj, 'spec.containers[0].livenessProbe').message).toBe('Required value: must specify a handler type');
    expect(causeAt(obj, 'spec.containers[0].readinessProbe.tcpSocket').message).toBe(
      'Forbidden: may not specify more than 1 handler type',
    );
  });

  it('checks probe ports and tolerations', () => {
    const obj = pod();
    obj.spec!.containers[0].readinessProbe = { tcpSocket: { port: 0 } };
    obj.spec!.tolerations = [{ key: 'a', operator: 'Sometimes' as 'Exists' }];
    expect(causeAt(obj, 'spec.containers[0].readinessProbe.tcpSocket.port').message).toContain('must be between 1 and 65535');
    expect(causeAt(obj, 'spec.tolerations[0].operator').reason).toBe('FieldValueNotSupported');
  });

  it('checks node affinity', () => {
    const obj = pod();
    obj.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
    expect(
      causeAt(obj, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms').message,
    ).toBe('Required value');
  });
});

describe('Pod securityContext', () => {
  it('accepts what a node honours', () => {
    const obj = pod();
    obj.spec!.securityContext = {
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      fsGroup: 2000,
      supplementalGroups: [4000],
      seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' },
      sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }, { name: 'kernel/shm_rmid_forced', value: '1' }],
    };
    obj.spec!.containers[0].securityContext = { capabilities: { add: ['NET_ADMIN', 'cap_sys_time'], drop: ['ALL'] }, allowPrivilegeEscalation: false, seccompProfile: { type: 'Unconfined' } };
    expect(rendered(causes(obj))).toEqual([]);
  });

  it('refuses capabilities Linux does not have', () => {
    const obj = pod();
    obj.spec!.containers[0].securityContext = { capabilities: { add: ['NET_ADMIN', 'GOD_MODE'], drop: ['CAP_CHOWN', 'all', ''] } };
    expect(rendered(causes(obj))).toEqual([
      'spec.containers[0].securityContext.capabilities.add[1]: Invalid value: "GOD_MODE": must be a Linux capability such as NET_ADMIN or CAP_NET_ADMIN, or ALL',
      'spec.containers[0].securityContext.capabilities.drop[2]: Invalid value: "": must be a Linux capability such as NET_ADMIN or CAP_NET_ADMIN, or ALL',
    ]);
  });

  it('wants a profile path below the seccomp directory with Localhost, and none with another type', () => {
    const obj = pod();
    obj.spec!.securityContext = { seccompProfile: { type: 'Localhost' } };
    obj.spec!.containers[0].securityContext = { seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'x.json' } };
    obj.spec!.initContainers = [
      { name: 'up', image: 'busybox', securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '../../etc/passwd' } } },
      { name: 'abs', image: 'busybox', securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '/etc/passwd' } } },
    ];
    expect(rendered(causes(obj)).sort()).toEqual([
      'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "x.json": can only be set when seccomp type is Localhost',
      'spec.initContainers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "../../etc/passwd": must not contain \'..\'',
      'spec.initContainers[1].securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/passwd": must be a relative path',
      'spec.securityContext.seccompProfile.localhostProfile: Required value',
    ]);
  });

  it('refuses a NUL in a profile path, and says every way a path leaves the directory', () => {
    const obj = pod();
    obj.spec!.containers[0].securityContext = { seccompProfile: { type: 'Localhost', localhostProfile: 'a\0b.json' } };
    obj.spec!.securityContext = { seccompProfile: { type: 'Localhost', localhostProfile: '/../x.json' } };
    expect(rendered(causes(obj)).sort()).toEqual([
      'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "a\\u0000b.json": must not contain a NUL character',
      'spec.securityContext.seccompProfile.localhostProfile: Invalid value: "/../x.json": must be a relative path',
      'spec.securityContext.seccompProfile.localhostProfile: Invalid value: "/../x.json": must not contain \'..\'',
    ]);
  });

  it('allows only the safe sysctls, once each, and none of the host namespaces the pod shares', () => {
    const obj = pod();
    obj.spec!.hostNetwork = true;
    obj.spec!.securityContext = {
      sysctls: [
        { name: 'kernel.shm_rmid_forced', value: '1' },
        { name: 'net.ipv4.tcp_syncookies', value: '1' },
        { name: 'kernel/shm_rmid_forced', value: '0' },
        { name: 'vm.swappiness', value: '0' },
        { name: 'Net.IPv4', value: '1' },
      ],
    };
    const found = rendered(causes(obj));
    expect(found).toEqual([
      'spec.securityContext.sysctls[1].name: Invalid value: "net.ipv4.tcp_syncookies": may not be specified when \'hostNetwork\' is true',
      'spec.securityContext.sysctls[2].name: Duplicate value: "kernel/shm_rmid_forced"',
      expect.stringMatching(/^spec.securityContext.sysctls\[3\].name: Forbidden: sysctl "vm.swappiness" is not allowed on berth's nodes: only the kubelet's safe sysctls \(kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, /),
      expect.stringMatching(/^spec.securityContext.sysctls\[4\].name: Invalid value: "Net.IPv4": must have at most 253 characters and match regex/),
    ]);
  });

  it("quotes Kubernetes' sysctl name pattern, and knows CAP_SYS_ADMIN in any spelling", () => {
    const obj = pod();
    obj.spec!.securityContext = { sysctls: [{ name: 'net..ipv4', value: '1' }] };
    obj.spec!.containers[0].securityContext = { allowPrivilegeEscalation: false, capabilities: { add: ['cap_sys_admin'] } };
    expect(rendered(causes(obj)).sort()).toEqual([
      'spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: false: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN',
      'spec.securityContext.sysctls[0].name: Invalid value: "net..ipv4": must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?',
    ]);
  });

  it('refuses denying privilege escalation to a privileged container, and ids out of range', () => {
    const obj = pod();
    obj.spec!.containers[0].securityContext = { privileged: true, allowPrivilegeEscalation: false, capabilities: { add: ['SYS_ADMIN'] }, runAsUser: 2 ** 31 };
    obj.spec!.securityContext = { supplementalGroups: [1, -1], fsGroup: 2 ** 40 };
    expect(rendered(causes(obj)).sort()).toEqual([
      'spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: false: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN',
      'spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: false: cannot set `allowPrivilegeEscalation` to false and `privileged` to true',
      'spec.containers[0].securityContext.runAsUser: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive',
      'spec.securityContext.fsGroup: Invalid value: 1099511627776: must be between 0 and 2147483647, inclusive',
      'spec.securityContext.supplementalGroups[1]: Invalid value: -1: must be between 0 and 2147483647, inclusive',
    ]);
  });
});

describe('Deployment and ReplicaSet', () => {
  it('reports a template container without image at its full path', () => {
    const obj = deployment();
    delete obj.spec!.template.spec!.containers[0].image;
    expect(rendered(causes(obj))).toEqual(['spec.template.spec.containers[0].image: Required value']);
  });

  it('needs a non-empty selector', () => {
    const obj = deployment() as KubeObject;
    delete (obj.spec as Record<string, unknown>).selector;
    expect(causeAt(obj, 'spec.selector').message).toBe('Required value');
    (obj.spec as Record<string, unknown>).selector = {};
    expect(causeAt(obj, 'spec.selector').message).toBe('Invalid value: {}: empty selector is invalid for deployment');
  });

  it('needs the selector to match the template labels', () => {
    const obj = deployment();
    obj.spec!.template.metadata!.labels = { tier: 'front', app: 'api' };
    expect(rendered([causeAt(obj, 'spec.template.metadata.labels')])).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"api", "tier":"front"}: `selector` does not match template `labels`',
    ]);
    const rs = replicaSet();
    rs.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] };
    expect(causeAt(rs, 'spec.template.metadata.labels').reason).toBe('FieldValueInvalid');
  });

  it('checks selector expressions', () => {
    const obj = deployment();
    obj.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'Near' as 'In', values: ['web'] }] };
    expect(causeAt(obj, 'spec.selector.matchExpressions[0].operator').reason).toBe('FieldValueNotSupported');
    obj.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'In' }, { key: 'tier', operator: 'Exists', values: ['x'] }] };
    expect(causeAt(obj, 'spec.selector.matchExpressions[0].values').message).toBe('Required value');
    expect(causeAt(obj, 'spec.selector.matchExpressions[1].values').reason).toBe('FieldValueForbidden');
  });

  it('needs replicas of at least 0', () => {
    const obj = deployment();
    obj.spec!.replicas = -1;
    expect(causeAt(obj, 'spec.replicas').message).toBe('Invalid value: -1: must be greater than or equal to 0');
    const rs = replicaSet();
    rs.spec!.replicas = -2;
    expect(causeAt(rs, 'spec.replicas').reason).toBe('FieldValueInvalid');
  });

  it('checks the strategy', () => {
    const obj = deployment();
    obj.spec!.strategy = { type: 'Canary' as 'Recreate' };
    expect(causeAt(obj, 'spec.strategy.type').message).toBe('Unsupported value: "Canary": supported values: "Recreate", "RollingUpdate"');
    obj.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'lots', maxUnavailable: '150%' } };
    expect(causeAt(obj, 'spec.strategy.rollingUpdate.maxSurge').message).toBe(
      "Invalid value: \"lots\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    expect(causeAt(obj, 'spec.strategy.rollingUpdate.maxUnavailable').message).toBe(
      'Invalid value: "150%": must not be greater than 100%',
    );
    obj.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } };
    expect(causeAt(obj, 'spec.strategy.rollingUpdate.maxUnavailable').message).toBe(
      'Invalid value: "0%": may not be 0 when `maxSurge` is 0',
    );
    obj.spec!.strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } };
    expect(causeAt(obj, 'spec.strategy.rollingUpdate').reason).toBe('FieldValueForbidden');
  });

  it('needs template pods that always restart', () => {
    for (const obj of [deployment(), replicaSet()]) {
      obj.spec!.template!.spec!.restartPolicy = 'Never';
      expect(causeAt(obj, 'spec.template.spec.restartPolicy').message).toBe('Unsupported value: "Never": supported values: "Always"');
    }
  });

  it('reports unknown fields as dotted paths', () => {
    const obj = deployment() as KubeObject;
    (obj.spec as Record<string, unknown>).replicaz = 3;
    const container = (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0];
    container.imagee = 'nginx';
    (obj.metadata as Record<string, unknown>).labelz = {};
    const result = validate(obj);
    expect(result.causes).toEqual([]);
    expect(result.unknownFields.sort()).toEqual(['metadata.labelz', 'spec.replicaz', 'spec.template.spec.containers[0].imagee']);
    expect(JSON.stringify(obj)).toContain('replicaz');
    const warned = structuredClone(obj);
    expect(validate(warned, { fieldValidation: 'Warn' }).unknownFields).toHaveLength(3);
    expect(validate(obj, { fieldValidation: 'Ignore' }).unknownFields).toEqual([]);
  });

  it('drops unknown fields unless Strict, as Kubernetes decodes into its types: nothing is stored that nothing acts on', () => {
    for (const fieldValidation of ['Warn', 'Ignore'] as const) {
      const obj = deployment() as KubeObject;
      (obj.spec as Record<string, unknown>).replicaz = 3;
      (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0].imagee = 'nginx';
      validate(obj, { fieldValidation });
      expect(JSON.stringify(obj)).not.toMatch(/replicaz|imagee/);
      expect((obj.spec as { replicas?: number }).replicas).toBe(3);
    }
  });

  it('leaves free-form maps alone when looking for unknown fields', () => {
    const obj = deployment();
    obj.spec!.template.spec!.nodeSelector = { 'disk.example.com/type': 'ssd' };
    obj.metadata.annotations = { 'anything.example.com/goes': 'here' };
    expect(validate(obj).unknownFields).toEqual([]);
  });
});

describe('Service', () => {
  it('checks port numbers', () => {
    const obj = service();
    obj.spec!.ports![0].port = 70000;
    expect(rendered([causeAt(obj, 'spec.ports[0].port')])).toEqual([
      'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
    obj.spec!.ports![0].targetPort = 0;
    expect(causeAt(obj, 'spec.ports[0].targetPort').reason).toBe('FieldValueInvalid');
  });

  it('needs ports unless it is headless or an ExternalName service, which needs the name', () => {
    const headless = service();
    delete headless.spec!.ports;
    headless.spec!.clusterIP = 'None';
    expect(causes(headless)).toEqual([]);
    const obj = service();
    delete obj.spec!.ports;
    expect(causeAt(obj, 'spec.ports').message).toBe('Required value');
    obj.spec!.type = 'ExternalName';
    expect(causeAt(obj, 'spec.externalName').message).toBe('Required value');
    obj.spec!.externalName = 'db.example.com';
    expect(causes(obj)).toEqual([]);
  });

  it('needs unique names when there is more than one port', () => {
    const obj = service();
    delete obj.spec!.ports![0].name;
    expect(causeAt(obj, 'spec.ports[0].name').message).toBe('Required value');
    obj.spec!.ports![0].name = 'metrics';
    expect(causeAt(obj, 'spec.ports[1].name').message).toBe('Duplicate value: "metrics"');
  });

  it('checks the type', () => {
    const obj = service();
    obj.spec!.type = 'Public' as 'ClusterIP';
    expect(causeAt(obj, 'spec.type').message).toBe(
      'Unsupported value: "Public": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    );
  });

  it('checks node ports', () => {
    const obj = service();
    obj.spec!.ports![0].nodePort = 30080;
    expect(causeAt(obj, 'spec.ports[0].nodePort').message).toBe("Forbidden: may not be used when `type` is 'ClusterIP'");
    obj.spec!.type = 'NodePort';
    expect(causes(obj)).toEqual([]);
    // Any port number: the apiserver's allocator checks its configured range.
    obj.spec!.ports![0].nodePort = 80;
    expect(causes(obj)).toEqual([]);
    obj.spec!.ports![0].nodePort = 0;
    expect(causes(obj)).toEqual([]);
    obj.spec!.ports![0].nodePort = 70000;
    expect(causeAt(obj, 'spec.ports[0].nodePort').message).toBe('Invalid value: 70000: must be between 1 and 65535, inclusive');
  });

  it('needs clusterIP to be an IP or None', () => {
    const obj = service();
    obj.spec!.clusterIP = 'None';
    expect(causes(obj)).toEqual([]);
    obj.spec!.clusterIP = '10.43.0.300';
    expect(causeAt(obj, 'spec.clusterIP').message).toBe(
      'Invalid value: "10.43.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    );
    obj.spec!.clusterIP = '10.43.0.10';
    obj.spec!.clusterIPs = ['10.43.0.11'];
    expect(causeAt(obj, 'spec.clusterIPs[0]').reason).toBe('FieldValueInvalid');
  });
});

describe('ConfigMap and Secret', () => {
  it('checks config map keys and binary data', () => {
    const obj = fixtures.configMapFixture();
    obj.data = { 'bad key': 'x', 'logo.png': 'y' };
    obj.binaryData = { 'logo.png': 'not base64!' };
    expect(causeAt(obj, 'data[bad key]').message).toBe(
      "Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
    expect(causeAt(obj, 'data[logo.png]').message).toBe('Invalid value: "logo.png": duplicate of key present in binaryData');
    expect(causeAt(obj, 'binaryData[logo.png]').reason).toBe('FieldValueInvalid');
  });

  it('checks secret keys, base64 data and the keys its type needs', () => {
    const obj = secret();
    obj.data = { 'tls.crt': 'Y2VydA=', 'bad/key': 'a2V5' };
    expect(causeAt(obj, 'data[tls.crt]').message).toBe('Invalid value: "<value omitted>": must be valid base64 data');
    expect(causeAt(obj, 'data[bad/key]').reason).toBe('FieldValueInvalid');
    expect(causeAt(obj, 'data[tls.key]').message).toBe('Required value');
  });

  it('needs a docker-registry secret to hold a docker config as JSON', () => {
    const obj = secret();
    obj.type = 'kubernetes.io/dockerconfigjson';
    obj.data = { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') };
    expect(causes(obj)).toEqual([]);
    obj.data['.dockerconfigjson'] = Buffer.from('{not json').toString('base64');
    expect(causeAt(obj, 'data[.dockerconfigjson]').message).toMatch(/^Invalid value: "<secret contents redacted>": .*JSON/);
    obj.data['.dockerconfigjson'] = Buffer.from('[1]').toString('base64');
    expect(causeAt(obj, 'data[.dockerconfigjson]').message).toBe('Invalid value: "<secret contents redacted>": must be a JSON object');
    obj.type = 'kubernetes.io/dockercfg';
    obj.data = { '.dockercfg': Buffer.from('"x"').toString('base64') };
    expect(causeAt(obj, 'data[.dockercfg]').reason).toBe('FieldValueInvalid');
    obj.data = {};
    expect(causeAt(obj, 'data[.dockercfg]').message).toBe('Required value');
  });

  it('limits the payload to 1 MiB', () => {
    const obj = fixtures.configMapFixture();
    obj.data = { big: 'x'.repeat(1024 * 1024) };
    expect(causeAt(obj, 'data').reason).toBe('FieldValueTooLong');
  });
});

describe('Node, Namespace, Lease, Event and Endpoints', () => {
  it('checks node CIDRs, taints and capacities', () => {
    const obj = fixtures.nodeFixture();
    obj.spec!.podCIDR = '10.42.0.0/33';
    obj.spec!.taints = [{ key: 'example.com/x', effect: 'Never' as 'NoSchedule' }];
    obj.status!.capacity = { cpu: 'four' };
    expect(causeAt(obj, 'spec.podCIDR').message).toContain('must be a valid CIDR value');
    expect(causeAt(obj, 'spec.taints[0].effect').reason).toBe('FieldValueNotSupported');
    expect(causeAt(obj, 'status.capacity[cpu]').reason).toBe('FieldValueInvalid');
  });

  it('checks namespace finalizers and phase', () => {
    const obj = defaulted(fixtures.namespaceFixture());
    obj.spec!.finalizers = ['not a finalizer'];
    obj.status!.phase = 'Gone' as 'Active';
    expect(causeAt(obj, 'spec.finalizers[0]').reason).toBe('FieldValueInvalid');
    expect(causeAt(obj, 'status.phase').message).toBe('Unsupported value: "Gone": supported values: "Active", "Terminating"');
  });

  it('needs a positive lease duration', () => {
    const obj = fixtures.leaseFixture();
    obj.spec!.leaseDurationSeconds = 0;
    expect(causeAt(obj, 'spec.leaseDurationSeconds').message).toBe('Invalid value: 0: must be greater than 0');
  });

  it('needs the involved object of an event, in the event namespace', () => {
    const obj = fixtures.eventFixture() as KubeObject;
    (obj.involvedObject as Record<string, unknown>).namespace = 'other';
    expect(causeAt(obj, 'involvedObject.namespace').message).toBe('Invalid value: "other": does not match event.namespace');
    delete obj.involvedObject;
    expect(causeAt(obj, 'involvedObject').message).toBe('Required value');
    obj.count = -1;
    expect(causeAt(obj, 'count').reason).toBe('FieldValueInvalid');
  });

  it('checks endpoint addresses and ports', () => {
    const obj = fixtures.endpointsFixture();
    obj.subsets![0].addresses![0].ip = 'pod-1';
    obj.subsets![0].ports![1].port = 0;
    expect(causeAt(obj, 'subsets[0].addresses[0].ip').reason).toBe('FieldValueInvalid');
    expect(causeAt(obj, 'subsets[0].ports[1].port').reason).toBe('FieldValueInvalid');
  });
});

describe('updates', () => {
  it('keeps workload selectors immutable', () => {
    for (const old of [deployment(), replicaSet()]) {
      const obj = structuredClone(old);
      obj.spec!.selector = { matchLabels: { app: 'web', tier: 'front' } };
      expect(rendered(causes(obj, { old }))).toEqual([
        'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"front"}}: field is immutable',
      ]);
      const scaled = structuredClone(old);
      scaled.spec!.replicas = 7;
      expect(causes(scaled, { old })).toEqual([]);
    }
  });

  it('freezes the data of immutable config maps and secrets', () => {
    const old = fixtures.configMapFixture();
    const changed = structuredClone(old);
    changed.data = { MODE: 'dev' };
    expect(causes(changed, { old })).toEqual([]);
    old.immutable = true;
    changed.immutable = true;
    expect(rendered(causes(changed, { old }))).toEqual(['data: Forbidden: field is immutable when `immutable` is set']);
    const unfrozen = structuredClone(old);
    unfrozen.immutable = false;
    expect(causeAt(unfrozen, 'immutable', { old }).reason).toBe('FieldValueForbidden');
    const oldSecret = { ...secret(), immutable: true };
    const newSecret = { ...structuredClone(oldSecret), data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'bmV3' } };
    expect(causeAt(newSecret, 'data', { old: oldSecret }).reason).toBe('FieldValueForbidden');
  });

  it('keeps a service clusterIP once set', () => {
    const old = service();
    const obj = structuredClone(old);
    obj.spec!.clusterIP = '10.43.0.10';
    expect(causes(obj, { old })).toEqual([]);
    old.spec!.clusterIP = '10.43.0.10';
    obj.spec!.clusterIP = '10.43.0.11';
    expect(causeAt(obj, 'spec.clusterIP', { old }).message).toBe('Invalid value: "10.43.0.11": field is immutable');
  });

  it('lets a pod change only images, activeDeadlineSeconds, added tolerations and an unset node', () => {
    const old = pod();
    const obj = structuredClone(old);
    obj.spec!.containers[0].image = 'nginx:1.28';
    obj.spec!.activeDeadlineSeconds = 600;
    obj.spec!.tolerations!.push({ key: 'example.com/spot', operator: 'Exists' });
    expect(causes(obj, { old })).toEqual([]);

    const restarted = structuredClone(old);
    restarted.spec!.restartPolicy = 'Never';
    expect(rendered(causes(restarted, { old }))).toEqual([
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ]);
    const bound = structuredClone(old);
    bound.spec!.nodeName = 'node-1';
    expect(causes(bound, { old })).toEqual([]);
    const moved = structuredClone(bound);
    moved.spec!.nodeName = 'node-2';
    expect(causeAt(moved, 'spec', { old: bound }).reason).toBe('FieldValueForbidden');
    const untolerated = structuredClone(old);
    untolerated.spec!.tolerations = [];
    expect(causeAt(untolerated, 'spec', { old }).reason).toBe('FieldValueForbidden');
  });
});

describe('environment sources', () => {
  it('needs exactly one source and no literal value beside it', () => {
    const obj = pod();
    obj.spec!.containers[0].env = [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'B', valueFrom: {} }];
    expect(causeAt(obj, 'spec.containers[0].env[0].valueFrom').message).toBe(
      'Invalid value: "": may not be specified when `value` is not empty',
    );
    expect(causeAt(obj, 'spec.containers[0].env[1].valueFrom').reason).toBe('FieldValueRequired');
  });
});

describe('status', () => {
  const running = (): Pod => ({
    ...pod(),
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' }],
      hostIP: '192.168.1.10',
      podIP: '',
      startTime: '2026-01-01T00:00:00Z',
      containerStatuses: [
        {
          name: 'web',
          ready: true,
          restartCount: 0,
          image: 'nginx:1.27',
          imageID: 'sha256:abc',
          containerID: 'berth://0123',
          started: true,
          state: { running: { startedAt: '2026-01-01T00:00:01Z' } },
          lastState: {},
        },
      ],
      qosClass: 'Burstable',
    },
  });

  it('accepts what an agent reports, an address not yet assigned included', () => {
    expect(validate(running())).toEqual({ causes: [], unknownFields: [] });
  });

  it('checks reported values', () => {
    const obj = running();
    obj.status!.podIP = '10.42.0.300';
    obj.status!.containerStatuses![0].restartCount = -1;
    obj.status!.conditions![0].status = 'Yes' as 'True';
    expect(causeAt(obj, 'status.podIP').reason).toBe('FieldValueInvalid');
    expect(causeAt(obj, 'status.containerStatuses[0].restartCount').reason).toBe('FieldValueInvalid');
    expect(causeAt(obj, 'status.conditions[0].status').message).toBe(
      'Unsupported value: "Yes": supported values: "True", "False", "Unknown"',
    );
  });
});

describe('keys JavaScript objects inherit are plain data', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty', 'prototype', 'valueOf'])('a ConfigMap, labels and managed fields with the key %s validate like any other', (key) => {
    const configMap = defaulted({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        namespace: 'default',
        labels: { [key]: 'x' },
        annotations: { [key]: 'y' },
        managedFields: [{ manager: 'm', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { [`f:${key}`]: {} }, [key]: {} } }],
      },
      data: { [key]: 'z' },
    } as KubeObject);
    expect(validate(configMap)).toEqual({ causes: [], unknownFields: [] });
    const wrong = { ...configMap, data: { [key]: 1 } } as unknown as KubeObject;
    expect(causes(wrong)).toEqual([expect.objectContaining({ field: `data[${key}]`, reason: 'FieldValueTypeInvalid' })]);
  });
});

describe('downward API, projected volumes and paths inside volumes', () => {
  it('takes env fieldRefs Kubernetes resolves, one label or annotation included, and refuses others', () => {
    const obj = pod();
    const env = (fieldPath: string) => ({ name: 'X', valueFrom: { fieldRef: { fieldPath } } });
    obj.spec!.containers[0].env = ['metadata.uid', 'status.podIP', 'status.hostIPs', 'spec.serviceAccountName', "metadata.labels['app']", "metadata.annotations['example.com/owner']"].map(env);
    expect(causes(defaulted(obj))).toEqual([]);
    obj.spec!.containers[0].env = [env('metadata.labels'), env("spec.nodeName['x']"), env("metadata.labels['bad key']"), env('status.phase')];
    expect(rendered(causes(obj))).toEqual([
      expect.stringMatching(/^spec.containers\[0\].env\[0\].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: "metadata.name", /),
      'spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Invalid value: "spec.nodeName": does not support subscript',
      expect.stringMatching(/^spec.containers\[0\].env\[2\].valueFrom.fieldRef.fieldPath: Invalid value: "bad key": name part must consist of/),
      expect.stringMatching(/^spec.containers\[0\].env\[3\].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase"/),
    ]);
  });

  it('checks resourceFieldRef resources, divisors and container names', () => {
    const obj = pod();
    obj.spec!.containers[0].env = [
      { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi', containerName: 'web' } } },
      { name: 'GPU', valueFrom: { resourceFieldRef: { resource: 'limits.nvidia.com/gpu' } } },
      { name: 'HALF', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '500m' } } },
      { name: 'OTHER', valueFrom: { resourceFieldRef: { resource: 'limits.memory', containerName: 'db' } } },
    ];
    expect(rendered(causes(obj))).toEqual([
      'spec.containers[0].env[4].valueFrom.resourceFieldRef.containerName: Not found: "db"',
      'spec.containers[0].env[2].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.nvidia.com/gpu": supported values: "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"',
      `spec.containers[0].env[3].valueFrom.resourceFieldRef.divisor: Invalid value: "limits.cpu": only divisor's values 1m and 1 are supported with the cpu resource`,
    ]);
  });

  it('checks downwardAPI volume files: a path inside the volume and exactly one source, naming its container', () => {
    const obj = pod();
    obj.spec!.volumes = [
      {
        name: 'info',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'cpu', resourceFieldRef: { containerName: 'web', resource: 'limits.cpu', divisor: '1m' } },
            { path: '../escape', fieldRef: { fieldPath: 'metadata.name' } },
            { path: '/etc/passwd', fieldRef: { fieldPath: 'metadata.name' } },
            { path: '..data', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'both', fieldRef: { fieldPath: 'metadata.name' }, resourceFieldRef: { containerName: 'web', resource: 'limits.cpu' } },
            { path: 'none' },
            { path: 'mem', resourceFieldRef: { resource: 'limits.memory' } as never },
            { path: 'ip', fieldRef: { fieldPath: 'status.podIP' } },
          ],
        },
      },
    ];
    obj.spec!.containers[0].volumeMounts = [];
    expect(rendered(causes(defaulted(obj)))).toEqual([
      'spec.volumes[0].downwardAPI.items[5]: Invalid value: "resource": fieldRef and resourceFieldRef can not be specified simultaneously',
      'spec.volumes[0].downwardAPI.items[6]: Required value: one of fieldRef and resourceFieldRef is required',
      `spec.volumes[0].downwardAPI.items[2].path: Invalid value: "../escape": must not contain '..'`,
      'spec.volumes[0].downwardAPI.items[3].path: Invalid value: "/etc/passwd": must be a relative path',
      `spec.volumes[0].downwardAPI.items[4].path: Invalid value: "..data": must not start with '..'`,
      'spec.volumes[0].downwardAPI.items[7].resourceFieldRef.containerName: Required value',
      expect.stringMatching(/^spec.volumes\[0\].downwardAPI.items\[8\].fieldRef.fieldPath: Unsupported value: "status.podIP": supported values: "metadata.annotations", /),
    ]);
  });

  it('checks projected volumes: one kind per source, names, unique paths, tokens accepted and trust bundles refused', () => {
    const obj = pod();
    obj.spec!.volumes = [
      {
        name: 'all',
        projected: {
          sources: [
            { configMap: { name: 'cm', items: [{ key: 'a', path: 'conf/a' }] } },
            { secret: { name: 's', items: [{ key: 'a', path: 'conf/a' }] } },
            { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] }, configMap: { name: 'cm' } },
            { configMap: {} as { name: string } },
            { serviceAccountToken: { path: 'token' } },
            { clusterTrustBundle: { signerName: 'example.com/x', path: 'ca.pem' } } as never,
            { secret: { name: 's', items: [{ key: 'b', path: '/abs' }] } },
          ],
        },
      },
    ];
    obj.spec!.containers[0].volumeMounts = [];
    expect(rendered(causes(defaulted(obj)))).toEqual([
      'spec.volumes[0].projected.sources[1]: Invalid value: "conf/a": conflicting duplicate paths',
      'spec.volumes[0].projected.sources[2]: Forbidden: may not specify more than 1 volume type',
      'spec.volumes[0].projected.sources[3].configMap.name: Required value',
      'spec.volumes[0].projected.sources[5].clusterTrustBundle: Forbidden: not supported by berth: there are no ClusterTrustBundles',
      'spec.volumes[0].projected.sources[6].secret.items[0].path: Invalid value: "/abs": must be a relative path',
    ]);
  });

  it('keeps configMap and secret item paths inside the volume', () => {
    const obj = pod();
    obj.spec!.volumes![1] = { name: 'config', configMap: { name: 'web-config', items: [{ key: 'a', path: 'x/../../etc' }] } };
    expect(causeAt(obj, 'spec.volumes[1].configMap.items[0].path').message).toBe(`Invalid value: "x/../../etc": must not contain '..'`);
  });

  it('keeps subPath and subPathExpr inside the volume, and allows one of them', () => {
    const obj = pod();
    const mounts = obj.spec!.containers[0].volumeMounts!;
    mounts[0].subPath = '../../etc';
    mounts[1].subPathExpr = '/$(POD_NAME)';
    expect(rendered(causes(obj))).toEqual([
      `spec.containers[0].volumeMounts[0].subPath: Invalid value: "../../etc": must not contain '..'`,
      'spec.containers[0].volumeMounts[1].subPathExpr: Invalid value: "/$(POD_NAME)": must be a relative path',
    ]);
    mounts[0].subPath = 'logs';
    mounts[0].subPathExpr = '$(POD_NAME)';
    mounts[1].subPathExpr = 'a/$(POD_NAME)';
    expect(rendered(causes(obj))).toEqual(['spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(POD_NAME)": subPathExpr and subPath are mutually exclusive']);
  });
});

describe('what berth does not carry out is refused, never stored and ignored', () => {
  const NOT_SUPPORTED = /^Forbidden: not supported by berth: /;
  type Edit = (spec: NonNullable<Pod['spec']>) => void;
  const cases: Array<[string, Edit]> = [
    ['spec.hostPID', (s) => (s.hostPID = true)],
    ['spec.hostIPC', (s) => (s.hostIPC = true)],
    ['spec.shareProcessNamespace', (s) => (s.shareProcessNamespace = true)],
    ['spec.hostUsers', (s) => (s.hostUsers = false)],
    ['spec.runtimeClassName', (s) => (s.runtimeClassName = 'gvisor')],
    ['spec.overhead', (s) => (s.overhead = { cpu: '100m' })],
    ['spec.priorityClassName', (s) => (s.priorityClassName = 'high')],
    ['spec.priority', (s) => (s.priority = 1000)],
    ['spec.os.name', (s) => (s.os = { name: 'windows' })],
    ['spec.volumes[0].emptyDir.sizeLimit', (s) => (s.volumes![0] = { name: 'data', emptyDir: { sizeLimit: '1Gi' } })],
    ['spec.containers[0].volumeMounts[0].mountPropagation', (s) => (s.containers[0].volumeMounts![0].mountPropagation = 'HostToContainer')],
    ['spec.containers[0].resources.limits[nvidia.com/gpu]', (s) => (s.containers[0].resources = { limits: { 'nvidia.com/gpu': '1' } })],
    ['spec.containers[0].resources.requests[ephemeral-storage]', (s) => (s.containers[0].resources = { requests: { 'ephemeral-storage': '1Gi' } })],
    ['spec.initContainers[0].restartPolicy', (s) => (s.initContainers = [{ name: 'proxy', image: 'busybox', restartPolicy: 'Always' }])],
    ['spec.containers[0].securityContext.procMount', (s) => (s.containers[0].securityContext = { procMount: 'Unmasked' })],
    ['spec.containers[0].securityContext.appArmorProfile', (s) => (s.containers[0].securityContext = { appArmorProfile: { type: 'RuntimeDefault' } })],
    ['spec.securityContext.appArmorProfile', (s) => (s.securityContext = { appArmorProfile: { type: 'Localhost', localhostProfile: 'p' } })],
    ['spec.securityContext.seLinuxOptions', (s) => (s.securityContext = { seLinuxOptions: { level: 's0:c123,c456' } })],
    ['spec.containers[0].securityContext.windowsOptions', (s) => (s.containers[0].securityContext = { windowsOptions: { runAsUserName: 'admin' } })],
    ['spec.securityContext.supplementalGroupsPolicy', (s) => (s.securityContext = { supplementalGroupsPolicy: 'Strict' })],
  ];

  it.each(cases)('%s, with 422 naming the field, in a pod and in a Deployment template', (path, edit) => {
    const obj = pod();
    edit(obj.spec!);
    expect(causeAt(obj, path)).toMatchObject({ reason: 'FieldValueForbidden', message: expect.stringMatching(NOT_SUPPORTED) });
    const workload = deployment();
    edit(workload.spec!.template.spec!);
    expect(causeAt(workload, `spec.template.${path}`).message).toMatch(NOT_SUPPORTED);
  });

  it('accepts the values that ask for what berth does', () => {
    const obj = pod();
    Object.assign(obj.spec!, { hostPID: false, hostIPC: false, shareProcessNamespace: false, hostUsers: true, priorityClassName: '', priority: 0, automountServiceAccountToken: false, imagePullSecrets: [{ name: 'registry' }], schedulingGates: [{ name: 'example.com/wait' }], topologySpreadConstraints: [], os: { name: 'linux' } });
    obj.spec!.volumes![0] = { name: 'data', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } };
    obj.spec!.containers[0].volumeMounts![0].mountPropagation = 'None';
    obj.spec!.securityContext = { appArmorProfile: { type: 'Unconfined' }, seLinuxOptions: {}, supplementalGroupsPolicy: 'Merge' };
    obj.spec!.containers[0].securityContext = { procMount: 'Default', windowsOptions: {} };
    expect(causes(defaulted(obj))).toEqual([]);
  });

  it('refuses probes and hooks on init containers, as Kubernetes, and restartPolicy on app containers', () => {
    const obj = pod();
    obj.spec!.initContainers = [{ name: 'setup', image: 'busybox', readinessProbe: { exec: { command: ['true'] } }, lifecycle: { preStop: { sleep: { seconds: 1 } } } }];
    obj.spec!.containers[0].restartPolicy = 'Always';
    expect(rendered(causes(obj))).toEqual([
      'spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
      'spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always',
      'spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers',
    ]);
  });
});

describe('pod affinity and topology spread, validated as Kubernetes validates them', () => {
  const hostname = 'kubernetes.io/hostname';

  it('accepts required and preferred pod (anti-)affinity and spread constraints', () => {
    const obj = pod();
    obj.spec!.affinity = {
      podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } } } }] },
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: hostname, labelSelector: { matchLabels: { app: 'web' } }, namespaces: ['default'] }] },
    };
    obj.spec!.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', minDomains: 2, labelSelector: { matchLabels: { app: 'web' } } },
      { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } },
    ];
    expect(causes(defaulted(obj))).toEqual([]);
  });

  it('requires a topology key and a weight in range, and refuses malformed namespaces', () => {
    const obj = pod();
    obj.spec!.affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ namespaces: ['Not_A_Namespace'] } as never],
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 101, podAffinityTerm: { topologyKey: hostname } }],
      },
    };
    expect(causeAt(obj, 'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey').reason).toBe('FieldValueRequired');
    expect(causeAt(obj, 'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces[0]').reason).toBe('FieldValueInvalid');
    expect(causeAt(obj, 'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight').reason).toBe('FieldValueInvalid');
  });

  it('refuses minDomains without DoNotSchedule and two constraints for one key and action', () => {
    const obj = pod();
    obj.spec!.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', minDomains: 2 },
      { maxSkew: 2, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' },
      { maxSkew: 0, topologyKey: hostname, whenUnsatisfiable: 'DoNotSchedule' },
    ];
    expect(rendered(causes(obj))).toEqual(
      expect.arrayContaining([
        'spec.topologySpreadConstraints[0].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway',
        'spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, ScheduleAnyway}"',
      ]),
    );
    expect(causeAt(obj, 'spec.topologySpreadConstraints[2].maxSkew').reason).toBe('FieldValueInvalid');
  });
});
