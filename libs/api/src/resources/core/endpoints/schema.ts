/** core/v1 Endpoints. */
import { Doc, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { oneOf, portNumber, uniqueBy } from '../../../schema/checks';
import { ObjectReference, TypedObject } from '../../../schema/meta';
import { PROTOCOLS } from '../pod/schema';
import { dns1123LabelErrors, ipErrors, syntax } from '../../../schema/syntax';
import { namedWhenSeveral } from '../service/schema';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class EndpointAddress implements types.EndpointAddress {
  @Field(t.string, required, syntax(ipErrors)) ip!: string;
  @Field(t.string, syntax(dns1123LabelErrors)) hostname?: string;
  @Field(t.string) nodeName?: string;
  @Nested(() => ObjectReference) targetRef?: ObjectReference;
}

export class EndpointPort implements types.EndpointPort {
  @Field(t.string, syntax(dns1123LabelErrors)) name?: string;
  @Field(t.integer, required, portNumber) port!: number;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: types.EndpointPort['protocol'];
  @Field(t.string) appProtocol?: string;
}

export class EndpointSubset implements types.EndpointSubset {
  @NestedList(() => EndpointAddress) addresses?: EndpointAddress[];
  @NestedList(() => EndpointAddress) notReadyAddresses?: EndpointAddress[];
  @NestedList(() => EndpointPort, namedWhenSeveral, uniqueBy('name')) ports?: EndpointPort[];
}

@Doc('The addresses and ports of the pods behind a service, kept by the endpoints controller.')
export class EndpointsObject extends TypedObject implements KindShape<types.Endpoints> {
  @Doc('Groups of addresses that share the same ports.')
  @NestedList(() => EndpointSubset) subsets?: EndpointSubset[];
}

