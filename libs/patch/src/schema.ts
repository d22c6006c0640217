import type { ResourceType } from '@berth/api';

/**
 * How a field merges, per field path of the served kinds, from the patchStrategy/patchMergeKey and
 * listType/listMapKey/mapType/structType tags of k8s.io/api. Strategic merge patch uses `mergeKey`;
 * server-side apply keys list items by all of `keys`. Fields without an entry are granular maps
 * (objects) or atomic lists (arrays), which is what Kubernetes does for untagged fields.
 */
export interface FieldSchema {
  fields?: Record<string, FieldSchema>;
  list?: ListSchema;
  /** An atomic map or struct (mapType/structType=atomic): owned and applied as a whole by server-side apply. */
  atomic?: boolean;
}

export type ListSchema =
  /** A list of objects merged item by item (`listType=map`). */
  | {
      type: 'map';
      mergeKey: string;
      keys: string[];
      item: FieldSchema;
      /** Key fields that default when absent (a port's protocol), so `{containerPort: 80}` is the TCP item. */
      keyDefaults?: Record<string, unknown>;
    }
  /** A list of scalars merged as a set (`listType=set` + patchStrategy merge). */
  | { type: 'set' };

export const EMPTY_SCHEMA: FieldSchema = {};

function struct(fields: Record<string, FieldSchema>, extra: Omit<FieldSchema, 'fields'> = {}): FieldSchema {
  return { fields, ...extra };
}

function keyedList(
  mergeKey: string,
  item: FieldSchema = EMPTY_SCHEMA,
  keys: string[] = [mergeKey],
  keyDefaults?: Record<string, unknown>,
): FieldSchema {
  return { list: { type: 'map', mergeKey, keys, item, ...(keyDefaults ? { keyDefaults } : {}) } };
}

/** Ports are keyed by number and protocol; protocol defaults to TCP. */
function portList(numberField: string): FieldSchema {
  return keyedList(numberField, EMPTY_SCHEMA, [numberField, 'protocol'], { protocol: 'TCP' });
}

const ATOMIC: FieldSchema = { atomic: true };
const SET: FieldSchema = { list: { type: 'set' } };
const CONDITIONS = keyedList('type');
const LABEL_SELECTOR = ATOMIC;

const objectMeta = struct({
  ownerReferences: keyedList('uid'),
  finalizers: SET,
});

const container = struct({
  ports: portList('containerPort'),
  env: keyedList('name'),
  volumeMounts: keyedList('mountPath'),
  volumeDevices: keyedList('devicePath'),
  resources: struct({ claims: keyedList('name') }),
});

const podSpec = struct({
  volumes: keyedList('name'),
  initContainers: keyedList('name', container),
  containers: keyedList('name', container),
  ephemeralContainers: keyedList('name', container),
  nodeSelector: ATOMIC,
  imagePullSecrets: keyedList('name'),
  hostAliases: keyedList('ip'),
  topologySpreadConstraints: keyedList('topologyKey', struct({ labelSelector: LABEL_SELECTOR }), ['topologyKey', 'whenUnsatisfiable']),
  schedulingGates: keyedList('name'),
  resourceClaims: keyedList('name'),
});

const podStatus = struct({
  conditions: CONDITIONS,
  podIPs: keyedList('ip'),
  hostIPs: keyedList('ip'),
});

const podTemplate = struct({ metadata: objectMeta, spec: podSpec });

function kind(fields: Record<string, FieldSchema>): FieldSchema {
  return struct({ metadata: objectMeta, ...fields });
}

const SCHEMAS: Record<string, FieldSchema> = {
  'v1/Pod': kind({ spec: podSpec, status: podStatus }),
  'v1/Namespace': kind({ status: struct({ conditions: CONDITIONS }) }),
  'v1/Node': kind({
    spec: struct({ podCIDRs: SET }),
    status: struct({ conditions: CONDITIONS, addresses: keyedList('type') }),
  }),
  'v1/Service': kind({
    spec: struct({
      ports: portList('port'),
      selector: ATOMIC,
    }),
    status: struct({ conditions: CONDITIONS }),
  }),
  'apps/v1/Deployment': kind({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplate, }),
    status: struct({ conditions: CONDITIONS }),
  }),
  'apps/v1/ReplicaSet': kind({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplate }),
    status: struct({ conditions: CONDITIONS }),
  }),
  'apps/v1/StatefulSet': kind({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplate }),
    status: struct({ conditions: CONDITIONS }),
  }),
  'v1/PersistentVolumeClaim': kind({
    spec: struct({ selector: LABEL_SELECTOR }),
    status: struct({ conditions: CONDITIONS }),
  }),
  'apps/v1/DaemonSet': kind({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplate }),
    status: struct({ conditions: CONDITIONS }),
  }),
};

const GENERIC = kind({});

/** The merge schema of a served kind; kinds without tagged fields only have metadata's. */
export function schemaFor(type: ResourceType): FieldSchema {
  const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
  return SCHEMAS[`${apiVersion}/${type.kind}`] ?? GENERIC;
}

/** A field's schema; a name the schema does not declare (`constructor` too) merges by default. */
export function fieldSchema(schema: FieldSchema, name: string): FieldSchema {
  const fields = schema.fields;
  return fields && Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : EMPTY_SCHEMA;
}
