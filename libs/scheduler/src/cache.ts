import type { Node, Pod } from '@berth/api';
import { NodeInfo } from './node-info';
import { podInfoOf, type PodInfo } from './pod-info';

/** Pods that ran to completion hold no resources. */
export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

interface Assumption {
  uid: string;
  nodeName: string;
  /** Set once the binding succeeded: by then the informer should confirm it soon. */
  expiresAt?: number;
}

/**
 * The scheduler's view of the cluster: nodes with the pods counted on them. Pods come from the informer
 * when they are bound, and are "assumed" the moment the scheduler decides, before the binding is even sent,
 * so back-to-back decisions see each other and never overcommit a node while the informer catches up.
 */
export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Where each counted pod is counted. */
  private readonly placed = new Map<string, { nodeName: string; uid: string }>();
  private readonly assumed = new Map<string, Assumption>();

  constructor(private readonly assumeTtlMs = 30_000) {}

  setNode(node: Node): void {
    this.nodeInfo(node.metadata.name ?? '').setNode(node);
  }

  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (!info) return;
    info.setNode(undefined);
    // Pods still bound to a deleted node keep their record until they go, as in Kubernetes.
    if (info.isEmpty) this.nodes.delete(name);
  }

  /** Nodes that exist (not just names pods are bound to). */
  *candidateNodes(): Iterable<NodeInfo> {
    for (const info of this.nodes.values()) if (info.node) yield info;
  }

  get nodeCount(): number {
    let count = 0;
    for (const info of this.nodes.values()) if (info.node) count++;
    return count;
  }

  getNode(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  /**
   * Brings one pod's accounting in line with the informer's view of it (undefined: deleted). A pod the
   * scheduler assumed stays counted while the informer still shows it unbound.
   */
  syncPod(key: string, pod: Pod | undefined): void {
    const assumption = this.assumed.get(key);
    const nodeName = pod?.spec?.nodeName;
    // A pod that succeeded stays counted, for pod (anti-)affinity only (see NodeInfo).
    if (pod && nodeName && (!isTerminal(pod) || pod.status?.phase === 'Succeeded')) {
      if (assumption) this.assumed.delete(key);
      this.place(podInfoOf(pod), nodeName);
      return;
    }
    if (assumption && pod && !nodeName && assumption.uid === pod.metadata.uid) return;
    this.assumed.delete(key);
    this.unplace(key);
  }

  /** Counts a pod on the node chosen for it before the binding is sent. */
  assume(pod: PodInfo, nodeName: string): void {
    this.assumed.set(pod.key, { uid: pod.uid, nodeName });
    this.place(pod, nodeName);
  }

  /** The binding went through: the informer will confirm it, and if it never does the assumption lapses. */
  finishBinding(key: string, now = Date.now()): void {
    const assumption = this.assumed.get(key);
    if (assumption) assumption.expiresAt = now + this.assumeTtlMs;
  }

  /** The binding failed: the pod no longer holds anything on that node. */
  forget(key: string): void {
    if (!this.assumed.delete(key)) return;
    this.unplace(key);
  }

  isAssumed(key: string, uid: string | undefined): boolean {
    return this.assumed.get(key)?.uid === uid;
  }

  /** Drops assumptions the informer never confirmed; answers whether any went. */
  expireAssumed(now = Date.now()): boolean {
    let expired = false;
    for (const [key, assumption] of this.assumed) {
      if (assumption.expiresAt !== undefined && assumption.expiresAt <= now) {
        this.forget(key);
        expired = true;
      }
    }
    return expired;
  }

  get assumedCount(): number {
    return this.assumed.size;
  }

  private nodeInfo(name: string): NodeInfo {
    let info = this.nodes.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.nodes.set(name, info);
    }
    return info;
  }

  private place(pod: PodInfo, nodeName: string): void {
    const previous = this.placed.get(pod.key);
    if (previous && previous.nodeName !== nodeName) this.unplace(pod.key);
    this.nodeInfo(nodeName).addPod(pod);
    this.placed.set(pod.key, { nodeName, uid: pod.uid });
  }

  private unplace(key: string): void {
    const previous = this.placed.get(key);
    if (!previous) return;
    this.placed.delete(key);
    const info = this.nodes.get(previous.nodeName);
    info?.removePod(key);
    if (info?.isEmpty) this.nodes.delete(previous.nodeName);
  }
}
