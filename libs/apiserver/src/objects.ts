import {
  applyDefaults,
  apiVersionOf,
  DeletionPlan,
  definitionOf,
  FieldValidation,
  formatSelector,
  KubeList,
  KubeObject,
  ResourceType,
  resourceForKind,
  Subresource,
  timestamp,
  validateObject,
} from '@berth/api';
import { BerthError, errors, field, isBerthError } from '@berth/errors';
import {
  applyJsonMergePatch,
  applyJsonPatch,
  applyStrategicMergePatch,
  CheckedDocument,
  recordUpdate,
  serverSideApply,
} from '@berth/patch';
import type { KeyValue, Store } from '@berth/store';
import { randomUUID, randomInt } from 'node:crypto';
import { canonicalJson, deepClone, isPlainObject } from './canonical';
import { listPrefix, objectKey } from './keys';
import type { ObjectFilter } from './filter';
import type { VersionView } from './conversion';
import type { Reservation } from './service-allocation';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

export interface WriteOptions {
  dryRun: boolean;
  fieldManager: string;
  fieldValidation: FieldValidation;
  /** Server-side apply only: take fields other managers own. */
  force?: boolean;
  /** `?resourceVersion=` on a write: the object must still be at this version. */
  precondition?: string;
  /**
   * The requester's admission check (NodeRestriction for nodes): sees the stored object (undefined on
   * create) and the one about to be stored, after defaulting and validation, and throws to refuse the write.
   */
  admit?: (old: KubeObject | undefined, next: KubeObject) => void;
}

export interface WriteResult {
  object: KubeObject;
  /** Warning header texts (unknown fields under fieldValidation=Warn). */
  warnings: string[];
  created: boolean;
}

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  dryRun: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  /** What happens to dependents; the garbage collector acts on the finalizer this leaves. */
  propagationPolicy?: PropagationPolicy;
  /** How long a pod's containers get to stop; the pod's terminationGracePeriodSeconds when absent. */
  gracePeriodSeconds?: number;
}

/** The finalizer through which the garbage collector carries out each non-default propagation policy. */
const POLICY_FINALIZERS: Partial<Record<PropagationPolicy, string>> = { Orphan: 'orphan', Foreground: 'foregroundDeletion' };

/** The object's finalizers as the policy wants them: its GC finalizer added, the other policy's removed. */
function finalizersFor(obj: KubeObject, policy: PropagationPolicy | undefined): string[] {
  const current = obj.metadata.finalizers ?? [];
  if (!policy) return current;
  const gcFinalizers = Object.values(POLICY_FINALIZERS);
  const wanted = POLICY_FINALIZERS[policy];
  const kept = current.filter((f) => !gcFinalizers.includes(f) || f === wanted);
  return wanted && !kept.includes(wanted) ? [...kept, wanted] : kept;
}

const NAMESPACE_TYPE = resourceForKind('v1', 'Namespace')!;

/** The strategy's writer of a POSTed subresource (pods/binding); a name it does not declare has none. */
function subresourceWriter(type: ResourceType, subresource: string): ((live: KubeObject, body: unknown) => KubeObject) | undefined {
  const writes = definitionOf(type).strategy.subresourceWrites ?? {};
  return Object.hasOwn(writes, subresource) ? writes[subresource as Subresource] : undefined;
}

/** How many times a patch is re-applied when a concurrent writer got in between read and write. */
const PATCH_ATTEMPTS = 8;

export function decodeObject(kv: KeyValue, resourceVersion = kv.modRevision): KubeObject {
  const obj = JSON.parse(kv.value) as KubeObject;
  obj.metadata.resourceVersion = String(resourceVersion);
  return obj;
}

/** The stored form: resourceVersion is not stored, it is the key's modRevision. */
function encodeObject(obj: KubeObject): string {
  return JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } });
}

/** What an object is stripped to before "did anything change?" comparisons. */
function comparable(obj: KubeObject): string {
  const metadata = { ...obj.metadata, resourceVersion: undefined };
  if (metadata.managedFields) metadata.managedFields = metadata.managedFields.map((m) => ({ ...m, time: undefined }));
  return canonicalJson({ ...obj, metadata });
}

/** Everything but metadata and status: a change here is a new generation. */
function specOf(obj: KubeObject): string {
  return canonicalJson({ ...obj, metadata: undefined, status: undefined });
}

function hasStatusSubresource(type: ResourceType): boolean {
  return type.subresources.includes('status');
}

function conflictError(type: ResourceType, name: string): BerthError {
  return errors.conflict(
    type.plural,
    name,
    'the object has been modified; please apply your changes to the latest version and try again',
    type.group || undefined,
  );
}

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)];
  return prefix + suffix;
}

/** What the server allocates for the objects it stores (Service ClusterIPs and NodePorts). */
export interface AllocationHooks {
  /** Before an update is admitted: carries over what the client left out of what was allocated. */
  keepAllocated(type: ResourceType, old: KubeObject, next: KubeObject): void;
  /** After admission, before the write: allocates what `next` needs (old undefined on create). */
  reserve(type: ResourceType, old: KubeObject | undefined, next: KubeObject, dryRun: boolean): Promise<Reservation>;
  /** After the object left the store. */
  released(type: ResourceType, obj: KubeObject): Promise<void>;
}

/**
 * A mutating admission plugin of creates (Kubernetes' ServiceAccount admission): sees a new object after
 * its kind's prepareForCreate, before defaulting and validation; may change it, or throw to refuse it.
 * It reads other objects through `objects`.
 */
export interface CreationAdmission {
  admitCreate(type: ResourceType, obj: KubeObject, objects: Pick<ObjectService, 'get'>): Promise<void>;
}

/**
 * The object semantics of the API on top of the key-value store: identity and system metadata,
 * defaulting and validation, generations, optimistic concurrency, patches, finalizers and no-op writes.
 */
export class ObjectService {
  constructor(
    private readonly store: Store,
    private readonly allocations?: AllocationHooks,
    private readonly creationAdmission: readonly CreationAdmission[] = [],
  ) {}

  async get(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    return decodeObject(await this.getKv(type, namespace, name));
  }

  async list(type: ResourceType, namespace: string | undefined, filter: ObjectFilter): Promise<KubeList> {
    const { items, revision } = await this.store.list(listPrefix(type, namespace));
    return {
      apiVersion: apiVersionOf(type),
      kind: type.listKind,
      metadata: { resourceVersion: String(revision) },
      items: items.map((kv) => decodeObject(kv)).filter((obj) => filter.matches(obj)),
    };
  }

  async create(type: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions): Promise<WriteResult> {
    const obj = this.checkedBody(type, body);
    return this.createObject(type, namespace, obj, opts, false);
  }

  /** PUT: replaces the object (or only its status), honouring metadata.resourceVersion as a precondition. */
  async update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
    subresource?: 'status',
  ): Promise<WriteResult> {
    const next = this.checkedBody(type, body);
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    this.checkNamespace(type, namespace, next);
    const kv = await this.getKv(type, namespace, name);
    for (const expected of [next.metadata.resourceVersion, opts.precondition]) {
      if (expected !== undefined && expected !== '' && expected !== String(kv.modRevision)) throw conflictError(type, name);
    }
    try {
      return await this.commitUpdate(type, kv, next, opts, { subresource });
    } catch (err) {
      throw this.storeErrorFor(type, name, err);
    }
  }

  async patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    opts: WriteOptions,
    subresource?: 'status',
    /** The version the patch is written against, when it is not the stored one (autoscaling/v1 autoscalers). */
    view?: VersionView,
  ): Promise<WriteResult> {
    if (patchType === 'apply') view?.checkApplicable();
    // The patch (or the configuration an apply makes of it) is checked on its first use, once: a retry
    // after a conflict applies the same checked document to the newer object.
    let document: CheckedDocument | undefined;
    let configuration: CheckedDocument<KubeObject> | undefined;
    const applied = () => (configuration ??= CheckedDocument.check(this.appliedObject(type, namespace, name, patch), 'the applied configuration'));
    for (let attempt = 1; ; attempt++) {
      const kv = await this.findKv(type, namespace, name);
      try {
        if (!kv) {
          if (patchType !== 'apply' || subresource) throw this.notFound(type, name);
          const created = serverSideApply(type, undefined, applied(), this.applyOptions(opts));
          return await this.createObject(type, namespace, created, opts, true);
        }
        if (opts.precondition && opts.precondition !== String(kv.modRevision)) throw conflictError(type, name);
        const live = decodeObject(kv);
        if (patchType === 'apply') {
          const merged = serverSideApply(type, live, applied(), this.applyOptions(opts));
          this.checkIdentity(type, live, merged);
          return await this.commitUpdate(type, kv, merged, opts, { subresource, managedFieldsSet: true });
        }
        const patched = view
          ? view.through(live, (shown) => this.applyPatch(view.served, shown, patchType, (document ??= checkedPatch(patchType, patch))))
          : this.applyPatch(type, live, patchType, (document ??= checkedPatch(patchType, patch)));
        this.checkIdentity(type, live, patched);
        if (patched.metadata.resourceVersion !== live.metadata.resourceVersion) throw conflictError(type, name);
        return await this.commitUpdate(type, kv, patched, opts, { subresource });
      } catch (err) {
        // A writer got in between our read and write; patches re-apply to the newer object.
        if (isBerthError(err, 'Conflict') && err.details.kind === 'keys' && attempt < PATCH_ATTEMPTS) continue;
        throw this.storeErrorFor(type, name, err);
      }
    }
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<KubeObject | undefined> {
    for (let attempt = 1; ; attempt++) {
      const kv = await this.getKv(type, namespace, name);
      const obj = decodeObject(kv);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== obj.metadata.uid) {
        throw errors.conflict(type.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`, type.group || undefined);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
        throw errors.conflict(
          type.plural,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
          type.group || undefined,
        );
      }
      try {
        const plan: DeletionPlan = definitionOf(type).strategy.deletion?.(obj, opts.gracePeriodSeconds, new Date()) ?? { kind: 'now' };
        if (plan.kind === 'pending') return obj;
        if (plan.kind === 'keep') return await this.markKept(kv, obj, opts, plan.prepare);
        const finalizers = finalizersFor(obj, opts.propagationPolicy);
        if (plan.kind === 'graceful') {
          const marked = await this.markDeleted(kv, obj, finalizers, opts, plan);
          if (plan.graceSeconds > 0 || finalizers.length || opts.dryRun) return marked;
          // No grace and no finalizers: gone at once, but marked first (as Kubernetes does), so that the
          // node still running the pod learns from the last state it sees that it is to be killed without grace.
          await this.removeStored(type, kv.key, Number(marked.metadata.resourceVersion), obj);
          return marked;
        }
        if (finalizers.length) return await this.markDeleted(kv, obj, finalizers, opts);
        if (opts.dryRun) return obj;
        await this.removeStored(type, kv.key, kv.modRevision, obj);
        return obj;
      } catch (err) {
        if (isBerthError(err, 'Conflict') && err.details.kind === 'keys' && attempt < PATCH_ATTEMPTS) continue;
        // Gone between our read and delete: the caller answers with a Success Status.
        if (isBerthError(err, 'NotFound') && err.details.kind === 'keys') return undefined;
        throw err;
      }
    }
  }

  async deleteCollection(type: ResourceType, namespace: string | undefined, filter: ObjectFilter, opts: DeleteOptions): Promise<KubeList> {
    const list = await this.list(type, namespace, filter);
    const deleted: KubeObject[] = [];
    for (const obj of list.items) {
      try {
        const gone = await this.delete(type, obj.metadata.namespace, obj.metadata.name!, {
          dryRun: opts.dryRun,
          propagationPolicy: opts.propagationPolicy,
          gracePeriodSeconds: opts.gracePeriodSeconds,
        });
        if (gone) deleted.push(gone);
      } catch (err) {
        if (!isBerthError(err, 'NotFound')) throw err;
      }
    }
    return { ...list, items: deleted };
  }

  /** The autoscaling/v1 Scale view of a deployment or replica set. */
  async getScale(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    return scaleOf(await this.get(type, namespace, name));
  }

  async updateScale(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
    patchType?: PatchType,
  ): Promise<KubeObject> {
    // A patch is checked once, on its first use, as in patch().
    let document: CheckedDocument | undefined;
    for (let attempt = 1; ; attempt++) {
      const kv = await this.getKv(type, namespace, name);
      const live = decodeObject(kv);
      const current = scaleOf(live);
      const scale = patchType ? applyScalePatch(current, patchType, (document ??= checkedScalePatch(patchType, body))) : body;
      if (!isPlainObject(scale)) throw errors.badRequest('the body of a Scale request must be an object');
      const meta = isPlainObject(scale.metadata) ? scale.metadata : {};
      const expected = meta.resourceVersion;
      if (typeof expected === 'string' && expected !== '' && expected !== live.metadata.resourceVersion) throw conflictError(type, name);
      const replicas = isPlainObject(scale.spec) ? scale.spec.replicas : undefined;
      if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
        throw errors.invalid('Scale', name, [field.invalid('spec.replicas', replicas, 'must be greater than or equal to 0')], 'autoscaling');
      }
      const next = deepClone(live);
      next.spec = { ...(next.spec as Record<string, unknown>), replicas: replicas ?? 0 };
      try {
        const result = await this.commitUpdate(type, kv, next, opts, { subresource: 'scale' });
        return scaleOf(result.object);
      } catch (err) {
        if (isBerthError(err, 'Conflict') && err.details.kind === 'keys' && patchType && attempt < PATCH_ATTEMPTS) continue;
        throw this.storeErrorFor(type, name, err);
      }
    }
  }

  /** Whether the type has a subresource written by a POST of its own body (pods/binding). */
  acceptsSubresourceWrite(type: ResourceType, subresource: string): boolean {
    return subresourceWriter(type, subresource) !== undefined;
  }

  /** A POST to such a subresource: the kind's strategy turns the live object and the body into the object stored. */
  async writeSubresource(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    subresource: string,
    body: unknown,
    opts: WriteOptions,
  ): Promise<void> {
    const write = subresourceWriter(type, subresource);
    if (!write) throw errors.methodNotAllowed(`POST is not supported on ${type.plural}/${subresource}`);
    const kv = await this.getKv(type, namespace, name);
    const next = write(decodeObject(kv), body);
    try {
      await this.commitUpdate(type, kv, next, opts, { subresource });
    } catch (err) {
      throw this.storeErrorFor(type, name, err);
    }
  }

  /** Creates a namespace if it is missing (the system namespaces at start). */
  async ensureNamespace(name: string): Promise<void> {
    if (await this.findKv(NAMESPACE_TYPE, undefined, name)) return;
    try {
      await this.createObject(NAMESPACE_TYPE, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, {
        dryRun: false,
        fieldManager: 'berth-apiserver',
        fieldValidation: 'Strict',
      }, false);
    } catch (err) {
      if (!isBerthError(err, 'AlreadyExists')) throw err;
    }
  }

  private async createObject(
    type: ResourceType,
    namespace: string | undefined,
    input: KubeObject,
    opts: WriteOptions,
    managedFieldsSet: boolean,
  ): Promise<WriteResult> {
    const obj = deepClone(input);
    this.checkNamespace(type, namespace, obj);
    if (type.namespaced) obj.metadata.namespace = namespace;
    else delete obj.metadata.namespace;
    if (!obj.metadata.name) {
      if (obj.metadata.generateName) obj.metadata.name = generatedName(obj.metadata.generateName);
      else throw errors.invalid(type.kind, '', [field.required('metadata.name', 'name or generateName is required')], type.group || undefined);
    }
    const name = obj.metadata.name;
    if (type.namespaced) await this.assertNamespaceAcceptsContent(type, namespace!, name);
    const now = new Date();
    const managedFields = obj.metadata.managedFields;
    delete obj.metadata.resourceVersion;
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.deletionGracePeriodSeconds;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = timestamp(now);
    obj.metadata.generation = 1;
    definitionOf(type).strategy.prepareForCreate?.(obj);
    for (const plugin of this.creationAdmission) await plugin.admitCreate(type, obj, this);
    const warnings = this.admit(type, obj, opts);
    opts.admit?.(undefined, obj);
    obj.metadata.managedFields = managedFieldsSet ? managedFields : recordUpdate(type, undefined, obj, opts.fieldManager, now);
    if (!obj.metadata.managedFields?.length) delete obj.metadata.managedFields;
    const reservation = await this.allocations?.reserve(type, undefined, obj, opts.dryRun);
    if (opts.dryRun) return { object: obj, warnings, created: true };
    try {
      const kv = await this.store.create(objectKey(type, namespace, name), encodeObject(obj));
      return { object: decodeObject(kv), warnings, created: true };
    } catch (err) {
      await reservation?.rollback();
      throw this.storeErrorFor(type, name, err);
    }
  }

  /**
   * Writes `proposed` over the stored `kv` with compare-and-swap: keeps system metadata, limits status
   * and main-resource writes to their halves, bumps generation on spec changes, and skips no-op writes.
   */
  private async commitUpdate(
    type: ResourceType,
    kv: KeyValue,
    proposed: KubeObject,
    opts: WriteOptions,
    how: { subresource?: string; managedFieldsSet?: boolean },
  ): Promise<WriteResult> {
    const old = decodeObject(kv);
    let next: KubeObject;
    if (how.subresource === 'status') {
      next = { ...deepClone(old), status: deepClone(proposed.status) };
      if (how.managedFieldsSet) next.metadata.managedFields = proposed.metadata.managedFields;
    } else {
      next = deepClone(proposed);
      if (hasStatusSubresource(type) && how.subresource !== 'status') {
        if (old.status === undefined) delete next.status;
        else next.status = deepClone(old.status);
      }
    }
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    const m = next.metadata;
    m.name = old.metadata.name;
    m.uid = old.metadata.uid;
    m.creationTimestamp = old.metadata.creationTimestamp;
    m.resourceVersion = old.metadata.resourceVersion;
    if (type.namespaced) m.namespace = old.metadata.namespace;
    else delete m.namespace;
    if (old.metadata.deletionTimestamp) {
      m.deletionTimestamp = old.metadata.deletionTimestamp;
      m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    delete m.generateName;
    if (old.metadata.generateName) m.generateName = old.metadata.generateName;
    definitionOf(type).strategy.prepareForUpdate?.(next, old, how.subresource);

    this.allocations?.keepAllocated(type, old, next);
    const warnings = this.admit(type, next, opts, old);
    opts.admit?.(old, next);
    // Serialising the stored object for the no-op checks costs as much as the write itself: once is enough.
    const oldComparable = comparable(old);
    const reservation = comparable(next) === oldComparable ? undefined : await this.allocations?.reserve(type, old, next, opts.dryRun);
    m.generation = (old.metadata.generation ?? 1) + (specOf(next) !== specOf(old) ? 1 : 0);
    const now = new Date();
    if (!how.managedFieldsSet) m.managedFields = recordUpdate(type, old, next, opts.fieldManager, now, how.subresource);
    if (!m.managedFields?.length) delete m.managedFields;

    if (comparable(next) === oldComparable) return { object: old, warnings, created: false };
    if (opts.dryRun) return { object: next, warnings, created: false };
    try {
      if (m.deletionTimestamp && !m.finalizers?.length && !m.deletionGracePeriodSeconds) {
        // The last finalizer is gone: the deletion that was waiting for it completes now (a pod still in
        // its grace period stays until its node deletes it).
        await reservation?.rollback();
        await this.removeStored(type, kv.key, kv.modRevision, old);
        return { object: next, warnings, created: false };
      }
      const written = await this.store.update(kv.key, encodeObject(next), kv.modRevision);
      await reservation?.commit();
      return { object: decodeObject(written), warnings, created: false };
    } catch (err) {
      await reservation?.rollback();
      throw err;
    }
  }

  /** Defaulting then validation; returns warnings, throws 400 (unknown fields, Strict) or 422. */
  private admit(type: ResourceType, obj: KubeObject, opts: WriteOptions, old?: KubeObject): string[] {
    applyDefaults(type, obj);
    const result = validateObject(type, obj, { fieldValidation: opts.fieldValidation, old });
    const warnings: string[] = [];
    if (result.unknownFields.length && opts.fieldValidation === 'Strict') {
      throw errors.badRequest(`strict decoding error: ${result.unknownFields.map((f) => `unknown field "${f}"`).join(', ')}`);
    }
    if (opts.fieldValidation === 'Warn') warnings.push(...result.unknownFields.map((f) => `unknown field "${f}"`));
    if (result.causes.length) throw errors.invalid(type.kind, obj.metadata.name ?? '', result.causes, type.group || undefined);
    return warnings;
  }

  /**
   * A deletion the kind finishes itself (a namespace, emptied first): marked without grace whatever its
   * finalizers, `prepare` changing the marked copy, and kept.
   */
  private async markKept(kv: KeyValue, obj: KubeObject, opts: DeleteOptions, prepare: (marked: KubeObject) => void): Promise<KubeObject> {
    const next = deepClone(obj);
    next.metadata.deletionTimestamp = timestamp(new Date());
    next.metadata.deletionGracePeriodSeconds = 0;
    prepare(next);
    if (opts.dryRun) return next;
    return decodeObject(await this.store.update(kv.key, encodeObject(next), kv.modRevision));
  }

  /**
   * Deletion of an object with finalizers, or of a pod given a grace period: it stays, marked, until its
   * finalizers are removed and (for a pod) its node has stopped its containers and deleted it without grace.
   */
  private async markDeleted(
    kv: KeyValue,
    obj: KubeObject,
    finalizers: string[],
    opts: DeleteOptions,
    grace?: { deletionTimestamp: string; graceSeconds: number },
  ): Promise<KubeObject> {
    const unchanged = JSON.stringify(finalizers) === JSON.stringify(obj.metadata.finalizers ?? []);
    if (obj.metadata.deletionTimestamp && unchanged && !grace) return obj;
    const next = deepClone(obj);
    if (finalizers.length) next.metadata.finalizers = finalizers;
    else delete next.metadata.finalizers;
    if (grace) {
      next.metadata.deletionTimestamp = grace.deletionTimestamp;
      next.metadata.deletionGracePeriodSeconds = grace.graceSeconds;
    }
    next.metadata.deletionTimestamp ??= timestamp(new Date());
    next.metadata.deletionGracePeriodSeconds ??= 0;
    if (opts.dryRun) return next;
    return decodeObject(await this.store.update(kv.key, encodeObject(next), kv.modRevision));
  }

  /** Every removal of an object from the store goes here, so that what it held is released. */
  private async removeStored(type: ResourceType, key: string, expectedModRevision: number, obj: KubeObject): Promise<void> {
    await this.store.delete(key, expectedModRevision);
    await this.allocations?.released(type, obj);
  }

  private async assertNamespaceAcceptsContent(type: ResourceType, namespace: string, name: string): Promise<void> {
    const kv = await this.findKv(NAMESPACE_TYPE, undefined, namespace);
    if (!kv) throw errors.notFound('namespaces', namespace);
    if (decodeObject(kv).metadata.deletionTimestamp) {
      throw new BerthError(
        'Forbidden',
        `${type.group ? `${type.plural}.${type.group}` : type.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name, kind: type.plural, group: type.group || undefined },
      );
    }
  }

  private checkNamespace(type: ResourceType, namespace: string | undefined, obj: KubeObject): void {
    const bodyNamespace = obj.metadata.namespace;
    if (type.namespaced && bodyNamespace && namespace && bodyNamespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  /** A request body as an object of this type: kind and apiVersion must match when given. */
  private checkedBody(type: ResourceType, body: unknown): KubeObject {
    if (!isPlainObject(body)) throw errors.badRequest(`the body of the request must be a ${type.kind} object`);
    const obj = deepClone(body) as KubeObject;
    const apiVersion = apiVersionOf(type);
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw errors.badRequest(`the kind of the object (${String(obj.kind)}) does not match the resource (${type.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw errors.badRequest(`the API version of the object (${String(obj.apiVersion)}) does not match the resource (${apiVersion})`);
    }
    obj.kind = type.kind;
    obj.apiVersion = apiVersion;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) {
      throw errors.invalid(type.kind, '', [field.typeInvalid('metadata', obj.metadata, 'must be an object')], type.group || undefined);
    }
    return obj;
  }

  private appliedObject(type: ResourceType, namespace: string | undefined, name: string, patch: unknown): KubeObject {
    const applied = this.checkedBody(type, patch);
    if (!isPlainObject(patch) || patch.kind === undefined || patch.apiVersion === undefined) {
      throw errors.badRequest('apiVersion and kind must be set in an apply request');
    }
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
    }
    applied.metadata.name = name;
    this.checkNamespace(type, namespace, applied);
    return applied;
  }

  private applyOptions(opts: WriteOptions) {
    if (!opts.fieldManager) throw errors.badRequest('PATCH, application/apply-patch+yaml requests must have a fieldManager');
    return { manager: opts.fieldManager, force: opts.force ?? false, now: new Date() };
  }

  /** A merge, JSON or strategic merge patch (checkedPatch) applied to the live object. */
  private applyPatch(type: ResourceType, live: KubeObject, patchType: PatchType, patch: CheckedDocument): KubeObject {
    let result: unknown;
    switch (patchType) {
      case 'merge':
        result = applyJsonMergePatch(live, patch);
        break;
      case 'json':
        result = applyJsonPatch(live, patch);
        break;
      case 'strategic':
        result = applyStrategicMergePatch(type, live, patch);
        break;
      default:
        throw errors.unsupportedMediaType(patchType);
    }
    if (!isPlainObject(result) || !isPlainObject(result.metadata)) {
      throw errors.badRequest('the patch did not produce an object with metadata');
    }
    return result as KubeObject;
  }

  private checkIdentity(type: ResourceType, live: KubeObject, patched: KubeObject): void {
    if (patched.metadata.name !== live.metadata.name) {
      throw errors.badRequest(`the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${live.metadata.name})`);
    }
    if (patched.kind !== live.kind || patched.apiVersion !== live.apiVersion) {
      throw errors.badRequest(`a patch may not change the kind or apiVersion of ${type.plural} "${live.metadata.name}"`);
    }
    if (type.namespaced && patched.metadata.namespace !== undefined && patched.metadata.namespace !== live.metadata.namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  private async findKv(type: ResourceType, namespace: string | undefined, name: string): Promise<KeyValue | undefined> {
    return this.store.get(objectKey(type, namespace, name));
  }

  private async getKv(type: ResourceType, namespace: string | undefined, name: string): Promise<KeyValue> {
    const kv = await this.findKv(type, namespace, name);
    if (!kv) throw this.notFound(type, name);
    return kv;
  }

  private notFound(type: ResourceType, name: string): BerthError {
    return errors.notFound(type.plural, name, type.group || undefined);
  }

  /** Store errors speak of keys; the client should hear about its object. */
  private storeErrorFor(type: ResourceType, name: string, err: unknown): unknown {
    if (!isBerthError(err) || err.details.kind !== 'keys') return err;
    if (err.reason === 'AlreadyExists') return errors.alreadyExists(type.plural, name, type.group || undefined);
    if (err.reason === 'Conflict') return conflictError(type, name);
    if (err.reason === 'NotFound') return this.notFound(type, name);
    return err;
  }
}

/** A merge, JSON or strategic merge patch: its shape, then its document (checkDecoded), checked once per request. */
function checkedPatch(patchType: PatchType, patch: unknown): CheckedDocument {
  switch (patchType) {
    case 'merge':
      if (!isPlainObject(patch)) throw errors.badRequest('a merge patch must be a JSON object');
      return CheckedDocument.check(patch, 'the merge patch');
    case 'json':
      if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch must be an array of operations');
      return CheckedDocument.check(patch, 'the json patch');
    case 'strategic':
      if (!isPlainObject(patch)) throw errors.badRequest('a strategic merge patch must be a JSON object');
      return CheckedDocument.check(patch, 'the strategic merge patch');
    default:
      throw errors.unsupportedMediaType(patchType);
  }
}

/** A patch of a Scale, checked as checkedPatch does: a JSON patch, or else an object merged like a merge patch. */
function checkedScalePatch(patchType: PatchType, patch: unknown): CheckedDocument {
  if (patchType === 'json') {
    if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch must be an array of operations');
    return CheckedDocument.check(patch, 'the json patch');
  }
  if (!isPlainObject(patch)) throw errors.badRequest('a patch must be a JSON object');
  return CheckedDocument.check(patch, 'the merge patch');
}

function applyScalePatch(current: KubeObject, patchType: PatchType, patch: CheckedDocument): unknown {
  // Scale has no lists, so a strategic merge patch (or an apply) merges like a JSON merge patch.
  return patchType === 'json' ? applyJsonPatch(current, patch) : applyJsonMergePatch(current, patch);
}

export function scaleOf(obj: KubeObject): KubeObject {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 1 },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      selector: spec.selector ? formatSelector(spec.selector) : '',
    },
  };
}
