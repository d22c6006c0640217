import { openApiSchemas, ResourceType, RESOURCES, Subresource } from '@berth/api';
import { createHash } from 'node:crypto';
import { METRICS_GROUP, METRICS_RESOURCES, METRICS_VERSION } from './node-metrics';

/** The Kubernetes minor version kubectl's dispatcher must see to pick its embedded v1.32 client. */
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-berth' };

export const AGGREGATED_DISCOVERY_VERSIONS = ['v2', 'v2beta1'];

export function aggregatedContentType(version: string): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

interface GroupVersion {
  group: string;
  version: string;
  resources: ResourceType[];
}

/** Group versions in registry order; the core group first. */
function groupVersions(): GroupVersion[] {
  const out: GroupVersion[] = [];
  for (const r of RESOURCES) {
    let gv = out.find((g) => g.group === r.group && g.version === r.version);
    if (!gv) out.push((gv = { group: r.group, version: r.version, resources: [] }));
    gv.resources.push(r);
  }
  return out;
}

/** The group versions by group, groups in the order they first appear. */
function groupsOf(versions: GroupVersion[]): [string, GroupVersion[]][] {
  const groups = new Map<string, GroupVersion[]>();
  for (const gv of versions) groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv]);
  return [...groups];
}

export function findGroupVersion(group: string, version: string): boolean {
  return RESOURCES.some((r) => r.group === group && r.version === version) || (group === METRICS_GROUP && version === METRICS_VERSION);
}

/** metrics.k8s.io (served from the nodes' stats, not the store), in aggregated discovery. */
function metricsDiscoveryItem() {
  return {
    metadata: { name: METRICS_GROUP },
    versions: [
      {
        version: METRICS_VERSION,
        resources: METRICS_RESOURCES.map((r) => ({
          resource: r.plural,
          responseKind: { group: METRICS_GROUP, version: METRICS_VERSION, kind: r.kind },
          scope: r.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: r.singular,
          verbs: r.verbs,
        })),
        freshness: 'Current',
      },
    ],
  };
}

/** What each subresource answers with and which verbs it takes. */
function subresourceInfo(r: ResourceType, sub: Subresource): { group: string; version: string; kind: string; verbs: string[] } {
  switch (sub) {
    case 'status':
      return { group: r.group, version: r.version, kind: r.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'binding':
      return { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] };
    case 'log':
      return { group: '', version: 'v1', kind: 'Pod', verbs: ['get'] };
    case 'exec':
      return { group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'eviction':
      return { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    case 'top':
      // berth's own: the container's processes as its node sees them (docker top), a PodProcessList.
      return { group: '', version: 'v1', kind: 'PodProcessList', verbs: ['get'] };
  }
}

function aggregatedResource(r: ResourceType) {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(r.subresources.length
      ? {
          subresources: r.subresources.map((sub) => {
            const info = subresourceInfo(r, sub);
            return { subresource: sub, responseKind: { group: info.group, version: info.version, kind: info.kind }, verbs: info.verbs };
          }),
        }
      : {}),
  };
}

/** APIGroupDiscoveryList for `/api` (core) or `/apis` (named groups). */
export function aggregatedDiscovery(core: boolean, version: string) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    // One item per group, its versions in registry order (the first is the preferred one, as clients read it).
    items: [
      ...groupsOf(groupVersions().filter((gv) => (gv.group === '') === core)).map(([group, versions]) => ({
        metadata: group ? { name: group } : {},
        versions: versions.map((gv) => ({ version: gv.version, resources: gv.resources.map(aggregatedResource), freshness: 'Current' })),
      })),
      ...(core ? [] : [metricsDiscoveryItem()]),
    ],
  };
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string) {
  const versions =
    group === METRICS_GROUP
      ? [{ groupVersion: `${group}/${METRICS_VERSION}`, version: METRICS_VERSION }]
      : groupVersions()
          .filter((gv) => gv.group === group)
          .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** The APIGroup document of `/apis/<group>`, if we serve the group. */
export function findGroup(group: string) {
  const served = group === METRICS_GROUP || (group !== '' && RESOURCES.some((r) => r.group === group));
  return served ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) } : undefined;
}

export function apiGroupList() {
  const groups = [...new Set(RESOURCES.map((r) => r.group).filter((g) => g !== '')), METRICS_GROUP];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
}

/** The legacy APIResourceList of one group version. */
export function apiResourceList(group: string, version: string) {
  if (group === METRICS_GROUP) {
    const resources = METRICS_RESOURCES.map((r) => ({ name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs }));
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources };
  }
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version).flatMap((r) => [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    },
    ...r.subresources.map((sub) => {
      const info = subresourceInfo(r, sub);
      return {
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(info.group !== r.group || info.version !== r.version ? { group: info.group, version: info.version } : {}),
        kind: info.kind,
        verbs: info.verbs,
      };
    }),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const openApiDocuments = new Map<string, object>();

/**
 * The OpenAPI v3 document of one group version: a patch operation per kind and the kinds' schemas
 * (generated from their folders' validation schemas, which `kubectl explain` reads). kubectl validates
 * nothing itself when every kind has a patch operation that takes `fieldValidation`: it leaves the checks
 * to the server. Built once per group version: the kinds do not change while the server runs.
 */
export function openApiDocument(group: string, version: string): object {
  const key = `${group}/${version}`;
  let document = openApiDocuments.get(key);
  if (!document) openApiDocuments.set(key, (document = buildOpenApiDocument(group, version)));
  return document;
}

function buildOpenApiDocument(group: string, version: string) {
  const paths: Record<string, unknown> = {};
  const served = RESOURCES.filter((t) => t.group === group && t.version === version);
  for (const r of served) {
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
    paths[base] = {
      patch: {
        description: `partially update the specified ${r.kind}`,
        operationId: `patch${r.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          ...(r.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] : []),
          { name: 'dryRun', in: 'query', schema: { type: 'string' } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
          {
            name: 'fieldValidation',
            in: 'query',
            description: 'Ignore, Warn or Strict: what the server does with unknown or duplicate fields.',
            schema: { type: 'string' },
          },
          { name: 'force', in: 'query', schema: { type: 'boolean' } },
        ],
        responses: { '200': { description: 'OK' }, '201': { description: 'Created' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion },
    paths,
    components: { schemas: openApiSchemas(served) },
  };
}

function hashOf(value: unknown): string {
  return createHash('sha512').update(JSON.stringify(value)).digest('hex').slice(0, 64).toUpperCase();
}

export function openApiIndex() {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions()) {
    const path = gvPath(gv.group, gv.version);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(openApiDocument(gv.group, gv.version))}` };
  }
  return { paths };
}

/**
 * OpenAPI v2, with no definitions. kubectl asks for it only to check what the v3 documents cannot vouch
 * for: a `kind: List` (what `kubectl get -o yaml` prints) has no v3 entry, and without a v2 document
 * `kubectl apply -f` of it fails. A document that lacks a kind makes kubectl skip its own check of that kind,
 * so each item is sent with fieldValidation=Strict and checked here, as every other object is.
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** The answer's type, as kube-openapi writes it: Go's mime parser refuses the `@` that clients ask with. */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

export function openApiV2Document() {
  return { swagger: '2.0', info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion }, paths: {} };
}

/** openApiV2Document's swagger and paths as gnostic's openapi_v2.Document message (swagger = 1, paths = 8), which kubectl asks for. */
export function openApiV2Protobuf(): Buffer {
  const swagger = Buffer.from(openApiV2Document().swagger, 'utf8');
  return Buffer.concat([Buffer.from([(1 << 3) | 2, swagger.length]), swagger, Buffer.from([(8 << 3) | 2, 0])]);
}
