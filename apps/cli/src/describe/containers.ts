import { fields, Fields, list, str, strings, timestamp, writeTable } from './format';
import type { DescribeWriter } from './writer';

function portText(port: Fields, key: 'containerPort' | 'hostPort'): string {
  return `${str(port[key], '0')}/${str(port.protocol, 'TCP')}`;
}

function writePorts(w: DescribeWriter, indent: number, ports: Fields[]): void {
  if (ports.length === 0) {
    w.line(indent, 'Port:', '<none>');
    w.line(indent, 'Host Port:', '<none>');
  } else if (ports.length === 1) {
    w.line(indent, 'Port:', portText(ports[0], 'containerPort'));
    w.line(indent, 'Host Port:', portText(ports[0], 'hostPort'));
  } else {
    w.line(indent, 'Ports:', ports.map((p) => portText(p, 'containerPort')).join(', '));
    w.line(indent, 'Host Ports:', ports.map((p) => portText(p, 'hostPort')).join(', '));
  }
}

function writeList(w: DescribeWriter, indent: number, title: string, values: string[]): void {
  if (values.length === 0) return;
  w.line(indent, title);
  for (const value of values) w.text(indent + 2, value);
}

function writeResources(w: DescribeWriter, indent: number, resources: Fields): void {
  for (const [title, key] of [['Limits:', 'limits'], ['Requests:', 'requests']] as const) {
    const amounts = fields(resources[key]);
    const names = Object.keys(amounts).sort();
    if (names.length === 0) continue;
    w.line(indent, title);
    for (const name of names) w.line(indent + 2, `${name}:`, str(amounts[name]));
  }
}

function envSource(env: Fields): string {
  const from = fields(env.valueFrom);
  const configMap = fields(from.configMapKeyRef);
  if (configMap.key) return `<set to the key '${str(configMap.key)}' of config map '${str(configMap.name)}'>`;
  const secret = fields(from.secretKeyRef);
  if (secret.key) return `<set to the key '${str(secret.key)}' in secret '${str(secret.name)}'>`;
  const field = fields(from.fieldRef);
  if (field.fieldPath) return `(${str(field.apiVersion, 'v1')}:${str(field.fieldPath)})`;
  return str(env.value);
}

function writeEnvironment(w: DescribeWriter, indent: number, container: Fields): void {
  const env = list(container.env);
  const envFrom = list(container.envFrom);
  if (env.length === 0 && envFrom.length === 0) {
    w.line(indent, 'Environment:', '<none>');
    return;
  }
  if (envFrom.length > 0) {
    w.line(indent, 'Environment Variables from:');
    for (const source of envFrom) {
      const configMap = fields(source.configMapRef);
      const secret = fields(source.secretRef);
      const [name, what] = configMap.name ? [configMap.name, 'ConfigMap'] : [secret.name, 'Secret'];
      w.line(indent + 2, str(name), `${what}${source.prefix ? ` with prefix '${str(source.prefix)}'` : ''}`);
    }
  }
  if (env.length > 0) {
    w.line(indent, 'Environment:');
    for (const variable of env) w.line(indent + 2, `${str(variable.name)}:`, envSource(variable));
  }
}

function writeMounts(w: DescribeWriter, indent: number, container: Fields): void {
  const mounts = list(container.volumeMounts);
  if (mounts.length === 0) {
    w.line(indent, 'Mounts:', '<none>');
    return;
  }
  w.line(indent, 'Mounts:');
  for (const mount of mounts) {
    const sub = mount.subPath ? ` (path "${str(mount.subPath)}")` : '';
    w.line(indent + 2, `${str(mount.mountPath)} from ${str(mount.name)}${sub} (${mount.readOnly ? 'ro' : 'rw'})`);
  }
}

function writeState(w: DescribeWriter, indent: number, title: string, state: Fields): void {
  const [kind] = Object.keys(state);
  if (!kind) {
    w.line(indent, title, 'Waiting');
    return;
  }
  const detail = fields(state[kind]);
  w.line(indent, title, kind[0].toUpperCase() + kind.slice(1));
  if (detail.reason) w.line(indent + 2, 'Reason:', str(detail.reason));
  if (detail.message) w.line(indent + 2, 'Message:', str(detail.message));
  if (kind === 'terminated') w.line(indent + 2, 'Exit Code:', str(detail.exitCode, '0'));
  if (detail.startedAt) w.line(indent + 2, 'Started:', timestamp(detail.startedAt));
  if (detail.finishedAt) w.line(indent + 2, 'Finished:', timestamp(detail.finishedAt));
}

/** kubectl prints the details of a container or volume at this indent, in pods and in pod templates alike. */
const DETAIL_INDENT = 4;

/**
 * The `Containers:` section of a pod or pod template. `nameIndent` differs (2 for pods, 3 in
 * templates) because kubectl prints them so; statuses are given for pods only.
 */
export function writeContainers(w: DescribeWriter, title: string, indent: number, nameIndent: number, containers: Fields[], statuses?: Fields[]): void {
  if (containers.length === 0) return;
  w.line(indent, title);
  const fieldIndent = DETAIL_INDENT;
  for (const container of containers) {
    // A container the node has not reported on yet has no runtime details to show.
    const status = statuses?.find((s) => s.name === container.name);
    w.line(nameIndent, `${str(container.name)}:`);
    if (status) w.line(fieldIndent, 'Container ID:', str(status.containerID));
    w.line(fieldIndent, 'Image:', str(container.image));
    if (status) w.line(fieldIndent, 'Image ID:', str(status.imageID));
    writePorts(w, fieldIndent, list(container.ports));
    writeList(w, fieldIndent, 'Command:', strings(container.command));
    writeList(w, fieldIndent, 'Args:', strings(container.args));
    if (status) {
      writeState(w, fieldIndent, 'State:', fields(status.state));
      const last = fields(status.lastState);
      if (Object.keys(last).length > 0) writeState(w, fieldIndent, 'Last State:', last);
      w.line(fieldIndent, 'Ready:', status.ready === true ? 'True' : 'False');
      w.line(fieldIndent, 'Restart Count:', str(status.restartCount, '0'));
    }
    writeResources(w, fieldIndent, fields(container.resources));
    writeEnvironment(w, fieldIndent, container);
    writeMounts(w, fieldIndent, container);
  }
}

const VOLUME_TYPES: [string, string, (source: Fields) => [string, string][]][] = [
  ['emptyDir', 'EmptyDir (a temporary directory that shares a pod\'s lifetime)', (s) => [['Medium:', str(s.medium)], ['SizeLimit:', str(s.sizeLimit, '<unset>')]]],
  ['hostPath', 'HostPath (bare host directory volume)', (s) => [['Path:', str(s.path)], ['HostPathType:', str(s.type)]]],
  ['configMap', 'ConfigMap (a volume populated by a ConfigMap)', (s) => [['Name:', str(s.name)], ['Optional:', str(s.optional, 'false')]]],
  ['secret', 'Secret (a volume populated by a Secret)', (s) => [['SecretName:', str(s.secretName)], ['Optional:', str(s.optional, 'false')]]],
  ['persistentVolumeClaim', 'PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)', (s) => [['ClaimName:', str(s.claimName)], ['ReadOnly:', str(s.readOnly, 'false')]]],
];

export function writeVolumes(w: DescribeWriter, indent: number, nameIndent: number, volumes: Fields[]): void {
  if (volumes.length === 0) {
    w.line(indent, 'Volumes:', '<none>');
    return;
  }
  w.line(indent, 'Volumes:');
  for (const volume of volumes) {
    w.line(nameIndent, `${str(volume.name)}:`);
    const known = VOLUME_TYPES.find(([key]) => volume[key] !== undefined);
    if (!known) {
      w.line(DETAIL_INDENT, 'Type:', '<unknown>');
      continue;
    }
    const [key, description, details] = known;
    w.line(DETAIL_INDENT, 'Type:', description);
    for (const [label, value] of details(fields(volume[key]))) w.line(DETAIL_INDENT, label, value);
  }
}

/** `Conditions:` as a Type/Status table with the given extra columns; kubectl underlines all but a pod's. */
export function writeConditions(w: DescribeWriter, conditions: Fields[], extra: string[] = [], underline = true): void {
  const keys = extra.map((column) => column[0].toLowerCase() + column.slice(1));
  const rows = conditions.map((c) => [str(c.type), str(c.status), ...keys.map((key) => str(c[key]))]);
  writeTable(w, 0, 'Conditions:', ['Type', 'Status', ...extra], rows, underline ? undefined : false);
}
