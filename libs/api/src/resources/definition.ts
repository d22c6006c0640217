/**
 * What a served kind is, in one place: its REST identity, the schema its objects are validated against,
 * its defaults, its table columns, the fields it can be selected by, and the strategy the apiserver's
 * generic object service calls (Kubernetes' registry/<resource>/strategy.go). One folder per kind under
 * resources/<group>/<kind>/ exports one ResourceDefinition; the registry (../registry.ts) lists them.
 */
import type { FieldCause } from '@berth/errors';
import { dns1123SubdomainErrors } from '../schema/syntax';
import type { KubeObject } from '../types';
import type { FieldSchema } from './merge';
import { objectMerge } from './merge';

export type Subresource = 'status' | 'scale' | 'binding' | 'log' | 'exec' | 'eviction' | 'token' | 'top';

/** A kind's REST identity: the names discovery, REST paths and the CLI use. */
export interface ResourceType {
  /** API group: '' for the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** The REST path segment: `pods`. */
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  categories: string[];
  subresources: Subresource[];
  verbs: string[];
}

/** meta.k8s.io/v1 TableColumnDefinition. priority 1 columns show only with `-o wide`. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** A kind's `kubectl get` table: the columns, and one row's cells in their order (ages against `now`). */
export interface TablePrinter {
  columns: TableColumn[];
  cells(obj: KubeObject, now: Date): unknown[];
}

/** Reads one selectable field of an object as the text a field selector compares with. */
export type FieldAccessor = (obj: KubeObject) => string;

/**
 * The fields a kind's schema class declares, without KubeObject's index signature (a class cannot have
 * one): `class PodObject implements KindShape<Pod>` makes the compiler keep the two in step.
 */
export type KindShape<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/** A validation schema class whose instances have the shape of T (see schema/fields.ts). */
export type SchemaOf<T extends KubeObject> = new () => KindShape<T>;

/**
 * How a DELETE treats an object (Kubernetes' BeforeDelete):
 * - `now`: removed at once, or marked and left to its finalizers (the propagation policy's included);
 * - `pending`: an earlier graceful deletion stands, the object is answered as it is;
 * - `graceful`: marked with a deletionTimestamp `graceSeconds` away, for whoever stops it (a pod's node)
 *   to remove it; with 0 grace and no finalizers it is removed right after the mark is written;
 * - `keep`: marked (no grace) and kept whatever its finalizers, `prepare` changing the marked copy: the
 *   kind's own control loop finishes the deletion (a namespace, emptied by the namespace reconciler).
 */
export type DeletionPlan =
  | { kind: 'now' }
  | { kind: 'pending' }
  | { kind: 'graceful'; deletionTimestamp: string; graceSeconds: number }
  | { kind: 'keep'; prepare(marked: KubeObject): void };

/**
 * A kind's behaviour in the generic object service. Every hook is optional; what the service does for
 * every kind is said here so that a strategy only adds:
 * - status vs spec: a kind with the `status` subresource keeps its stored status on writes of the main
 *   resource, and a status write changes only status;
 * - generation: bumped when anything but metadata and status changes;
 * - system metadata (uid, creationTimestamp, resourceVersion, deletion marks) is the server's.
 * Hooks mutate the object they are given (a copy the service owns) and throw `errors.*` to refuse.
 */
export interface ResourceStrategy {
  /** On create, after system metadata is set, before defaulting: what the server decides, not the client (a new object's status). */
  prepareForCreate?(obj: KubeObject): void;
  /** On update, before defaulting: carries over from `old` what this write may not change (`subresource` says which write). */
  prepareForUpdate?(next: KubeObject, old: KubeObject, subresource: string | undefined): void;
  /**
   * The object as its schema checks it, when that differs from what is stored (a StatefulSet's pod template
   * with the volumes its claim templates add); the object itself is what unknown fields are looked for in.
   */
  schemaView?(obj: KubeObject): KubeObject;
  /** Rules only a new object must keep (a pod may not come bound to a node and gated), after validation of the object itself. */
  validateCreate?(obj: KubeObject): FieldCause[];
  /** Rules comparing an update with the stored object (immutable fields), after validation of the object itself. */
  validateUpdate?(next: KubeObject, old: KubeObject): FieldCause[];
  /** How a DELETE treats the object; `now` without this hook. `requestedGraceSeconds` as the client sent it. */
  deletion?(obj: KubeObject, requestedGraceSeconds: number | undefined, now: Date): DeletionPlan;
  /**
   * Subresources written by a POST of their own body (pods/binding): each turns the live object and the
   * body into the object to store, or throws. The service then writes it as an update of that subresource.
   */
  subresourceWrites?: Partial<Record<Subresource, (live: KubeObject, body: unknown) => KubeObject>>;
}

/**
 * A version served by conversion: its objects are stored, validated and defaulted as `stored`'s, and turned
 * into this version's shape on the way in and out (autoscaling/v1 HorizontalPodAutoscalers are stored as v2).
 * Both functions take what a client may send: a body of an unexpected shape goes on for validation to report.
 */
export interface VersionConversion {
  stored: ResourceDefinition;
  toStored(obj: KubeObject): KubeObject;
  fromStored(obj: KubeObject): KubeObject;
}

/** Everything the apiserver, the CLI and the patch engine know about one kind. */
export interface ResourceDefinition<T extends KubeObject = KubeObject> extends ResourceType {
  /** The validation schema: a class that `implements KindShape<T>`, so the type and the schema cannot drift. */
  schema: SchemaOf<T>;
  /** Fills in what Kubernetes defaults; runs before validation on whatever a client sent, so it must accept any shape. */
  defaults(obj: Record<string, unknown>): void;
  table: TablePrinter;
  /** What is wrong with a name (DNS subdomain rules unless the name becomes a DNS label, as a namespace's or service's does). */
  nameErrors(name: string): string[];
  /** How its fields merge under strategic merge patch and server-side apply (list keys, atomic fields). */
  mergeSchema: FieldSchema;
  /** Fields besides metadata.name/namespace a field selector may name (Kubernetes' ToSelectableFields). */
  selectableFields: Readonly<Record<string, FieldAccessor>>;
  /** The field whose equality selector indexes watchers (pods by spec.nodeName: each agent watches its own). */
  watchIndexField?: string;
  strategy: ResourceStrategy;
  /** Set on a version served by conversion to another one, which holds the objects. */
  conversion?: VersionConversion;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface DefinitionInput<T extends KubeObject> {
  group: string;
  version: string;
  kind: string;
  plural: string;
  schema: SchemaOf<T>;
  table: TablePrinter;
  shortNames?: string[];
  namespaced?: boolean;
  categories?: string[];
  subresources?: Subresource[];
  verbs?: string[];
  defaults?: (obj: Record<string, unknown>) => void;
  nameErrors?: (name: string) => string[];
  mergeSchema?: FieldSchema;
  selectableFields?: Record<string, FieldAccessor>;
  watchIndexField?: string;
  strategy?: ResourceStrategy;
  conversion?: VersionConversion;
}

/** A definition with Kubernetes' usual defaults: namespaced, every verb, `<Kind>List`, singular = lower-case kind. */
export function defineResource<T extends KubeObject>(input: DefinitionInput<T>): ResourceDefinition<T> {
  return {
    group: input.group,
    version: input.version,
    kind: input.kind,
    listKind: `${input.kind}List`,
    plural: input.plural,
    singular: input.kind.toLowerCase(),
    shortNames: input.shortNames ?? [],
    namespaced: input.namespaced ?? true,
    categories: input.categories ?? [],
    subresources: input.subresources ?? [],
    verbs: input.verbs ?? ALL_VERBS,
    schema: input.schema,
    defaults: input.defaults ?? (() => undefined),
    table: input.table,
    nameErrors: input.nameErrors ?? dns1123SubdomainErrors,
    mergeSchema: input.mergeSchema ?? objectMerge(),
    selectableFields: input.selectableFields ?? {},
    ...(input.watchIndexField ? { watchIndexField: input.watchIndexField } : {}),
    strategy: input.strategy ?? {},
    ...(input.conversion ? { conversion: input.conversion } : {}),
  };
}

export { ALL_VERBS };
