/** discovery.k8s.io/v1 EndpointSlice. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { isPlainObject, problem, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { oneOf, portNumber } from '../../../schema/checks';
import { ObjectReference, TypedObject } from '../../../schema/meta';
import { dns1123LabelErrors, dns1123SubdomainErrors, isIP, isIPv4, syntax } from '../../../schema/syntax';
import { PROTOCOLS } from '../../core/pod/schema';
import type { KindShape } from '../../definition';
import type * as types from './types';

const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 100;
const MAX_ADDRESSES = 100;

/** Kubernetes' field.TooMany. */
function atMost(max: number): Check<unknown[]> {
  return (list) =>
    list.length > max ? { reason: 'FieldValueTooMany', message: `Too many: ${list.length}: must have at most ${max} items` } : undefined;
}

/** An unnamed port of the Service is an empty name, as Kubernetes writes it. */
const emptyOrLabel: Check<string> = (value, owner) => (value === '' ? undefined : syntax(dns1123LabelErrors)(value, owner));

export class EndpointConditions implements types.EndpointConditions {
  @Field(t.boolean) ready?: boolean;
  @Field(t.boolean) serving?: boolean;
  @Field(t.boolean) terminating?: boolean;
}

export class ForZone {
  @Field(t.string, required) name!: string;
}

export class EndpointHints implements types.EndpointHints {
  @NestedList(() => ForZone) forZones?: ForZone[];
}

export class Endpoint implements types.Endpoint {
  @Field(t.stringList, required, atMost(MAX_ADDRESSES)) addresses!: string[];
  @Nested(() => EndpointConditions) conditions?: EndpointConditions;
  @Field(t.string, syntax(dns1123LabelErrors)) hostname?: string;
  @Nested(() => ObjectReference) targetRef?: ObjectReference;
  @Field(t.string, syntax(dns1123SubdomainErrors)) nodeName?: string;
  @Field(t.string) zone?: string;
  @Nested(() => EndpointHints) hints?: EndpointHints;
}

export class EndpointSlicePort implements types.EndpointSlicePort {
  @Field(t.string, emptyOrLabel) name?: string;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: types.EndpointSlicePort['protocol'];
  @Field(t.integer, portNumber) port?: number;
  @Field(t.string) appProtocol?: string;
}

/** IPv4 and IPv6 slices list IPs; FQDN slices list host names. */
const addressesOfType: Check<Record<string, unknown>[]> = (endpoints, slice) =>
  endpoints.flatMap((endpoint, i) => {
    if (!isPlainObject(endpoint) || !Array.isArray(endpoint.addresses)) return [];
    return endpoint.addresses.flatMap((address, j) => {
      if (typeof address !== 'string') return [];
      const ok =
        slice.addressType === 'IPv4'
          ? isIPv4(address)
          : slice.addressType === 'IPv6'
            ? isIP(address) && !isIPv4(address)
            : dns1123SubdomainErrors(address).length === 0;
      return ok ? [] : [problem(field.invalid('', address, `must be a valid ${String(slice.addressType)} address`), `[${i}].addresses[${j}]`)];
    });
  });

export class EndpointSliceObject extends TypedObject implements KindShape<types.EndpointSlice> {
  @Field(t.string, required, oneOf(['IPv4', 'IPv6', 'FQDN'])) addressType!: types.AddressType;
  /** Required on the wire but may be empty (a Service without pods), so not `required` here. */
  @NestedList(() => Endpoint, atMost(MAX_ENDPOINTS), addressesOfType) endpoints!: Endpoint[];
  @NestedList(() => EndpointSlicePort, atMost(MAX_PORTS)) ports?: EndpointSlicePort[];
}
