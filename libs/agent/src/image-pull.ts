import { defaultPullPolicy, type Container as PodContainer, type Pod, type Secret } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { formatGoDuration } from '@berth/flags';
import { parseReference } from '@berth/image';
import type { ImageDetails, RegistryAuth, RuntimeClient } from '@berth/runtime-client';
import type { Logger } from 'pino';
import type { BackoffPolicy } from './backoff';
import type { DockerConfig } from '@berth/registry-auth';
import { credentialsFor, pullSecretConfig } from './pull-secrets';

/** The runtime calls the puller makes: pullImage without auth takes what the node's registries.yaml gives, or none. */
export type PullRuntime = Pick<RuntimeClient, 'inspectImage' | 'pullImage'>;

/** Where the puller reports what it did, as kubelet's image manager (Pulling, Pulled, Failed, BackOff...). */
export interface PullEvents {
  record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export type ImageOutcome =
  | { ok: true; details: ImageDetails }
  | { ok: false; reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName'; message: string; retryMs?: number };

export interface ImagePullerOptions {
  runtime: PullRuntime;
  events: PullEvents;
  backoff: BackoffPolicy;
  logger: Logger;
  /** A Secret of the pod's namespace (undefined when it does not exist). */
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** kubelet's flowcontrol.Backoff entry for one pod and image. */
interface Backoff {
  delayMs: number;
  /** When the last pull failed. */
  at: number;
  message: string;
}

/**
 * kubelet's image manager: makes a container's image present as its imagePullPolicy says (Never: only
 * check; IfNotPresent: pull when absent; Always: pull on every container start, which costs a manifest
 * request when the digest did not change), with the pod's imagePullSecrets, writing the kubelet's events.
 * A failed pull puts that pod and image in back-off (kubelet's 10 s doubling to 5 min): until it runs
 * out the container waits with ImagePullBackOff and no pull is tried. Pulls of different images run at
 * once (serializeImagePulls=false); concurrent pulls of one image with the same credentials share one call.
 */
export class ImagePuller {
  private readonly backoffs = new Map<string, Backoff>();
  private readonly inFlight = new Map<string, Promise<PullDone>>();

  constructor(private readonly options: ImagePullerOptions) {}

  async ensureImage(pod: Pod, container: PodContainer): Promise<ImageOutcome> {
    const { events, runtime } = this.options;
    const image = container.image ?? '';
    try {
      parseReference(image);
    } catch (err) {
      const message = `Failed to apply default image tag "${image}": ${(err as Error).message}`;
      events.record(pod, 'Warning', 'InspectFailed', message);
      events.record(pod, 'Warning', 'Failed', 'Error: InvalidImageName');
      return { ok: false, reason: 'InvalidImageName', message };
    }
    const policy = container.imagePullPolicy ?? defaultPullPolicy(image);
    const present = policy === 'Always' ? undefined : await presentImage(runtime, image);
    if (present) {
      events.record(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return { ok: true, details: present };
    }
    if (policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      events.record(pod, 'Warning', 'ErrImageNeverPull', message);
      events.record(pod, 'Warning', 'Failed', 'Error: ErrImageNeverPull');
      // Looked at again later: the image may be loaded onto the node by hand meanwhile.
      return { ok: false, reason: 'ErrImageNeverPull', message, retryMs: this.options.backoff.initialMs };
    }
    const key = `${pod.metadata.uid ?? ''}/${image}`;
    const now = Date.now();
    const backoff = this.backoffs.get(key);
    if (backoff && now - backoff.at < backoff.delayMs) {
      events.record(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      events.record(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      return { ok: false, reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: ${backoff.message}`, retryMs: backoff.at + backoff.delayMs - now };
    }
    const auths = credentialsFor(image, await this.pullCredentials(pod));
    events.record(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    let done: PullDone;
    try {
      done = await this.pullOnce(image, auths);
    } catch (err) {
      // Any failure of the pull is the pod's ErrImagePull, as kubelet's: an unreachable registry is
      // ServiceUnavailable too, and so is a runtimed that is down (the kubelet backs off from that as well).
      if (!isBerthError(err)) throw err;
      // The event names the image; the container's waiting message is the runtime's error, as kubelet's.
      const message = err.message;
      events.record(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`);
      events.record(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
      // kubelet's Backoff.Next: the first failure waits the initial delay, each later one twice the last;
      // a back-off last bumped more than twice the maximum ago starts over.
      const { initialMs, maxMs } = this.options.backoff;
      const delayMs = backoff && now - backoff.at <= 2 * maxMs ? Math.min(backoff.delayMs * 2, maxMs) : initialMs;
      this.backoffs.set(key, { delayMs, at: Date.now(), message });
      return { ok: false, reason: 'ErrImagePull', message, retryMs: delayMs };
    }
    this.backoffs.delete(key);
    const tookMs = done.finishedAt - done.startedAt;
    const waitedMs = done.finishedAt - now;
    events.record(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${formatGoDuration(tookMs)} (${formatGoDuration(waitedMs)} including waiting). Image size: ${done.size} bytes.`);
    return { ok: true, details: done.details };
  }

  /** Forgets the back-off of a pod that is gone. */
  forgetPod(uid: string): void {
    for (const key of this.backoffs.keys()) if (key.startsWith(`${uid}/`)) this.backoffs.delete(key);
  }

  /** The docker configs of the pod's imagePullSecrets, in its order; a missing or unreadable one is skipped with kubelet's warning. */
  private async pullCredentials(pod: Pod): Promise<DockerConfig[]> {
    const namespace = pod.metadata.namespace ?? 'default';
    const names = (pod.spec?.imagePullSecrets ?? []).map((ref) => ref.name).filter((name): name is string => typeof name === 'string' && name !== '');
    const configs: DockerConfig[] = [];
    const missing: string[] = [];
    for (const name of names) {
      let secret: Secret | undefined;
      try {
        secret = await this.options.secret(namespace, name);
      } catch (err) {
        if (!isBerthError(err) || err.reason === 'ServiceUnavailable') throw err;
      }
      if (!secret) {
        missing.push(`"${name}"`);
        continue;
      }
      try {
        configs.push(pullSecretConfig(secret));
      } catch (err) {
        if (!isBerthError(err)) throw err;
        this.options.logger.warn({ pod: `${namespace}/${pod.metadata.name}`, err: err.message }, 'image pull secret skipped');
        missing.push(`"${name}"`);
      }
    }
    if (missing.length) {
      this.options.events.record(pod, 'Warning', 'FailedToRetrieveImagePullSecret', `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`);
    }
    return configs;
  }

  /** One pull of `image` with these credentials at a time; callers that come while it runs share it. */
  private pullOnce(image: string, auths: RegistryAuth[]): Promise<PullDone> {
    const key = JSON.stringify([image, auths]);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.pull(image, auths).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Each matching credential in turn, then none (what the node's own registry configuration gives); the first that works wins. */
  private async pull(image: string, auths: RegistryAuth[]): Promise<PullDone> {
    const { runtime, logger } = this.options;
    const startedAt = Date.now();
    const failures: BerthError[] = [];
    for (const auth of [...auths, undefined]) {
      try {
        const pulled = await runtime.pullImage(image, auth ? { auth } : {});
        const details = await runtime.inspectImage(image);
        logger.info({ image, digest: pulled.digest }, 'image pulled');
        return { details, size: pulled.image.size, startedAt, finishedAt: Date.now() };
      } catch (err) {
        if (!isBerthError(err)) throw err;
        failures.push(err);
      }
    }
    // One error when one attempt was made; kubelet's aggregate ("[a, b]") when several were.
    if (failures.length === 1) throw failures[0];
    throw new BerthError(failures[failures.length - 1]!.reason, `[${failures.map((f) => f.message).join(', ')}]`);
  }
}

interface PullDone {
  details: ImageDetails;
  size: number;
  startedAt: number;
  finishedAt: number;
}

async function presentImage(runtime: PullRuntime, image: string): Promise<ImageDetails | undefined> {
  try {
    return await runtime.inspectImage(image);
  } catch (err) {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  }
}
