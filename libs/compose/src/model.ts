/**
 * A Compose project after loading: every file merged, `.env` and `${VAR}` interpolated, `extends` resolved,
 * services of inactive profiles left out, and every key in its long (canonical) form, as `docker compose
 * config` prints it. Translation and the CLI's verbs read only this shape; nothing after the loader sees a
 * short syntax or an unknown key (the loader refuses those with a line naming file, service and key).
 */
export interface ComposeProject {
  /** `-p`, else the top-level `name`, else the working directory's base name; lower case [a-z0-9_-]. */
  name: string;
  /** Where relative paths (build contexts, env files, bind sources, config files) were resolved from. */
  workingDir: string;
  /** The files read, in order (absolute paths). */
  files: string[];
  services: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  configs: Record<string, FileObjectConfig>;
  secrets: Record<string, FileObjectConfig>;
}

/** A duration as compose writes it (`1m30s`, `500ms`, `10s`); `durationMs` reads it. */
export type Duration = string;

export interface ServiceConfig {
  name: string;
  image?: string;
  build?: BuildConfig;
  /** Exec form: the shell form `command: echo hi` is split as a POSIX shell would. `[]` resets the image's. */
  command?: string[];
  entrypoint?: string[];
  /** `env_file` contents first, then `environment`; null: the variable is named without a value (taken from the shell, else left unset). */
  environment: Record<string, string | null>;
  working_dir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  labels: Record<string, string>;
  stop_signal?: string;
  stop_grace_period?: Duration;
  init?: boolean;
  read_only?: boolean;
  privileged?: boolean;
  cap_add: string[];
  cap_drop: string[];
  tty?: boolean;
  stdin_open?: boolean;
  /** `no` | `always` | `on-failure[:N]` | `unless-stopped`. */
  restart?: string;
  profiles: string[];
  depends_on: Record<string, DependsOn>;
  healthcheck?: HealthCheck;
  deploy?: DeployConfig;
  /** `mem_limit`, `cpus` etc. given outside `deploy` are folded into `deploy.resources` by the loader. */
  ports: PortConfig[];
  /** Container ports reachable inside the project only (ClusterIP), as strings (`3306`, `8000-8001/udp`). */
  expose: string[];
  volumes: ServiceVolume[];
  tmpfs: string[];
  configs: FileReference[];
  secrets: FileReference[];
  /** The networks the service is on, with its aliases there; `{default: {}}` when the file names none. */
  networks: Record<string, ServiceNetwork>;
  /** `host` (the node's network), `none`, or `service:NAME` / `container:NAME` (refused: no shared namespaces across pods). */
  network_mode?: string;
  extra_hosts: Array<{ host: string; ip: string }>;
  dns: string[];
  dns_search: string[];
  sysctls: Record<string, string>;
  ulimits: Record<string, { soft: number; hard: number }>;
  /** `always` | `never` | `missing` | `build` | `if_not_present` (compose's spellings). */
  pull_policy?: string;
  container_name?: string;
  /** `x-` keys are dropped by the loader, so this holds nothing but what is named above. */
}

export interface BuildConfig {
  /** Absolute path on this host (a URL context is refused by the loader). */
  context: string;
  /** Relative to the context, as compose has it; `Dockerfile` by default. */
  dockerfile: string;
  /** `dockerfile_inline`: the Dockerfile's text, written to a temporary file for the build. */
  dockerfile_inline?: string;
  args: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  no_cache?: boolean;
  pull?: boolean;
  tags: string[];
}

export type DependsOnCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface DependsOn {
  condition: DependsOnCondition;
  /** false: a dependency that is not in the project (profile off) is ignored instead of refused. */
  required: boolean;
  restart: boolean;
}

export interface HealthCheck {
  /** `['CMD', 'prog', 'arg']`, `['CMD-SHELL', 'a shell line']` or `['NONE']`. */
  test?: string[];
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
  disable?: boolean;
}

export type DeployMode = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export interface DeployConfig {
  mode?: DeployMode;
  /** `scale` outside `deploy` is folded in here. */
  replicas?: number;
  labels: Record<string, string>;
  resources?: {
    /** cpus as compose writes them (`0.5`); memory in bytes. */
    limits?: { cpus?: string; memory?: number; pids?: number };
    reservations?: { cpus?: string; memory?: number };
  };
  restart_policy?: { condition?: 'none' | 'on-failure' | 'any'; delay?: Duration; max_attempts?: number; window?: Duration };
  placement?: { constraints: string[]; preferences: Array<{ spread: string }>; max_replicas_per_node?: number };
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
  /** `vip` (a ClusterIP, the default) or `dnsrr` (a headless Service). */
  endpoint_mode?: 'vip' | 'dnsrr';
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: Duration;
  failure_action?: 'continue' | 'rollback' | 'pause';
  monitor?: Duration;
  max_failure_ratio?: number;
  order?: 'start-first' | 'stop-first';
}

export interface PortConfig {
  /** The container's port. */
  target: number;
  /** The port published on every node (ingress) or on the pod's node (host); a range `8000-8005` only with a matching target range, which the loader expands. */
  published?: number;
  host_ip?: string;
  protocol: 'tcp' | 'udp';
  mode: 'ingress' | 'host';
  name?: string;
  app_protocol?: string;
}

export interface ServiceVolume {
  type: 'volume' | 'bind' | 'tmpfs';
  /** volume: the top-level volume's key (absent: an anonymous volume); bind: an absolute host path. */
  source?: string;
  target: string;
  read_only?: boolean;
  volume?: { nocopy?: boolean; subpath?: string };
  bind?: { create_host_path?: boolean; propagation?: string };
  tmpfs?: { size?: number; mode?: number };
}

export interface FileReference {
  /** The top-level config's or secret's key. */
  source: string;
  /** configs: `/<source>` by default; secrets: `/run/secrets/<source>` by default (a relative target goes under /run/secrets). */
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface ServiceNetwork {
  aliases: string[];
  ipv4_address?: string;
  priority?: number;
}

export interface NetworkConfig {
  /** The name it has at runtime: `<project>_<key>` unless `name` or `external` say otherwise. */
  name: string;
  external?: boolean;
  internal?: boolean;
  driver?: string;
  labels: Record<string, string>;
}

export interface VolumeConfig {
  /** `<project>_<key>` unless `name` or `external` say otherwise. */
  name: string;
  external?: boolean;
  driver?: string;
  driver_opts: Record<string, string>;
  labels: Record<string, string>;
}

/** A top-level config or secret: exactly one of file (absolute), environment, content, external. */
export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  labels: Record<string, string>;
}

/** Compose's labels on everything berth makes for a project, as Docker sets them on containers. */
export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
