/** How a pod's fields merge (strategic merge patch keys, server-side apply list keys). */
import { CONDITIONS, LABEL_SELECTOR, OBJECT_META, ATOMIC, keyedList, portList, struct } from '../../merge';

const container = struct({
  ports: portList('containerPort'),
  env: keyedList('name'),
  volumeMounts: keyedList('mountPath'),
  volumeDevices: keyedList('devicePath'),
  resources: struct({ claims: keyedList('name') }),
});

export const podSpecMerge = struct({
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

export const podStatusMerge = struct({
  conditions: CONDITIONS,
  podIPs: keyedList('ip'),
  hostIPs: keyedList('ip'),
});

/** A workload's pod template (spec.template of a Deployment, ReplicaSet, Job, ...). */
export const podTemplateMerge = struct({ metadata: OBJECT_META, spec: podSpecMerge });
