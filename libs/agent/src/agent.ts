import { ServiceAccountTokenSource } from './service-account-token';
import { LOCAL_PATH_DIR_ANNOTATION, resourceForKind, type ConfigMap, type KubeObject, type PersistentVolume, type PersistentVolumeClaim, type Pod, type Secret, type Service } from '@berth/api';
import type { ClusterConnection, KubeClient } from '@berth/client';
import { clientListWatch, EventRecorder, objectKey, runController, SharedInformerFactory, WorkQueue, type Informer, type RunningController } from '@berth/controller';
import { errors, isBerthError } from '@berth/errors';
import { writeProcessRecord } from '@berth/host';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import type { ObjectSource } from './container-spec';
import { stopContainer } from './lifecycle';
import { LocalPathCleaner } from './local-path';
import { ClusterRegistrySync } from './cluster-registry';
import { DEFAULT_IMAGE_GC, filesystemUsage, IMAGE_GC_PERIOD_MS, ImageGC, type ImageGCPolicy } from './image-gc';
import { hostFacts, MAX_PODS, NodeHeartbeat, type HostFacts } from './node';
import { nodePaths, type AgentRecord } from './node-paths';
import { nodeTunnelFor } from './node-tunnel';
import { startNodeServices, type NodeServices } from './node-services';
import { PodCidrSync } from './pod-cidr';
import { POD_TYPE, PodSyncer, type AgentRuntime } from './pod-sync';
import { ProbeManager } from './probes';
import { RuntimeRelister } from './relist';
import { DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN, defaultResolvConfPath, parseResolvConf, type HostResolvConf } from './sandbox-config';

const CONFIG_MAP_TYPE = resourceForKind('v1', 'ConfigMap')!;
const SECRET_TYPE = resourceForKind('v1', 'Secret')!;
const SERVICE_TYPE = resourceForKind('v1', 'Service')!;
const CLAIM_TYPE = resourceForKind('v1', 'PersistentVolumeClaim')!;
const VOLUME_TYPE = resourceForKind('v1', 'PersistentVolume')!;

export type AgentClient = Pick<KubeClient, 'list' | 'watch' | 'get' | 'create' | 'patch' | 'updateStatus' | 'delete' | 'request'>;

export interface AgentOptions {
  client: AgentClient;
  runtime: AgentRuntime;
  nodeName: string;
  /** The node's own files: pod volumes live under `<dataDir>/pods/<uid>/`. */
  dataDir: string;
  logger?: Logger;
  /** What the Node reports about the host; each field defaults to the host's own. */
  host?: Partial<HostFacts>;
  /** The node Lease's duration, renewed every quarter of it; default 20 s (DEFAULT_NODE_LEASE_DURATION_MS). */
  leaseDurationMs?: number;
  /** Lease renewal period, for tests; default a quarter of leaseDurationMs. */
  leaseRenewMs?: number;
  /** Node status (Ready heartbeat) period; default 60 s. */
  statusUpdateMs?: number;
  /** How often runtimed's containers are listed to notice exits; default 1 s. */
  relistMs?: number;
  /** Crash and image back-off; Kubernetes' 10 s doubling to 5 min by default. */
  backoff?: Partial<BackoffPolicy>;
  /**
   * Pods synced at once; default one per pod the node admits (MAX_PODS), as the kubelet runs one worker
   * per pod: a pod inside a long graceful stop or a slow pull holds no other pod back.
   */
  workers?: number;
  /** Grace period for containers of pods deleted while the agent was down; default 2 s. */
  orphanGraceSeconds?: number;
  /** How often ConfigMap and Secret volumes are rewritten from the API; default 60 s. */
  volumeRefreshMs?: number;
  /**
   * Serve the pods' logs, exec, attach and stats to the API server through the node tunnel (the agent
   * dials out; nodes are never dialled). On when the client carries its connection (a KubeClient) and the
   * runtime has the streaming calls (a RuntimeClient); false turns it off.
   */
  nodeTunnel?: boolean;
  /**
   * Run the node's service proxy (nftables), host-gw routes and DNS server in this process's network
   * namespace. `berth agent` and `berth server` do; agents over a fake runtime (tests, hollow nodes) don't.
   */
  nodeServices?: boolean;
  /** The DNS server address pods on the pod network get (kubelet's --cluster-dns); default 169.254.20.10, the node's own. */
  clusterDNS?: string;
  /** The cluster's DNS domain (kubelet's --cluster-domain); default cluster.local. */
  clusterDomain?: string;
  /** The node's resolv.conf, which pods with dnsPolicy Default start from (kubelet's --resolv-conf); default defaultResolvConfPath(). */
  resolvConf?: string;
  /** The cluster CA (PEM), which the cluster registry's certificate is checked against when the node pulls from it. */
  clusterCA?: string;
  /** Image garbage collection (kubelet's thresholds: 85 % / 80 %, images at least 2 minutes old); off on a runtime with no root directory (a fake one). */
  imageGC?: Partial<ImageGCPolicy>;
  /** How often the image filesystem is looked at; default 5 minutes, as kubelet. */
  imageGCPeriodMs?: number;
}

export interface RunningAgent {
  readonly nodeName: string;
  /** Stops watching and heartbeating; the pods' containers keep running (a new agent adopts them). */
  stop(): Promise<void>;
}

/** The node's resolv.conf, read when a pod needs it (it may change while the agent runs); empty if unreadable. */
function hostResolvConfFrom(path: string): HostResolvConf {
  return () => {
    try {
      return parseResolvConf(readFileSync(path, 'utf8'));
    } catch {
      return {};
    }
  };
}

function objectSource(client: AgentClient): ObjectSource {
  const tokens = new ServiceAccountTokenSource(client);
  const optional = async <T extends KubeObject>(work: Promise<T>): Promise<T | undefined> => {
    try {
      return await work;
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return undefined;
      throw err;
    }
  };
  return {
    configMap: (namespace, name) => optional(client.get<ConfigMap>(CONFIG_MAP_TYPE, name, { namespace })),
    secret: (namespace, name) => optional(client.get<Secret>(SECRET_TYPE, name, { namespace })),
    claim: (namespace, name) => optional(client.get<PersistentVolumeClaim>(CLAIM_TYPE, name, { namespace })),
    volume: (name) => optional(client.get<PersistentVolume>(VOLUME_TYPE, name)),
    serviceAccountToken: (pod, audience, expirationSeconds) => tokens.token(pod, audience, expirationSeconds),
  };
}

/**
 * The node agent (kubelet's role): registers the node and keeps it alive, and makes runtimed run the
 * pods bound to it, reporting their status. The caller owns the API and runtime clients.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { client, runtime, nodeName } = options;
  const logger = (options.logger ?? pino({ level: 'info' }, pino.destination(2))).child({ component: 'agent', node: nodeName });
  let runtimeVersion: string;
  let runtimeRoot: string;
  try {
    ({ version: runtimeVersion, root: runtimeRoot } = await runtime.version());
  } catch (err) {
    if (!isBerthError(err, 'ServiceUnavailable')) throw err;
    throw errors.unavailable(`no runtimed answers (${err.message}); start \`berth runtimed\` on this node first`);
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const record: AgentRecord = { nodeName, nodeServices: !!options.nodeServices };
  // Kept after a stop, as the rules and routes are: `berth node reset` finds this process and its namespace in it.
  await writeProcessRecord(nodePaths(options.dataDir).agentRecord, record);
  const host = hostFacts(options.host);
  const storageDir = resolve(nodePaths(options.dataDir).storage);
  const heartbeat = new NodeHeartbeat({
    client,
    nodeName,
    host,
    runtimeVersion,
    logger,
    leaseDurationMs: options.leaseDurationMs,
    leaseRenewMs: options.leaseRenewMs,
    statusUpdateMs: options.statusUpdateMs,
    annotations: { [LOCAL_PATH_DIR_ANNOTATION]: storageDir },
    images: () => runtime.listImages(),
  });
  await heartbeat.start();

  const informers = new SharedInformerFactory({ listWatchFor: clientListWatch(client), logger });
  const pods = informers.informerFor<Pod>({ resource: POD_TYPE, fieldSelector: `spec.nodeName=${nodeName}` });
  // Every Service, for the variables containers get from them (kubelet watches them for the same).
  const services = informers.informerFor<Service>({ resource: SERVICE_TYPE });
  const queue = new WorkQueue<string>();
  const events = new EventRecorder(client, 'kubelet', nodeName, logger);
  const probes = new ProbeManager({ runtime, logger, events, onChange: (key) => queue.add(key), stop: (pod, target, grace) => stopContainer(runtime, events, pod, target, grace) });
  // Pods waiting for the pod network start as soon as it is ready.
  const podCidr = new PodCidrSync({ client, runtime, nodeName, logger, onReady: () => pods.list().forEach((pod) => queue.add(objectKey(pod))) });
  const syncer = new PodSyncer({
    probes,
    events,
    client,
    runtime,
    objects: objectSource(client),
    podByKey: (key) => pods.get(key),
    services: () => services.list(),
    dataDir: options.dataDir,
    hostIP: host.internalIP,
    allocatable: { cpu: host.cpus, memory: host.memoryBytes },
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    logger,
    orphanGraceSeconds: options.orphanGraceSeconds ?? 2,
    volumeRefreshMs: options.volumeRefreshMs,
    cluster: { clusterDNS: options.clusterDNS ?? DEFAULT_CLUSTER_DNS, clusterDomain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN },
    hostResolvConf: hostResolvConfFrom(options.resolvConf ?? defaultResolvConfPath()),
    podNetworkReady: () => podCidr.networkReady,
  });
  // The cluster registry the server advertises, handed to runtimed before any pod pulls.
  // With the client's credential of the moment (a KubeClient carries its connection; the renewal updates it).
  const credential = () => (client as { connection?: Pick<ClusterConnection, 'clientCert' | 'clientKey'> }).connection;
  const clusterRegistry = new ClusterRegistrySync({ informers, runtime, clusterCA: options.clusterCA, logger, credential });
  const localPath = new LocalPathCleaner({ client, informers, nodeName, storageDir, logger });
  pods.addEventHandler({
    onAdd: (pod) => queue.add(objectKey(pod)),
    onUpdate: (_old, pod) => queue.add(objectKey(pod)),
    onDelete: (pod) => {
      syncer.podDeleted(pod);
      events.forgetObject(pod.metadata.uid);
      queue.add(objectKey(pod));
    },
  });
  informers.start();
  await podCidr.start();
  let nodeServices: NodeServices | undefined;
  try {
    await clusterRegistry.start();
    // Before any pod starts: its resolv.conf names the DNS server, its Services need the rules.
    if (options.nodeServices) {
      nodeServices = await startNodeServices({
        client,
        nodeName,
        logger,
        clusterDNS: options.clusterDNS ?? DEFAULT_CLUSTER_DNS,
        clusterDomain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
      });
    }
  } catch (err) {
    heartbeat.stop();
    await clusterRegistry.stop();
    await podCidr.stop();
    await informers.stop();
    throw err;
  }
  const controller: RunningController = runController({
    name: 'pod-sync',
    queue,
    workers: options.workers ?? MAX_PODS,
    reconcile: (key) => syncer.reconcile(key),
    logger,
    waitFor: [pods as Informer<Pod>, services as Informer<Service>],
  });
  const localPathController = localPath.start();
  const imageGC = runtimeRoot ? startImageGC(options, runtimeRoot, events, logger) : undefined;
  const relister = new RuntimeRelister(runtime, (key) => queue.add(key), options.relistMs ?? 1000, logger);
  try {
    await relister.start();
  } catch (err) {
    heartbeat.stop();
    await imageGC?.stop();
    await nodeServices?.stop();
    await clusterRegistry.stop();
    await podCidr.stop();
    await controller.stop();
    await localPathController.stop();
    await informers.stop();
    throw err;
  }
  const tunnel = options.nodeTunnel === false ? undefined : nodeTunnelFor(client, runtime, { nodeName, logger });
  tunnel?.start();
  logger.info({ runtimeVersion }, 'agent started');
  return {
    nodeName,
    async stop() {
      tunnel?.stop();
      heartbeat.stop();
      probes.stop();
      await relister.stop();
      await imageGC?.stop();
      await nodeServices?.stop();
      await clusterRegistry.stop();
      await podCidr.stop();
      await informers.stop();
      await controller.stop();
      await localPathController.stop();
      await events.flush();
    },
  };
}

/** kubelet's image GC loop: a pass every period (the first one period after the start), on the filesystem of runtimed's root. */
function startImageGC(options: AgentOptions, root: string, events: EventRecorder, logger: Logger): RunningController {
  const periodMs = options.imageGCPeriodMs ?? IMAGE_GC_PERIOD_MS;
  const gc = new ImageGC({
    runtime: options.runtime,
    usage: () => filesystemUsage(root),
    policy: { ...DEFAULT_IMAGE_GC, ...options.imageGC },
    events,
    nodeName: options.nodeName,
    logger,
  });
  const queue = new WorkQueue<string>();
  const controller = runController({
    name: 'image-gc',
    queue,
    logger,
    reconcile: async () => {
      try {
        await gc.reconcile();
      } catch (err) {
        // Recorded on the Node by the GC itself; the next pass is a period away, as kubelet's.
        logger.warn({ err: (err as Error).message }, 'image garbage collection failed');
      }
      return { requeueAfter: periodMs };
    },
  });
  queue.addAfter('images', periodMs);
  return controller;
}
