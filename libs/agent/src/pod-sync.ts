import { resourceForKind, type Container as PodContainer, type Pod, type Service } from '@berth/api';
import type { KubeClient } from '@berth/client';
import type { ReconcileResult } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Container as RuntimeContainer, PodSandbox, RuntimeClient } from '@berth/runtime-client';
import type { Logger } from 'pino';
import { restartDelayMs, type BackoffPolicy } from './backoff';
import { formatGoDuration } from '@berth/flags';
import { runtimeContainerConfig, type ObjectSource, type PreparedVolume } from './container-spec';
import type { NodeAllocatable } from './downward-api';
import { LABELS, podLabels, runtimeContainerName, type ContainerKind } from './labels';
import { runHook, podGraceSeconds, stopContainer } from './lifecycle';
import { computePodStatus, DEADLINE_EXCEEDED, stableJson, type ObservedContainer, type Waiting } from './pod-status';
import type { ProbeManager, ProbeTarget } from './probes';
import { serviceEnvironment } from './service-links';
import { terminationLogMount, terminationMessage } from './termination-message';
import { podSandboxConfig, usesHostNetwork, type ClusterDnsSettings, type HostResolvConf } from './sandbox-config';
import { applyFsGroup } from './fs-group';
import { imageConfigUser, seccompDir } from './security';
import { ImagePuller } from './image-pull';

/** Where the agent reports what it did to a pod (kubelet's events: Created, Started, Killing, BackOff...). */
export interface PodEvents {
  record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
import { bindSubPath } from './subpath';
import { podDir, preparePodVolumes, removePodDir, subPathTarget } from './volumes';

export const POD_TYPE = resourceForKind('v1', 'Pod')!;

/** The calls the agent makes to runtimed. */
export type AgentRuntime = Pick<
  RuntimeClient,
  | 'version'
  | 'inspectImage'
  | 'pullImage'
  | 'listImages'
  | 'removeImage'
  | 'configureRegistries'
  | 'runPodSandbox'
  | 'stopPodSandbox'
  | 'removePodSandbox'
  | 'listPodSandboxes'
  | 'createContainer'
  | 'startContainer'
  | 'stopContainer'
  | 'removeContainer'
  | 'listContainers'
  | 'exec'
  | 'status'
  | 'updateRuntimeConfig'
>;

export type PodClient = Pick<KubeClient, 'get' | 'updateStatus' | 'delete'>;

export interface PodSyncOptions {
  client: PodClient;
  runtime: AgentRuntime;
  objects: ObjectSource;
  /** The pods bound to this node, by `namespace/name`. */
  podByKey(key: string): Pod | undefined;
  dataDir: string;
  hostIP: string;
  /** What a container without limits may use (the downward API shows it as its limits). */
  allocatable: NodeAllocatable;
  backoff: BackoffPolicy;
  logger: Logger;
  /** Grace period for containers of a pod the agent no longer knows (deleted while it was down). */
  orphanGraceSeconds: number;
  probes: ProbeManager;
  events: PodEvents;
  /** How often the ConfigMaps and Secrets that running pods' volumes show are read again from the API; default 60 s. */
  volumeRefreshMs?: number;
  /** The cluster's Services, for the variables kubelet gives containers (enableServiceLinks); none when absent. */
  services?(): readonly Service[];
  /** The cluster DNS pods on the pod network resolve names with. */
  cluster: ClusterDnsSettings;
  /** The node's resolv.conf, for pods that resolve as the node does. */
  hostResolvConf: HostResolvConf;
  /** Whether the runtime can put sandboxes on the pod network yet; the runtime decides alone when absent. */
  podNetworkReady?(): boolean;
}

const DEADLINE_RECHECK_MS = 3_600_000;

/** How often a pod waiting for the pod network looks again, besides being woken when it becomes ready. */
const NETWORK_RECHECK_MS = 5000;

/** Kubernetes' default terminationGracePeriodSeconds. */
const DEFAULT_GRACE_SECONDS = 30;
/** How often a pod whose containers are stopping is looked at for a shortened grace period. */
const GRACE_RECHECK_MS = 500;

const attemptOf = (c: RuntimeContainer) => Number(c.config.labels[LABELS.attempt] ?? 0);

/** The runs of one of the pod's containers, latest first. */
function runsOf(containers: RuntimeContainer[], name: string, kind: ContainerKind): RuntimeContainer[] {
  return containers.filter((c) => c.config.labels[LABELS.containerName] === name && c.config.labels[LABELS.containerKind] === kind).sort((a, b) => attemptOf(b) - attemptOf(a));
}
const isTerminalPhase = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** A pod's runtime objects, as runtimed lists them. */
interface PodRuntime {
  sandboxes: PodSandbox[];
  containers: RuntimeContainer[];
}

/** What one container needs next. */
type Step = { kind: 'done' } | { kind: 'wait'; waiting?: Waiting; retryMs?: number } | { kind: 'blocked' };

/**
 * The pod worker: for one pod key, makes runtimed match the pod (sandbox, volumes, init containers in
 * order, then the containers, restarted per restartPolicy with crash back-off), tears down what belongs
 * to no pod, and reports the pod's status. Everything it decides is derived from the pod and from the
 * labels on runtimed's objects, so a restarted agent picks up where the last one was, without restarts.
 */
export class PodSyncer {
  /** Grace periods of pods seen deleted, for tearing their containers down. */
  private readonly deletedGrace = new Map<string, number>();
  /** Makes containers' images present per their imagePullPolicy (kubelet's image manager). */
  private readonly images: ImagePuller;
  /** Per pod uid: its volumes as last made ready, and what they were made from. */
  private readonly volumes = new Map<string, PodVolumes>();
  /** Per pod uid: the termination messages of its ended runs, by container id (an ended run's message is final). */
  private readonly terminationMessages = new Map<string, Map<string, string>>();

  constructor(private readonly options: PodSyncOptions) {
    const { runtime, events, backoff, logger, objects } = options;
    this.images = new ImagePuller({ runtime, events, backoff, logger, secret: (namespace, name) => objects.secret(namespace, name) });
  }

  /** The informer saw the pod go: remember how long its containers may take to stop. */
  podDeleted(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (uid) this.deletedGrace.set(uid, graceSecondsOf(pod));
  }

  async reconcile(key: string): Promise<void | ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const pod = this.options.podByKey(key);
    const selector = { [LABELS.podNamespace]: namespace, [LABELS.podName]: name };
    const [sandboxes, containers] = await Promise.all([
      this.options.runtime.listPodSandboxes(selector),
      this.options.runtime.listContainers({ all: true, labels: selector }),
    ]);
    // Objects of an earlier pod of the same name (or of a pod that is gone) go first.
    const uid = pod?.metadata.uid;
    const stale = uidsOf(sandboxes, containers).filter((u) => u !== uid);
    for (const staleUid of stale) {
      const grace = this.deletedGrace.get(staleUid) ?? this.options.orphanGraceSeconds;
      await this.teardown(pickUid({ sandboxes, containers }, staleUid), (running) => this.stopAll(running, grace));
      await removePodDir(this.options.dataDir, staleUid);
      this.forget(staleUid);
    }
    if (!pod || !uid) return;
    const own = pickUid({ sandboxes, containers }, uid);
    if (pod.metadata.deletionTimestamp) return this.finishDeletion(key, pod, own);
    const waiting = new Map<string, Waiting>();
    let retryMs: number | undefined;
    const deadline = activeDeadline(pod);
    if (!isTerminalPhase(pod) && deadline !== undefined && Date.now() >= deadline) return this.failPastDeadline(pod, own);
    if (!isTerminalPhase(pod)) {
      // Looked at again when the deadline comes (at least hourly: a timer cannot wait for years).
      if (deadline !== undefined) retryMs = Math.min(deadline - Date.now(), DEADLINE_RECHECK_MS);
      const result = await this.syncContainers(pod, own, waiting);
      if (result.retryMs !== undefined) retryMs = Math.min(retryMs ?? Infinity, result.retryMs);
      if (hasFileVolumes(pod)) {
        await this.refreshVolumes(pod);
        retryMs = Math.min(retryMs ?? Infinity, this.volumeRefreshMs);
      }
    }
    // A finished pod's runtime objects are the ones just listed: nothing was started since.
    await this.reportStatus(pod, waiting, false, isTerminalPhase(pod) ? own : undefined);
    if (isTerminalPhase(pod)) await this.releaseEndedPodNetwork(pod, own);
    return retryMs !== undefined ? { requeueAfter: retryMs } : undefined;
  }

  /**
   * As kubelet: a pod that has ended (and says so) gives back its address, veth and host ports at once, so
   * a Job of many completions cannot use up the node's pod range; its containers, logs and status (podIP
   * included) stay until the pod is deleted.
   */
  private async releaseEndedPodNetwork(pod: Pod, own: PodRuntime): Promise<void> {
    if (own.containers.some((c) => c.state !== 'exited')) return;
    for (const sandbox of own.sandboxes) {
      if (sandbox.state !== 'ready') continue;
      await ignoreNotFound(this.options.runtime.stopPodSandbox(sandbox.id, 0));
      this.options.logger.info({ pod: podRef(pod), sandbox: sandbox.id }, 'pod sandbox stopped: the pod has ended');
    }
  }

  private forget(uid: string): void {
    this.options.probes.forgetPod(uid);
    this.deletedGrace.delete(uid);
    this.volumes.delete(uid);
    this.terminationMessages.delete(uid);
    this.images.forgetPod(uid);
  }

  /** Creates and starts what the pod needs now; returns when to look again, if no runtime event will say. */
  private async syncContainers(pod: Pod, own: PodRuntime, waiting: Map<string, Waiting>): Promise<{ retryMs?: number }> {
    if (this.waitsForNetwork(pod, own.sandboxes)) {
      // kubelet's "network is not ready": no sandbox yet, so every container is still being created.
      const message = 'network is not ready: the node has no pod CIDR yet (Node spec.podCIDR, assigned by the control plane)';
      this.options.events.record(pod, 'Warning', 'NetworkNotReady', message);
      allStillCreating(pod, waiting, message);
      return { retryMs: NETWORK_RECHECK_MS };
    }
    let sandbox: PodSandbox;
    try {
      sandbox = await this.ensureSandbox(pod, own.sandboxes);
    } catch (err) {
      if (!isBerthError(err) || err.reason === 'ServiceUnavailable') throw err;
      // Refused by the runtime (a port already published, a bad mapping): kubelet's FailedCreatePodSandBox.
      const message = `Failed to create pod sandbox: ${err.message}`;
      this.options.events.record(pod, 'Warning', 'FailedCreatePodSandBox', message);
      allStillCreating(pod, waiting, message);
      return { retryMs: this.options.backoff.initialMs };
    }
    let retryMs: number | undefined;
    const note = (container: string, step: Step) => {
      if (step.kind !== 'wait') return;
      if (step.waiting) waiting.set(container, step.waiting);
      if (step.retryMs !== undefined) retryMs = Math.min(retryMs ?? Infinity, step.retryMs);
    };
    // Once a container has run, init containers are never run again (as in Kubernetes), even if their records are gone.
    const appStarted = own.containers.some((c) => c.config.labels[LABELS.containerKind] === 'app');
    for (const spec of appStarted ? [] : (pod.spec?.initContainers ?? [])) {
      const step = await this.syncContainer(pod, sandbox, spec, 'init', own.containers);
      note(spec.name, step);
      if (step.kind !== 'done') return { retryMs };
    }
    for (const spec of pod.spec?.containers ?? []) note(spec.name, await this.syncContainer(pod, sandbox, spec, 'app', own.containers));
    return { retryMs };
  }

  /** A pod on the pod network that has no sandbox yet cannot get one before the node's network is ready. */
  private waitsForNetwork(pod: Pod, sandboxes: PodSandbox[]): boolean {
    return !usesHostNetwork(pod) && !sandboxes.some((s) => s.state === 'ready') && this.options.podNetworkReady?.() === false;
  }

  private async ensureSandbox(pod: Pod, sandboxes: PodSandbox[]): Promise<PodSandbox> {
    const ready = sandboxes.find((s) => s.state === 'ready');
    if (ready) return ready;
    for (const stopped of sandboxes) await this.options.runtime.removePodSandbox(stopped.id);
    const sandbox = await this.options.runtime.runPodSandbox(podSandboxConfig(pod, this.options.cluster, this.options.hostResolvConf));
    this.options.logger.info({ pod: podRef(pod), sandbox: sandbox.id, ip: sandbox.ip || undefined }, 'pod sandbox created');
    return sandbox;
  }

  /** The pod's address: its sandbox's on the pod network, the node's for hostNetwork pods. */
  private podIPOf(pod: Pod, sandbox: PodSandbox | undefined): string {
    return usesHostNetwork(pod) ? this.options.hostIP : (sandbox?.ip ?? '');
  }

  /** One container's next step: init containers are done when they exited 0, others when running (or finished for good). */
  private async syncContainer(pod: Pod, sandbox: PodSandbox, spec: PodContainer, kind: ContainerKind, all: RuntimeContainer[]): Promise<Step> {
    const [current, previous, ...older] = runsOf(all, spec.name, kind);
    for (const old of older) await this.options.runtime.removeContainer(old.id, { force: true });
    if (!current) return this.startRun(pod, sandbox, spec, kind, 0, []);
    if (kind === 'app' && current.state !== 'exited' && current.config.image !== spec.image) {
      // The pod's image was updated (the one change a pod's containers allow): kubelet restarts the container.
      this.options.events.record(pod, 'Normal', 'Killing', `Container ${spec.name} definition changed, will be restarted`);
      if (current.state !== 'running') return this.startRun(pod, sandbox, spec, kind, attemptOf(current) + 1, [current, ...(previous ? [previous] : [])]);
      await stopContainer(this.options.runtime, this.options.events, pod, this.targetOf(pod, sandbox, spec, current.id), podGraceSeconds(pod));
      return this.startRun(pod, sandbox, spec, kind, attemptOf(current) + 1, previous ? [previous] : []);
    }
    if (current.state === 'created') {
      await this.options.runtime.startContainer(current.id);
      return { kind: kind === 'init' ? 'blocked' : 'done' };
    }
    if (current.state === 'running') return { kind: kind === 'init' ? 'blocked' : 'done' };
    const exitCode = current.exit?.exitCode ?? 0;
    if (kind === 'init' && exitCode === 0) return { kind: 'done' };
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const restart = kind === 'init' ? policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (!restart) return { kind: kind === 'init' ? 'blocked' : 'done' };
    const restartCount = attemptOf(current);
    const lastRunMs = Date.parse(current.exit?.exitedAt ?? '') - Date.parse(current.startedAt);
    const delay = restartDelayMs(this.options.backoff, restartCount, Number.isFinite(lastRunMs) ? lastRunMs : 0);
    const finishedAt = Date.parse(current.exit?.exitedAt ?? '') || 0;
    const remaining = finishedAt + delay - Date.now();
    if (remaining > 0) {
      this.options.events.record(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${spec.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`);
      const message = `back-off ${formatGoDuration(delay)} restarting failed container=${spec.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
      return { kind: 'wait', waiting: { reason: 'CrashLoopBackOff', message }, retryMs: remaining };
    }
    return this.startRun(pod, sandbox, spec, kind, restartCount + 1, previous ? [previous] : []);
  }

  /** Creates and starts run `attempt` of the container; the runs in `superseded` are removed once it exists. */
  private async startRun(pod: Pod, sandbox: PodSandbox, spec: PodContainer, kind: ContainerKind, attempt: number, superseded: RuntimeContainer[]): Promise<Step> {
    const image = await this.images.ensureImage(pod, spec);
    if (!image.ok) return { kind: 'wait', waiting: { reason: image.reason, message: image.message }, retryMs: image.retryMs };
    const imageUser = imageConfigUser(image.details);
    let config;
    try {
      const volumes = await this.podVolumes(pod);
      config = await runtimeContainerConfig({
        pod,
        container: spec,
        objects: this.options.objects,
        ctx: {
          podIP: this.podIPOf(pod, sandbox),
          hostIP: this.options.hostIP,
          allocatable: this.options.allocatable,
          serviceEnv: serviceEnvironment(this.options.services?.() ?? [], pod.metadata.namespace ?? 'default', pod.spec?.enableServiceLinks !== false),
        },
        volumes,
        bindSubPath: (volume, mount, subPath, index) => this.bindSubPath(pod, spec.name, volume, mount.name, subPath, index),
        name: runtimeContainerName(pod, spec.name, attempt),
        sandboxId: sandbox.id,
        labels: {
          ...podLabels(pod),
          [LABELS.containerName]: spec.name,
          [LABELS.containerKind]: kind,
          [LABELS.attempt]: String(attempt),
          ...(spec.stdin && spec.stdinOnce ? { [LABELS.stdinOnce]: 'true' } : {}),
        },
        seccompDir: seccompDir(this.options.dataDir),
        imageUser,
      });
      const terminationLog = await terminationLogMount(podDir(this.options.dataDir, pod.metadata.uid ?? ''), spec, attempt);
      if (terminationLog) config.mounts = [...(config.mounts ?? []), terminationLog];
    } catch (err) {
      if (!isBerthError(err)) throw err;
      this.options.events.record(pod, 'Warning', 'Failed', `Error: ${err.message}`);
      return { kind: 'wait', waiting: { reason: 'CreateContainerConfigError', message: err.message }, retryMs: this.options.backoff.initialMs };
    }
    let created: RuntimeContainer;
    try {
      created = await this.options.runtime.createContainer(config);
    } catch (err) {
      if (!isBerthError(err) || err.reason === 'ServiceUnavailable') throw err;
      this.options.events.record(pod, 'Warning', 'Failed', `Error: ${err.message}`);
      // Invalid: the config can't be honoured as asked (a user the image lacks, runAsNonRoot with a root
      // image, a bad seccomp profile), which kubelet finds while generating the config.
      const reason = err.reason === 'Invalid' ? 'CreateContainerConfigError' : 'CreateContainerError';
      return { kind: 'wait', waiting: { reason, message: err.message }, retryMs: this.options.backoff.initialMs };
    }
    this.options.events.record(pod, 'Normal', 'Created', `Created container ${spec.name}`);
    for (const old of superseded) await this.options.runtime.removeContainer(old.id, { force: true });
    try {
      await this.options.runtime.startContainer(created.id);
    } catch (err) {
      if (!isBerthError(err) || err.reason === 'ServiceUnavailable') throw err;
      this.options.events.record(pod, 'Warning', 'Failed', `Error: ${err.message}`);
      return { kind: 'wait', waiting: { reason: 'RunContainerError', message: err.message }, retryMs: this.options.backoff.initialMs };
    }
    this.options.events.record(pod, 'Normal', 'Started', `Started container ${spec.name}`);
    this.options.logger.info({ pod: podRef(pod), container: spec.name, attempt, id: created.id }, 'container started');
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      // As kubelet: the pod waits for the hook (bounded here by the pod's grace period); a failed hook kills the container.
      const target = this.targetOf(pod, sandbox, spec, created.id);
      const result = await runHook(this.options.runtime, postStart, target, podGraceSeconds(pod) * 1000);
      if (!result.ok) {
        const message = `PostStartHook failed: ${result.message ?? ''}`.trim();
        this.options.events.record(pod, 'Warning', 'FailedPostStartHook', message);
        await stopContainer(this.options.runtime, this.options.events, pod, target, podGraceSeconds(pod));
        return { kind: 'wait', waiting: { reason: 'PostStartHookError', message }, retryMs: this.options.backoff.initialMs };
      }
    }
    return { kind: kind === 'init' ? 'blocked' : 'done' };
  }

  /** Where probes and hooks reach one of the pod's running containers. */
  private targetOf(pod: Pod, sandbox: PodSandbox | undefined, spec: PodContainer, containerId: string): ProbeTarget {
    return { containerId, container: spec, networkNamespace: sandbox?.networkNamespace ?? '', podIP: this.podIPOf(pod, sandbox) };
  }

  /**
   * kubelet's activeDeadlineSeconds: a pod running longer than it allows is failed for good, its running
   * containers stopped (preStop hooks first) and its status Failed with reason DeadlineExceeded.
   */
  private async failPastDeadline(pod: Pod, own: PodRuntime): Promise<void> {
    this.options.events.record(pod, 'Normal', DEADLINE_EXCEEDED.reason, DEADLINE_EXCEEDED.message);
    const running = own.containers.filter((c) => c.state === 'running');
    await this.stopWithHooks(pod, own.sandboxes, running, podGraceSeconds(pod));
    await this.reportStatus(pod, new Map(), true);
  }

  /** Stops the pod's running containers as kubelet does, each after its preStop hook. */
  private async stopWithHooks(pod: Pod, sandboxes: PodSandbox[], running: RuntimeContainer[], graceSeconds: number): Promise<void> {
    const sandbox = sandboxes.find((s) => s.state === 'ready');
    const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    await Promise.all(
      running.map((c) => {
        const spec = specs.find((s) => s.name === c.config.labels[LABELS.containerName]);
        const stop = spec ? stopContainer(this.options.runtime, this.options.events, pod, this.targetOf(pod, sandbox, spec, c.id), graceSeconds) : this.options.runtime.stopContainer(c.id, graceSeconds);
        return ignoreNotFound(stop);
      }),
    );
  }

  private get volumeRefreshMs(): number {
    return this.options.volumeRefreshMs ?? 60_000;
  }

  /**
   * The pod's volumes, ready for its containers. Volumes of files show the pod as it is now (labels and
   * annotations change) and the ConfigMaps and Secrets as last read: those are read again once per refresh
   * period, as kubelet's TTL cache does, not on every look at the pod. Making them ready costs a walk of the
   * host (hostPath checks, mountinfo for tmpfs emptyDirs, every file of every volume of files read back), so
   * it is done again only when one of those two can have changed; every other sync and container start
   * takes the volumes as they were made. fsGroup: the volumes the agent writes get it with each new payload
   * (preparePodVolumes), the others when first made ready.
   */
  private async podVolumes(pod: Pod): Promise<Map<string, PreparedVolume>> {
    const uid = pod.metadata.uid ?? '';
    const shown = shownPodFields(pod);
    let known = this.volumes.get(uid);
    // Until they were once made ready (a missing ConfigMap fails the first try, after its emptyDirs were made).
    const firstSetup = !known?.prepared;
    if (!known || Date.now() - known.at >= this.volumeRefreshMs) {
      known = { objects: rememberedObjects(this.options.objects), at: Date.now(), prepared: known?.prepared };
      this.volumes.set(uid, known);
    } else if (known.prepared && known.shown === shown) return known.prepared;
    const prepared = await preparePodVolumes(this.options.dataDir, pod, known.objects, this.options.allocatable);
    // The volumes the agent writes got fsGroup as they were written (preparePodVolumes): the walk is for the others.
    if (firstSetup) await applyFsGroup(pod, new Map([...prepared].filter(([, volume]) => !volume.readOnly)), true);
    known.prepared = prepared;
    known.shown = shown;
    return prepared;
  }

  /** Rewrites a running pod's volumes of files; a failure keeps what they show and says why (kubelet's FailedMount). */
  private async refreshVolumes(pod: Pod): Promise<void> {
    try {
      await this.podVolumes(pod);
    } catch (err) {
      if (!isBerthError(err) || err.reason === 'ServiceUnavailable') throw err;
      this.options.events.record(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${err.message}`);
    }
  }

  /** A subPath mount of one of the pod's containers, bound safely below the pod's directory (see bindSubPath). */
  private async bindSubPath(pod: Pod, container: string, volume: PreparedVolume, volumeName: string, subPath: string, mountIndex: number): Promise<string> {
    const target = subPathTarget(this.options.dataDir, pod.metadata.uid ?? '', volumeName, container, mountIndex);
    await bindSubPath(volume.hostPath, subPath, volumeName, target);
    return target;
  }

  /** A pod marked for deletion: its containers get their grace period, then the agent deletes it for good. */
  private async finishDeletion(key: string, pod: Pod, own: PodRuntime): Promise<void> {
    const uid = pod.metadata.uid!;
    for (const c of own.containers) {
      if (c.state === 'running') this.options.events.record(pod, 'Normal', 'Killing', `Stopping container ${c.config.labels[LABELS.containerName]}`);
    }
    await this.teardown(own, (running) => this.stopWithinGrace(key, pod, running, own.sandboxes));
    await removePodDir(this.options.dataDir, uid);
    this.forget(uid);
    try {
      await this.options.client.delete(POD_TYPE, pod.metadata.name!, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      // Gone already, or a new pod took the name (the uid precondition failed): nothing of ours to delete.
      if (!isBerthError(err, 'NotFound') && !isBerthError(err, 'Conflict')) throw err;
    }
  }

  /**
   * Stops the running containers of a pod being deleted within its grace period. A later DELETE may cut
   * the period short (or force the pod out); this worker holds the pod's key meanwhile, so it looks for
   * that itself and stops them again with what is left of the shorter period.
   */
  private async stopWithinGrace(key: string, pod: Pod, running: RuntimeContainer[], sandboxes: PodSandbox[]): Promise<void> {
    if (!running.length) return;
    const uid = pod.metadata.uid!;
    const startedAt = Date.now();
    let grace = graceSecondsOf(pod);
    let stopped = false;
    // preStop hooks run once, in the first stop; a shortened grace period cuts them short with a plain stop.
    const stops = [this.stopWithHooks(pod, sandboxes, running, grace).finally(() => (stopped = true))];
    while (!stopped) {
      await Promise.race([stops[0], new Promise((resolve) => setTimeout(resolve, GRACE_RECHECK_MS).unref())]);
      const latest = this.options.podByKey(key);
      const wanted = latest?.metadata.uid === uid ? graceSecondsOf(latest) : (this.deletedGrace.get(uid) ?? grace);
      if (stopped || wanted >= grace) continue;
      grace = wanted;
      const shortened = this.stopAll(running, Math.max(0, Math.ceil(grace - (Date.now() - startedAt) / 1000)));
      shortened.catch(() => undefined); // awaited below, with the first
      stops.push(shortened);
    }
    await Promise.all(stops);
  }

  /** SIGTERM to each container, SIGKILL to those still running after the grace period. */
  private async stopAll(running: RuntimeContainer[], graceSeconds: number): Promise<void> {
    await Promise.all(running.map((c) => ignoreNotFound(this.options.runtime.stopContainer(c.id, graceSeconds))));
  }

  /** Stops the running containers (as `stop` says), then removes every container and the sandboxes. */
  private async teardown(own: PodRuntime, stop: (running: RuntimeContainer[]) => Promise<void>): Promise<void> {
    const { runtime, logger } = this.options;
    await stop(own.containers.filter((c) => c.state === 'running'));
    await Promise.all(own.containers.map((c) => ignoreNotFound(runtime.removeContainer(c.id, { force: true }))));
    for (const sandbox of own.sandboxes) {
      await ignoreNotFound(runtime.stopPodSandbox(sandbox.id, 0));
      await ignoreNotFound(runtime.removePodSandbox(sandbox.id));
    }
    if (own.containers.length || own.sandboxes.length) {
      const labels = own.sandboxes[0]?.labels ?? own.containers[0]?.config.labels ?? {};
      logger.info({ pod: `${labels[LABELS.podNamespace]}/${labels[LABELS.podName]}`, uid: labels[LABELS.podUid] }, 'pod torn down');
    }
  }

  private async podRuntime(uid: string): Promise<PodRuntime> {
    const [sandboxes, containers] = await Promise.all([
      this.options.runtime.listPodSandboxes({ [LABELS.podUid]: uid }),
      this.options.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: uid } }),
    ]);
    return { sandboxes, containers };
  }

  /** Writes pods/status when what the node observes (listed now, unless `observed` is given) differs from what the pod says. */
  private async reportStatus(pod: Pod, waiting: Map<string, Waiting>, deadlineExceeded = false, observed?: PodRuntime): Promise<void> {
    const uid = pod.metadata.uid!;
    const { sandboxes, containers } = observed ?? (await this.podRuntime(uid));
    const sandbox = sandboxes.find((s) => s.state === 'ready');
    const podIP = this.podIPOf(pod, sandbox);
    const running = (pod.spec?.containers ?? []).flatMap((spec) => {
      const current = runsOf(containers, spec.name, 'app')[0];
      return current?.state === 'running' ? [{ containerId: current.id, container: spec, networkNamespace: sandbox?.networkNamespace ?? '', podIP }] : [];
    });
    this.options.probes.syncPod(pod, isTerminalPhase(pod) ? [] : running);
    const dir = podDir(this.options.dataDir, uid);
    // Read once per ended run (with FallbackToLogsOnError, from the end of its log), not on every report;
    // the runtime says exited once the run's output has ended. Kept for the runs the pod still has.
    const known = this.terminationMessages.get(uid);
    const messages = new Map<string, string>();
    const message = async (spec: PodContainer, run: RuntimeContainer | undefined) => {
      if (run?.state !== 'exited') return '';
      const text = known?.get(run.id) ?? (await terminationMessage(dir, spec, run, attemptOf(run)));
      messages.set(run.id, text);
      return text;
    };
    const observe = async (kind: ContainerKind) => {
      const byName = new Map<string, ObservedContainer>();
      const specs = kind === 'init' ? (pod.spec?.initContainers ?? []) : (pod.spec?.containers ?? []);
      for (const spec of specs) {
        const [current, previous] = runsOf(containers, spec.name, kind);
        byName.set(spec.name, {
          current,
          previous,
          restartCount: current ? attemptOf(current) : 0,
          waiting: waiting.get(spec.name),
          ready: current ? this.options.probes.isReady(uid, current.id, spec) : false,
          started: current ? this.options.probes.isStarted(uid, current.id, spec) : false,
          currentMessage: await message(spec, current),
          previousMessage: await message(spec, previous),
        });
      }
      return byName;
    };
    // Waiting reasons are per container name; an init and an app container never share one (the API forbids it).
    const status = computePodStatus({
      pod,
      init: await observe('init'),
      app: await observe('app'),
      hostIP: this.options.hostIP,
      podIP,
      sandboxReady: !!sandbox,
      deadlineExceeded,
      now: new Date(),
    });
    this.terminationMessages.set(uid, messages);
    if (stableJson(status) === stableJson(pod.status ?? {})) return;
    await this.options.client.updateStatus<Pod>(POD_TYPE, { ...pod, status });
  }
}

/** No sandbox, so no container of the pod can be created yet: each waits, saying why. */
function allStillCreating(pod: Pod, waiting: Map<string, Waiting>, message: string): void {
  for (const spec of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) waiting.set(spec.name, { reason: 'ContainerCreating', message });
}

/** Volumes whose files the agent writes, and keeps up to date. */
function hasFileVolumes(pod: Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.configMap || v.secret || v.downwardAPI || v.projected);
}

/** A pod's volumes as the syncer last made them ready. */
interface PodVolumes {
  /** The ConfigMaps and Secrets they show, each read once from `at` on (rememberedObjects). */
  objects: ObjectSource;
  at: number;
  /** The volumes by name once made ready from `objects`, and the fields of the pod they showed then (shownPodFields). */
  prepared?: Map<string, PreparedVolume>;
  shown?: string;
}

/** What of a running pod its volumes show that can change: its labels and annotations (downwardAPI files); the rest of what they show of it is immutable. */
function shownPodFields(pod: Pod): string {
  return stableJson([pod.metadata.labels ?? {}, pod.metadata.annotations ?? {}]);
}

/** An ObjectSource that reads each ConfigMap and Secret once (a failed read is tried again next time). */
function rememberedObjects(objects: ObjectSource): ObjectSource {
  const read = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let pending = read.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = load();
      read.set(key, pending);
      pending.catch(() => read.delete(key));
    }
    return pending;
  };
  return {
    configMap: (namespace, name) => once(`configmap/${namespace}/${name}`, () => objects.configMap(namespace, name)),
    secret: (namespace, name) => once(`secret/${namespace}/${name}`, () => objects.secret(namespace, name)),
    claim: objects.claim && ((namespace, name) => objects.claim!(namespace, name)),
    volume: objects.volume && ((name) => objects.volume!(name)),
    // Tokens are cached (and renewed) by the source itself.
    ...(objects.serviceAccountToken ? { serviceAccountToken: objects.serviceAccountToken.bind(objects) } : {}),
  };
}

/** When the pod's activeDeadlineSeconds runs out (counted from its startTime, as kubelet), if it has one and has started. */
function activeDeadline(pod: Pod): number | undefined {
  const seconds = pod.spec?.activeDeadlineSeconds;
  const start = Date.parse(pod.status?.startTime ?? '');
  return seconds === undefined || !Number.isFinite(start) ? undefined : start + seconds * 1000;
}

/** The grace the pod's deletion gave its containers (0: killed at once), or its own period if it was never marked. */
function graceSecondsOf(pod: Pod): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
}

function uidsOf(sandboxes: PodSandbox[], containers: RuntimeContainer[]): string[] {
  const uids = new Set<string>();
  for (const s of sandboxes) uids.add(s.labels[LABELS.podUid] ?? '');
  for (const c of containers) uids.add(c.config.labels[LABELS.podUid] ?? '');
  return [...uids];
}

function pickUid(all: PodRuntime, uid: string): PodRuntime {
  return {
    sandboxes: all.sandboxes.filter((s) => (s.labels[LABELS.podUid] ?? '') === uid),
    containers: all.containers.filter((c) => (c.config.labels[LABELS.podUid] ?? '') === uid),
  };
}

async function ignoreNotFound(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!isBerthError(err, 'NotFound')) throw err;
  }
}

function podRef(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

