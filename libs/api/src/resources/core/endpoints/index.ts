import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { objects, setDefault } from '../../defaulting';
import { EndpointsObject } from './schema';
import type { Endpoints } from './types';

export type * from './types';

interface EndpointsView {
  subsets?: { addresses?: { ip: string }[]; ports?: { port: number }[] }[];
}
/** `10.0.0.1:80,10.0.0.2:80 + 3 more...`: at most three addresses, each with every port of its subset. */
function formatEndpoints(endpoints: EndpointsView): string {
  const subsets = endpoints.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const shown: string[] = [];
  const limit = 3;
  let count = 0;
  const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const subset of subsets) {
    const addresses = subset.addresses ?? [];
    // Headless services may have no ports: then the bare addresses are listed.
    const targets = subset.ports?.length ? subset.ports.map((p) => (ip: string) => hostPort(ip, p.port)) : [(ip: string) => ip];
    for (const target of targets) {
      count += addresses.length;
      for (const address of addresses) {
        if (shown.length === limit) break;
        shown.push(target(address.ip));
      }
    }
  }
  const text = shown.join(',');
  return count > limit ? `${text} + ${count - limit} more...` : text;
}

export const endpointsResource = defineResource<Endpoints>({
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  shortNames: ['ep'],
  schema: EndpointsObject,
  defaults: (endpoints) => {
    for (const subset of objects(endpoints.subsets)) {
      for (const port of objects(subset.ports)) setDefault(port, 'protocol', 'TCP');
    }
  },
  table: table([NAME, ['Endpoints', 'string', 'The set of addresses and ports that comprise the service.'], AGE], (obj, now) => [
    obj.metadata.name,
    formatEndpoints(view<EndpointsView>(obj)),
    humanAge(obj.metadata.creationTimestamp, now),
  ]),
});
