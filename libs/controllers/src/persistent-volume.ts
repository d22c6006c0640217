import {
  BIND_COMPLETED_ANNOTATION,
  BOUND_BY_CONTROLLER_ANNOTATION,
  isDefaultStorageClass,
  LOCAL_PATH_DIR_ANNOTATION,
  LOCAL_PATH_FINALIZER,
  LOCAL_PATH_NODE_LABEL,
  LOCAL_PATH_PROVISIONER,
  localPathNode,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type PersistentVolumeClaimStatus,
  type PersistentVolumeStatus,
  type Pod,
  podClaimNames,
  PROVISIONED_BY_ANNOTATION,
  PV_PROTECTION_FINALIZER,
  PVC_PROTECTION_FINALIZER,
  SELECTED_NODE_ANNOTATION,
  STORAGE_PROVISIONER_ANNOTATION,
  type StorageClass,
} from '@berth/api';
import { type EventRecorder, type Informer, keyOf, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { bestVolumeFor, isNodeReady } from '@berth/scheduler';
import type { Logger } from 'pino';
import { join } from 'node:path';
import { type ControllerContext, ignoreNotFound } from './context';
import { canonicalJson } from '@berth/api';
import { clone, NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, STORAGE_CLASSES } from './types';

const CLAIM = 'pvc:';
const VOLUME = 'pv:';

/** How soon a claim waiting for its node's agent (the local-path directory it announces) is looked at again. */
const NODE_WAIT_MS = 5000;

function withFinalizer<T extends PersistentVolume | PersistentVolumeClaim>(obj: T, finalizer: string): T | undefined {
  if (obj.metadata.finalizers?.includes(finalizer)) return undefined;
  const next = clone(obj);
  next.metadata.finalizers = [...(next.metadata.finalizers ?? []), finalizer];
  return next;
}

function withoutFinalizer<T extends PersistentVolume | PersistentVolumeClaim>(obj: T, finalizer: string): T | undefined {
  if (!obj.metadata.finalizers?.includes(finalizer)) return undefined;
  const next = clone(obj);
  next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== finalizer);
  return next;
}

/**
 * Kubernetes' PersistentVolume controller, PVC and PV protection, and the provisioning half of k3s'
 * local-path provisioner in one reconciler (keys `pvc:NS/NAME` and `pv:NAME`):
 * - binds each claim to the smallest available volume that satisfies it (class, access modes, size, selector;
 *   for a WaitForFirstConsumer class only once the scheduler named a node, and then only volumes that node can
 *   reach), or provisions a local-path volume for it on that node (a directory under the node's announced
 *   local-path dir, which the node's agent creates and removes: the server never touches node disks);
 * - gives claims without a class the default StorageClass (retroactive assignment, as Kubernetes 1.28+);
 * - keeps volumes' phases (Available, Bound, Released, Failed) and reclaims released ones: Retain keeps them,
 *   Delete deletes a local-path volume (its agent removes the directory, then the finalizer);
 * - holds a claim's deletion while a pod uses it, and a volume's while it is bound.
 */
export class PersistentVolumeController {
  readonly queue = new WorkQueue<string>();
  private readonly volumes: Informer<PersistentVolume>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly classes: Informer<StorageClass>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext) {
    this.volumes = ctx.informers.informerFor<PersistentVolume>({ resource: PERSISTENT_VOLUMES });
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>({ resource: PERSISTENT_VOLUME_CLAIMS });
    this.classes = ctx.informers.informerFor<StorageClass>({ resource: STORAGE_CLASSES });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.nodes = ctx.informers.informerFor<Node>({ resource: NODES });
    this.events = ctx.recorder('persistentvolume-controller');
    this.logger = ctx.logger.child({ controller: 'persistentvolume' });
    const volumeChanged = (pv: PersistentVolume) => {
      this.queue.add(VOLUME + pv.metadata.name);
      const ref = pv.spec?.claimRef;
      if (ref?.name) this.queue.add(CLAIM + keyOf(ref.namespace, ref.name));
    };
    this.volumes.addEventHandler({ onAdd: volumeChanged, onUpdate: (_, pv) => volumeChanged(pv), onDelete: volumeChanged });
    const claimChanged = (pvc: PersistentVolumeClaim) => {
      this.queue.add(CLAIM + objectKey(pvc));
      if (pvc.spec?.volumeName) this.queue.add(VOLUME + pvc.spec.volumeName);
      // A volume pre-bound to this claim, or released by it, hears of it too.
      for (const pv of this.volumes.list()) {
        if (pv.spec?.claimRef?.name === pvc.metadata.name && pv.spec!.claimRef!.namespace === pvc.metadata.namespace) this.queue.add(VOLUME + pv.metadata.name);
      }
    };
    this.claims.addEventHandler({ onAdd: claimChanged, onUpdate: (_, pvc) => claimChanged(pvc), onDelete: claimChanged });
    const pendingClaims = () => {
      for (const pvc of this.claims.list()) if (!pvc.spec?.volumeName) this.queue.add(CLAIM + objectKey(pvc));
    };
    this.classes.addEventHandler({ onAdd: pendingClaims, onUpdate: pendingClaims, onDelete: () => undefined });
    this.nodes.addEventHandler({
      onAdd: pendingClaims,
      onUpdate: (old, node) => {
        if (old.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION] !== node.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION]) pendingClaims();
      },
      onDelete: () => undefined,
    });
    const podChanged = (pod: Pod) => {
      for (const claim of podClaimNames(pod)) this.queue.add(CLAIM + keyOf(pod.metadata.namespace, claim));
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (old, pod) => (podChanged(old), podChanged(pod)), onDelete: podChanged });
  }

  start(): RunningController {
    return runController({
      name: 'persistentvolume',
      queue: this.queue,
      workers: 1,
      logger: this.logger,
      waitFor: [this.volumes, this.claims, this.classes, this.pods, this.nodes],
      reconcile: this.ctx.metrics.instrument('persistentvolume', this.queue, (key) => this.reconcile(key)),
    });
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    if (key.startsWith(VOLUME)) return this.syncVolume(key.slice(VOLUME.length));
    if (key.startsWith(CLAIM)) return this.syncClaim(key.slice(CLAIM.length));
  }

  /** A pod that is not finished uses its claims (Kubernetes' pvc-protection counts those). */
  private claimInUse(pvc: PersistentVolumeClaim): boolean {
    return this.pods
      .list()
      .some((pod) => pod.metadata.namespace === pvc.metadata.namespace && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && podClaimNames(pod).includes(pvc.metadata.name!));
  }

  private defaultClass(): StorageClass | undefined {
    // Several defaults: the newest wins, as in Kubernetes.
    return this.classes
      .list()
      .filter(isDefaultStorageClass)
      .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''))[0];
  }

  private async syncClaim(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.claims.get(key);
    if (!cached) return;
    let pvc = clone(cached);
    if (pvc.metadata.deletionTimestamp) {
      const released = this.claimInUse(pvc) ? undefined : withoutFinalizer(pvc, PVC_PROTECTION_FINALIZER);
      if (released) await ignoreNotFound(this.ctx.client.update(PERSISTENT_VOLUME_CLAIMS, released));
      return;
    }
    const protectedClaim = withFinalizer(pvc, PVC_PROTECTION_FINALIZER);
    if (protectedClaim) pvc = await this.ctx.client.update(PERSISTENT_VOLUME_CLAIMS, protectedClaim);
    if (pvc.spec && pvc.spec.storageClassName === undefined && !pvc.spec.volumeName) {
      const fallback = this.defaultClass();
      if (fallback) {
        pvc.spec.storageClassName = fallback.metadata.name;
        pvc = await this.ctx.client.update(PERSISTENT_VOLUME_CLAIMS, pvc);
      }
    }

    const volumeName = pvc.spec?.volumeName;
    if (volumeName) {
      const pv = this.volumes.get(volumeName);
      if (!pv) {
        if (pvc.status?.phase === 'Bound') {
          this.events.record(pvc, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
          await this.setClaimStatus(pvc, { ...pvc.status, phase: 'Lost' });
        }
        return;
      }
      const ref = pv.spec?.claimRef;
      if (ref && ref.uid && ref.uid !== pvc.metadata.uid) {
        this.events.record(pvc, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
        return;
      }
      return this.bind(pv, pvc);
    }

    const className = pvc.spec?.storageClassName ?? '';
    const storageClass = className ? this.classes.get(className) : undefined;
    const selectedNode = pvc.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (storageClass?.volumeBindingMode === 'WaitForFirstConsumer' && !selectedNode) {
      await this.setClaimStatus(pvc, { phase: 'Pending' });
      this.events.record(pvc, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      return;
    }
    const node = selectedNode ? this.nodes.get(selectedNode) : undefined;
    if (selectedNode && !node) {
      this.events.record(pvc, 'Warning', 'ProvisioningFailed', `node "${selectedNode}" not found`);
      return;
    }
    const match = bestVolumeFor(pvc, this.volumes.list(), node);
    if (match) return this.bind(match, pvc);
    await this.setClaimStatus(pvc, { phase: 'Pending' });
    if (storageClass?.provisioner === LOCAL_PATH_PROVISIONER) return this.provisionLocalPath(pvc, storageClass, node);
    if (className && !storageClass) this.events.record(pvc, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
    else if (!storageClass) this.events.record(pvc, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
  }

  /** The node a volume of an Immediate class goes to: the first Ready node (by name) whose agent announced its directory. */
  private anyStorageNode(): Node | undefined {
    return this.nodes
      .list()
      .filter((node) => isNodeReady(node) && node.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION])
      .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))[0];
  }

  private async provisionLocalPath(pvc: PersistentVolumeClaim, storageClass: StorageClass, selected: Node | undefined): Promise<void | { requeueAfter: number }> {
    const name = `pvc-${pvc.metadata.uid}`;
    const existing = this.volumes.get(name);
    if (existing) return this.bind(existing, pvc);
    const node = selected ?? this.anyStorageNode();
    const dir = node?.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION];
    if (!node || !dir || !dir.startsWith('/')) {
      this.events.record(pvc, 'Normal', 'ExternalProvisioning', `Waiting for a volume to be created either by the node's agent or manually (no node has announced its ${LOCAL_PATH_DIR_ANNOTATION} yet)`);
      return { requeueAfter: NODE_WAIT_MS };
    }
    const nodeName = node.metadata.name!;
    if (pvc.metadata.annotations?.[STORAGE_PROVISIONER_ANNOTATION] !== LOCAL_PATH_PROVISIONER) {
      const annotated = clone(pvc);
      annotated.metadata.annotations = { ...annotated.metadata.annotations, [STORAGE_PROVISIONER_ANNOTATION]: LOCAL_PATH_PROVISIONER };
      pvc = await this.ctx.client.update(PERSISTENT_VOLUME_CLAIMS, annotated);
    }
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name,
        labels: { [LOCAL_PATH_NODE_LABEL]: nodeName },
        annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER },
        finalizers: [PV_PROTECTION_FINALIZER, LOCAL_PATH_FINALIZER],
      },
      spec: {
        capacity: { storage: pvc.spec!.resources!.requests!.storage },
        accessModes: pvc.spec?.accessModes,
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
        storageClassName: storageClass.metadata.name,
        volumeMode: 'Filesystem',
        // As k3s' local-path: `pvc-<uid>_<namespace>_<claim>`, created by the node's agent for the first pod.
        hostPath: { path: join(dir, `${name}_${pvc.metadata.namespace}_${pvc.metadata.name}`), type: 'DirectoryOrCreate' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] } },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
      },
    };
    const created = await this.ctx.client.create(PERSISTENT_VOLUMES, pv);
    this.events.record(pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${name} on node ${nodeName}`);
    return this.bind(created, pvc);
  }

  /** Binds volume and claim, the volume first (as Kubernetes: a claim never points at a volume that is not its own). */
  private async bind(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<void> {
    let pv = clone(volume);
    const ref = pv.spec?.claimRef;
    if (!ref || ref.uid !== claim.metadata.uid || ref.name !== claim.metadata.name) {
      pv.spec = {
        ...pv.spec,
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion },
      };
      pv.metadata.annotations = { ...pv.metadata.annotations, [BOUND_BY_CONTROLLER_ANNOTATION]: 'yes' };
      pv = await this.ctx.client.update(PERSISTENT_VOLUMES, pv);
    }
    if (pv.status?.phase !== 'Bound') await this.setVolumeStatus(pv, { phase: 'Bound' });

    let pvc = clone(claim);
    if (pvc.spec?.volumeName !== pv.metadata.name || pvc.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] !== 'yes') {
      pvc.spec = { ...pvc.spec, volumeName: pv.metadata.name };
      pvc.metadata.annotations = { ...pvc.metadata.annotations, [BIND_COMPLETED_ANNOTATION]: 'yes', [BOUND_BY_CONTROLLER_ANNOTATION]: 'yes' };
      pvc = await this.ctx.client.update(PERSISTENT_VOLUME_CLAIMS, pvc);
    }
    const status: PersistentVolumeClaimStatus = { phase: 'Bound', accessModes: pv.spec?.accessModes, capacity: pv.spec?.capacity };
    if (pvc.status?.phase !== 'Bound') this.events.record(pvc, 'Normal', 'Bound', `Bound to volume ${pv.metadata.name}`);
    await this.setClaimStatus(pvc, status);
  }

  private async syncVolume(name: string): Promise<void> {
    const cached = this.volumes.get(name);
    if (!cached) return;
    let pv = clone(cached);
    const ref = pv.spec?.claimRef;
    const claim = ref?.name ? this.claims.get(keyOf(ref.namespace, ref.name)) : undefined;
    const claimAlive = !!claim && (!ref?.uid || claim.metadata.uid === ref.uid);
    if (pv.metadata.deletionTimestamp) {
      const bound = claimAlive && claim!.spec?.volumeName === name;
      const released = bound ? undefined : withoutFinalizer(pv, PV_PROTECTION_FINALIZER);
      if (released) await ignoreNotFound(this.ctx.client.update(PERSISTENT_VOLUMES, released));
      return;
    }
    const protectedVolume = withFinalizer(pv, PV_PROTECTION_FINALIZER);
    if (protectedVolume) pv = await this.ctx.client.update(PERSISTENT_VOLUMES, protectedVolume);

    if (!ref) return this.setVolumeStatus(pv, { phase: 'Available' });
    if (claimAlive) {
      const claimVolume = claim!.spec?.volumeName;
      if (claimVolume === name) return this.setVolumeStatus(pv, { phase: 'Bound' });
      if (!claimVolume) return this.setVolumeStatus(pv, { phase: pv.status?.phase === 'Bound' ? 'Bound' : 'Available' });
      // The claim went to another volume: a volume bound by the controller is free again; one pre-bound by a user is not.
      if (pv.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION] === 'yes') {
        delete pv.spec!.claimRef;
        pv = await this.ctx.client.update(PERSISTENT_VOLUMES, pv);
        return this.setVolumeStatus(pv, { phase: 'Available' });
      }
      return;
    }
    if (!ref.uid) return this.setVolumeStatus(pv, { phase: 'Available' });
    // The claim it was bound to is gone.
    if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') await this.setVolumeStatus(pv, { phase: 'Released' });
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    if (localPathNode(pv)) {
      this.events.record(pv, 'Normal', 'VolumeDelete', `deleting volume ${name}: its node's agent removes the directory`);
      await ignoreNotFound(this.ctx.client.delete(PERSISTENT_VOLUMES, name));
      return;
    }
    const message = 'error getting deleter volume plugin for volume "' + name + '": no deletable volume plugin matched';
    if (pv.status?.phase !== 'Failed') this.events.record(pv, 'Warning', 'VolumeFailedDelete', message);
    await this.setVolumeStatus(pv, { phase: 'Failed', message });
  }

  private async setVolumeStatus(pv: PersistentVolume, status: PersistentVolumeStatus): Promise<void> {
    const { lastPhaseTransitionTime: _t, ...current } = pv.status ?? {};
    if (canonicalJson(current) === canonicalJson(status)) return;
    const phaseChanged = pv.status?.phase !== status.phase;
    const next = clone(pv);
    next.status = { ...status, lastPhaseTransitionTime: phaseChanged ? new Date().toISOString().replace(/\.\d+Z$/, 'Z') : pv.status?.lastPhaseTransitionTime };
    await ignoreNotFound(this.ctx.client.updateStatus(PERSISTENT_VOLUMES, next));
  }

  private async setClaimStatus(pvc: PersistentVolumeClaim, status: PersistentVolumeClaimStatus): Promise<void> {
    if (canonicalJson(pvc.status ?? {}) === canonicalJson(status)) return;
    const next = clone(pvc);
    next.status = status;
    await ignoreNotFound(this.ctx.client.updateStatus(PERSISTENT_VOLUME_CLAIMS, next));
  }
}
