/** core/v1 Namespace. */
import { Doc, t, Field, Nested, NestedList } from '../../../schema/fields';
import { oneOf } from '../../../schema/checks';
import { Condition, TypedObject } from '../../../schema/meta';
import { eachItem, qualifiedNameErrors } from '../../../schema/syntax';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class NamespaceSpec implements types.NamespaceSpec {
  @Field(t.stringList, eachItem(qualifiedNameErrors)) finalizers?: string[];
}

export class NamespaceStatus implements types.NamespaceStatus {
  @Field(t.string, oneOf(['Active', 'Terminating'])) phase?: types.NamespaceStatus['phase'];
  @NestedList(() => Condition) conditions?: Condition[];
}

@Doc('A scope for names: most objects live in a namespace, and deleting it deletes them.')
export class NamespaceObject extends TypedObject implements KindShape<types.Namespace> {
  @Doc('The finalizers the namespace waits for before it goes.')
  @Nested(() => NamespaceSpec) spec?: NamespaceSpec;
  @Doc('Whether the namespace is Active or Terminating.')
  @Nested(() => NamespaceStatus) status?: NamespaceStatus;
}
