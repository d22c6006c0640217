import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { objects, setDefault } from '../../defaulting';
import { immutableField } from '../../immutable';
import { EndpointSliceObject } from './schema';
import type { EndpointSlice } from './types';

export type * from './types';

/** At most three entries, then `+ N more...`; `<unset>` for none (Kubernetes' listWithMoreString). */
function listWithMore(items: string[]): string {
  const max = 3;
  const shown = items.slice(0, max).join(',');
  if (items.length > max) return `${shown} + ${items.length - max} more...`;
  return shown || '<unset>';
}

function printEndpointSlice(obj: KubeObject, now: Date): unknown[] {
  const slice = view<EndpointSlice>(obj);
  const ports = (Array.isArray(slice.ports) ? slice.ports : []).map((p) => (p.port !== undefined ? String(p.port) : p.name || '*'));
  const addresses = (Array.isArray(slice.endpoints) ? slice.endpoints : []).flatMap((e) => (Array.isArray(e.addresses) ? e.addresses : []));
  return [obj.metadata.name, slice.addressType ?? '', listWithMore(ports), listWithMore(addresses), humanAge(obj.metadata.creationTimestamp, now)];
}

export const endpointSliceResource = defineResource<EndpointSlice>({
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  schema: EndpointSliceObject,
  defaults: (slice) => {
    for (const port of objects(slice.ports)) setDefault(port, 'protocol', 'TCP');
  },
  table: table(
    [
      NAME,
      ['AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation.'],
      ['Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'],
      ['Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'],
      AGE,
    ],
    printEndpointSlice,
  ),
  strategy: {
    validateUpdate: (next, old) => (next.addressType === old.addressType ? [] : [immutableField('addressType', next.addressType)]),
  },
});
