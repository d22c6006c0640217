/** What Kubernetes defaults in a pod spec (SetDefaults_PodSpec, _Container, _Probe, volume sources). */
import type { Obj } from '../../defaulting';
import { child, isObj, objects, quantitiesAsStrings, setDefault, setDefaultCount } from '../../defaulting';

/** Kubernetes pulls `:latest` and untagged images every time, anything pinned only when missing. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultHandler(handler: Obj): void {
  if (isObj(handler.httpGet)) {
    setDefault(handler.httpGet, 'path', '/');
    setDefault(handler.httpGet, 'scheme', 'HTTP');
  }
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  defaultHandler(probe);
  setDefaultCount(probe, 'timeoutSeconds', 1);
  setDefaultCount(probe, 'periodSeconds', 10);
  setDefaultCount(probe, 'successThreshold', 1);
  setDefaultCount(probe, 'failureThreshold', 3);
}

function defaultFieldRef(source: unknown): void {
  if (isObj(source) && isObj(source.fieldRef)) setDefault(source.fieldRef, 'apiVersion', 'v1');
}
function defaultContainer(container: Obj): void {
  if (typeof container.image === 'string') setDefault(container, 'imagePullPolicy', defaultPullPolicy(container.image));
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  for (const port of objects(container.ports)) setDefault(port, 'protocol', 'TCP');
  for (const env of objects(container.env)) defaultFieldRef(env.valueFrom);
  // Kubernetes requests what a container is limited to unless told otherwise.
  const resources = container.resources;
  if (isObj(resources)) {
    quantitiesAsStrings(resources.limits);
    quantitiesAsStrings(resources.requests);
  }
  if (isObj(resources) && isObj(resources.limits)) {
    if (resources.requests === undefined || resources.requests === null) resources.requests = {};
    if (isObj(resources.requests)) {
      for (const [name, limit] of Object.entries(resources.limits)) setDefault(resources.requests, name, limit);
    }
  }
  defaultProbe(container.livenessProbe);
  defaultProbe(container.readinessProbe);
  defaultProbe(container.startupProbe);
  if (isObj(container.lifecycle)) {
    for (const hook of [container.lifecycle.postStart, container.lifecycle.preStop]) if (isObj(hook)) defaultHandler(hook);
  }
}

const DEFAULT_FILE_MODE = 0o644;

function defaultVolume(volume: Obj): void {
  if (isObj(volume.configMap)) setDefault(volume.configMap, 'defaultMode', DEFAULT_FILE_MODE);
  if (isObj(volume.secret)) setDefault(volume.secret, 'defaultMode', DEFAULT_FILE_MODE);
  if (isObj(volume.downwardAPI)) {
    setDefault(volume.downwardAPI, 'defaultMode', DEFAULT_FILE_MODE);
    for (const item of objects(volume.downwardAPI.items)) defaultFieldRef(item);
  }
  if (isObj(volume.projected)) {
    setDefault(volume.projected, 'defaultMode', DEFAULT_FILE_MODE);
    for (const source of objects(volume.projected.sources)) {
      if (isObj(source.downwardAPI)) for (const item of objects(source.downwardAPI.items)) defaultFieldRef(item);
    }
  }
  if (isObj(volume.hostPath)) setDefault(volume.hostPath, 'type', '');
}

export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'enableServiceLinks', true);
  for (const container of [...objects(spec.initContainers), ...objects(spec.containers)]) defaultContainer(container);
  for (const volume of objects(spec.volumes)) defaultVolume(volume);
}

export function defaultPodTemplate(workloadSpec: Obj): void {
  const template = workloadSpec.template;
  if (isObj(template) && isObj(template.spec)) defaultPodSpec(template.spec);
}

export function defaultPod(pod: Obj): void {
  const spec = child(pod, 'spec');
  if (spec) defaultPodSpec(spec);
}
