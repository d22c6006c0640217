import type { Service } from '@berth/api';

/** Services whose variables every pod gets, enableServiceLinks or not (kubelet's master services). */
const API_SERVICES = new Set(['kubernetes']);

const variableName = (name: string) => name.toUpperCase().replaceAll('-', '_');

function hasClusterIP(service: Service): boolean {
  const ip = service.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/** `<NAME>_SERVICE_HOST`, `_SERVICE_PORT[_<PORT NAME>]` and Docker's link variables, as kubelet's envvars.FromServices. */
function variablesOf(service: Service, into: Map<string, string>): void {
  const prefix = variableName(service.metadata.name ?? '');
  const ip = service.spec!.clusterIP!;
  const ports = service.spec?.ports ?? [];
  into.set(`${prefix}_SERVICE_HOST`, ip);
  if (ports[0]) into.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
  for (const port of ports) if (port.name) into.set(`${prefix}_SERVICE_PORT_${variableName(port.name)}`, String(port.port));
  const host = ip.includes(':') ? `[${ip}]` : ip;
  ports.forEach((port, i) => {
    const protocol = (port.protocol ?? 'TCP').toLowerCase();
    const url = `${protocol}://${host}:${port.port}`;
    if (i === 0) into.set(`${prefix}_PORT`, url);
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    into.set(portPrefix, url);
    into.set(`${portPrefix}_PROTO`, protocol);
    into.set(`${portPrefix}_PORT`, String(port.port));
    into.set(`${portPrefix}_ADDR`, ip);
  });
}

/**
 * The environment a pod's containers get from Services, as kubelet's getServiceEnvVarMap: with
 * enableServiceLinks (the default), every Service of the pod's namespace that has a cluster IP; always,
 * the API server's `kubernetes` Service of the default namespace. Variables the container sets win.
 */
export function serviceEnvironment(services: readonly Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const service of services) {
    const name = service.metadata.name ?? '';
    if (!hasClusterIP(service)) continue;
    const serviceNamespace = service.metadata.namespace ?? 'default';
    if (serviceNamespace === 'default' && API_SERVICES.has(name)) {
      if (!chosen.has(name)) chosen.set(name, service);
    } else if (serviceNamespace === namespace && enableServiceLinks) {
      chosen.set(name, service);
    }
  }
  const env = new Map<string, string>();
  for (const name of [...chosen.keys()].sort()) variablesOf(chosen.get(name)!, env);
  return env;
}
