// The runtime service's messages as the client sees them (proto/runtime/v1, camelCase, int64 as number).

export interface Image {
  id: string;
  digest: string;
  names: string[];
  created: string;
  size: number;
  /** `repository@digest` for each registry the image was pulled from or pushed to (docker's RepoDigests). */
  repoDigests?: string[];
}

export interface ImageDetails {
  image: Image;
  configJson: string;
  manifestJson: string;
}

export interface LoadedImage {
  digest: string;
  names: string[];
}

export interface UsageLine {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface DiskUsage {
  images: UsageLine;
  containers: UsageLine;
  volumes: UsageLine;
  imageDetails: Array<{ image: Image; inUse: boolean; uniqueSize: number; containers: number }>;
  containerDetails: Array<{ id: string; name: string; image: string; state: string; size: number }>;
  volumeDetails: Array<{ name: string; links: number; size: number }>;
}

export interface MountSpec {
  type: 'volume' | 'bind' | 'tmpfs';
  source?: string;
  destination: string;
  readOnly?: boolean;
  sizeBytes?: number;
  mode?: number;
}

export interface Resources {
  memoryBytes?: number;
  cpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
}

export interface SeccompProfile {
  /** RuntimeDefault when empty. */
  type?: '' | 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** Localhost: the profile, in Docker's JSON format. */
  profileJson?: string;
}

export interface SecurityConfig {
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  seccomp?: SeccompProfile;
  noNewPrivileges?: boolean;
  runAsNonRoot?: boolean;
  sysctls?: Record<string, string>;
  /** gids or group names of the image's /etc/group. */
  supplementalGroups?: string[];
}

export interface ContainerConfig {
  name?: string;
  image: string;
  entrypoint?: string[];
  overrideEntrypoint?: boolean;
  command?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  tty?: boolean;
  openStdin?: boolean;
  readOnlyRootfs?: boolean;
  mounts?: MountSpec[];
  resources?: Resources;
  labels?: Record<string, string>;
  sandboxId?: string;
  autoRemove?: boolean;
  hostname?: string;
  network?: string;
  security?: SecurityConfig;
  /** A signal name or number; '' for the image's StopSignal, else SIGTERM. */
  stopSignal?: string;
  /** An init process (the node's tini) as PID 1. */
  init?: boolean;
}

/** A ContainerConfig with every field present (the proto's defaults filled in): what runtimed keeps and reports. */
export type CompleteContainerConfig = Required<Omit<ContainerConfig, 'mounts' | 'resources' | 'security'>> & {
  mounts: Required<MountSpec>[];
  resources: Required<Resources>;
  security: Required<Omit<SecurityConfig, 'seccomp'>> & { seccomp: Required<SeccompProfile> };
};

export interface ExitStatus {
  exitCode: number;
  exitedAt: string;
  reason: string;
}

export type ContainerStateName = 'created' | 'running' | 'exited' | 'unknown';

export interface Container {
  id: string;
  name: string;
  image: string;
  imageId: string;
  imageDigest: string;
  sandboxId: string;
  state: ContainerStateName;
  args: string[];
  pid: number;
  createdAt: string;
  startedAt: string;
  exit: ExitStatus | null;
  config: CompleteContainerConfig;
  bundle: string;
  logPath: string;
  shimPid: number;
}

export interface ListContainersOptions {
  all?: boolean;
  sandboxId?: string;
  labels?: Record<string, string>;
}

export interface LogsOptions {
  follow?: boolean;
  /** The last N lines; all when omitted or negative. */
  tail?: number;
  since?: string;
}

export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface ContainerStats {
  id: string;
  name: string;
  cpuUsageNanos: number;
  timestampMs: number;
  memoryUsageBytes: number;
  memoryLimitBytes: number;
  pids: number;
  pidsLimit: number;
  onlineCpus: number;
}

/** One process of a container as the host sees it (see ContainerTop in proto/runtime/v1). */
export interface ContainerProcess {
  pid: number;
  ppid: number;
  uid: number;
  /** The host's name of the uid; '' when it has none. */
  user: string;
  startTimeMs: number;
  cpuTimeMs: number;
  tty: string;
  args: string[];
  comm: string;
}

export interface ContainerTop {
  processes: ContainerProcess[];
  /** Processes beyond the listed ones (runtimed lists at most 4096). */
  omitted: number;
}

export interface PortMapping {
  protocol?: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostPort: number;
  hostIp?: string;
}

export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface PodSandboxConfig {
  name: string;
  hostname?: string;
  labels?: Record<string, string>;
  /** 'host': the node's network and UTS namespaces; '' (default): the pod network through CNI. */
  network?: '' | 'host';
  portMappings?: PortMapping[];
  /** resolv.conf for the pod; absent: a copy of the node's. */
  dns?: DnsConfig;
  hostAliases?: HostAlias[];
  /** hostname.subdomain.namespace.svc.cluster-domain, when the pod has a subdomain. */
  hostnameFqdn?: string;
}

/** The node's network settings (CRI's UpdateRuntimeConfig / Status). */
export interface RuntimeStatus {
  networkReady: boolean;
  podCidr: string;
  bridge: string;
}

export interface PodSandbox {
  id: string;
  name: string;
  hostname: string;
  state: 'ready' | 'notready';
  createdAt: string;
  labels: Record<string, string>;
  networkNamespace: string;
  ipcNamespace: string;
  utsNamespace: string;
  network: '' | 'host';
  /** The sandbox's pod-network address; '' for host-network sandboxes and once stopped. */
  ip: string;
  hostsPath: string;
  resolvConfPath: string;
  hostnamePath: string;
  portMappings: PortMapping[];
}

export interface Volume {
  name: string;
  driver: string;
  mountpoint: string;
  createdAt: string;
  labels: Record<string, string>;
}

export interface ExecOptions {
  args: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  tty?: boolean;
  stdin?: boolean;
  size?: { width: number; height: number };
}

export interface VersionInfo {
  version: string;
  runtimeName: string;
  runcVersion: string;
  root: string;
}

/** `docker build`'s options (proto BuildHeader). */
export interface BuildOptions {
  tags?: string[];
  /** The Dockerfile's path inside the context (default `Dockerfile`), or its text in `dockerfileText`. */
  dockerfile?: string;
  dockerfileText?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  platform?: string;
  labels?: Record<string, string>;
  /** Credentials for the registries FROM images are pulled from, by registry host. */
  auths?: Record<string, RegistryAuth>;
  onProgress?: (progress: BuildProgress) => void;
}

/** One BuildKit-style progress event: step `#N` started, logged (timestamped output), a status line (`detail`), CACHED, DONE or ERROR. */
export interface BuildProgress {
  step: number;
  name: string;
  status: 'started' | 'log' | 'detail' | 'cached' | 'done' | 'error';
  log: Buffer;
  seconds: number;
  error: string;
}

export interface CommitOptions {
  /** NAME[:TAG]; none: a dangling image. */
  name?: string;
  message?: string;
  author?: string;
  /** Dockerfile instructions applied to the config (`--change 'CMD ["x"]'`). */
  changes?: string[];
  pause?: boolean;
}

/** A line of `docker history`, newest first. */
export interface ImageHistoryEntry {
  /** The image ID on the top line, `<missing>` below. */
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** A registry credential, as docker's AuthConfig; empty: anonymous, or the node's registries.yaml `configs`. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token from a token-flow login (used instead of the password). */
  identityToken?: string;
}

/** One line of docker's pull/push progress (see ImageProgress in proto/runtime/v1/distribution.proto). */
export interface ImageProgress {
  /** A layer's short digest, or '' for a line about the whole image. */
  id: string;
  status: string;
  current: number;
  total: number;
  /** Last message only: the image pulled or pushed. */
  image?: Image;
  /** Last message only: the manifest digest the registry knows the image by. */
  digest?: string;
  /** Last message of a push: the manifest's size. */
  size?: number;
}

/** A registry runtimed trusts or reaches in a way registries.yaml does not say (the cluster registry). */
export interface RegistryHost {
  /** host[:port], as it appears in image names. */
  host: string;
  /** PEM CA bundle its certificate is checked against (beside the system's). */
  caPem?: string;
  /** https://ADDR:PORT when it is not reached at `host` itself. */
  endpoint?: string;
  /** Registries it stands in for (docker.io): their images are looked for there first. */
  mirrorOf?: string[];
  /** The node's TLS client certificate (PEM) presented to it; with clientKeyPem. */
  clientCertPem?: string;
  /** The key of clientCertPem (PEM): a secret, never logged. */
  clientKeyPem?: string;
}
