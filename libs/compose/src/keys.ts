/**
 * Every key of the Compose Specification and what berth does with it: `mapped` (the loader carries it into
 * the model and the translation maps it onto the API; `note` says how, when it is not the obvious way) or
 * `refused` (the loader stops with a line naming the file, the service and the key, and this reason). No key
 * is dropped without a word: `x-` extensions are the only keys left out, as the specification says.
 * Paths use `*` for a name (a service's, a network's) and `[]` for a list's items; a refused key's
 * sub-keys are refused with it. Values berth cannot honour of a mapped key are refused by the loader too
 * (the note names them).
 */
export interface ComposeKey {
  path: string;
  status: 'mapped' | 'refused';
  note?: string;
  reason?: string;
}

const mapped = (path: string, note?: string): ComposeKey => (note ? { path, status: 'mapped', note } : { path, status: 'mapped' });
const refused = (path: string, reason: string): ComposeKey => ({ path, status: 'refused', reason });
const under = (prefix: string, keys: string[], note?: string): ComposeKey[] => keys.map((key) => mapped(`${prefix}.${key}`, note));

const NODE_RUNTIME = 'berth runs containers with the runtime defaults of its nodes; per-container tuning of this is not offered';
const NOT_IN_PODS = 'not something a pod can carry';

export const COMPOSE_KEYS: readonly ComposeKey[] = [
  mapped('version', 'obsolete; read and ignored, as docker compose does'),
  mapped('name', 'the project name (the namespace) unless -p or COMPOSE_PROJECT_NAME say otherwise'),
  mapped('include', 'each an own project (its directory, its .env) whose services and resources are copied in; a name both define is refused'),
  ...under('include[]', ['path', 'env_file', 'project_directory']),
  refused('models', 'AI models are not run by berth'),

  mapped('services'),
  refused('services.*.annotations', 'use labels'),
  refused('services.*.attach', 'logs are read with berth compose logs'),
  refused('services.*.blkio_config', NODE_RUNTIME),
  mapped('services.*.build', 'berth build on a node, pushed to the cluster registry; a URL context is refused'),
  ...under('services.*.build', ['context', 'dockerfile', 'dockerfile_inline', 'args', 'target', 'labels', 'no_cache', 'pull', 'tags']),
  ...['entitlements', 'ssh', 'cache_from', 'cache_to', 'additional_contexts', 'network', 'provenance', 'sbom', 'shm_size', 'extra_hosts', 'isolation', 'privileged', 'secrets', 'ulimits', 'platforms'].map(
    (key) => refused(`services.*.build.${key}`, 'berth build does not offer this build option'),
  ),
  mapped('services.*.cap_add'),
  mapped('services.*.cap_drop'),
  refused('services.*.cgroup', NODE_RUNTIME),
  refused('services.*.cgroup_parent', NODE_RUNTIME),
  mapped('services.*.command'),
  mapped('services.*.configs', 'a ConfigMap mounted at the target'),
  ...under('services.*.configs[]', ['source', 'target', 'mode']),
  ...under('services.*.configs[]', ['uid', 'gid'], 'refused by the translation: the files are root\'s'),
  mapped('services.*.container_name', 'only for a service of one replica; it must be a DNS label'),
  ...['cpu_count', 'cpu_percent', 'cpu_shares', 'cpu_quota', 'cpu_period', 'cpu_rt_period', 'cpu_rt_runtime', 'cpuset'].map((key) =>
    refused(`services.*.${key}`, 'use cpus or deploy.resources'),
  ),
  mapped('services.*.cpus', 'folded into deploy.resources.limits.cpus'),
  refused('services.*.credential_spec', 'Windows only'),
  mapped('services.*.depends_on', 'enforced by the cluster: a scheduling gate until the dependencies are in their state'),
  ...under('services.*.depends_on.*', ['condition', 'required']),
  mapped('services.*.depends_on.*.restart', 'true is refused: a service is not restarted when its dependency is'),
  mapped('services.*.deploy'),
  mapped('services.*.deploy.mode', 'replicated: Deployment, global: DaemonSet, replicated-job: Job, global-job: a Job with one pod per schedulable node the constraints admit (pod anti-affinity on the hostname)'),
  mapped('services.*.deploy.endpoint_mode', 'vip: a ClusterIP Service, dnsrr: a headless one'),
  ...under('services.*.deploy', ['replicas', 'labels', 'resources', 'restart_policy', 'placement']),
  mapped('services.*.deploy.update_config', 'the rolling update; failure_action rollback: the cluster rolls an update that fails (monitor) back; continue and a max_failure_ratio are refused'),
  mapped('services.*.deploy.rollback_config', 'only as a repeat of update_config: a rollback uses the update strategy'),
  ...under('services.*.deploy.rollback_config', ['parallelism', 'delay', 'failure_action', 'monitor', 'max_failure_ratio', 'order']),
  ...under('services.*.deploy.update_config', ['parallelism', 'delay', 'failure_action', 'monitor', 'max_failure_ratio', 'order']),
  ...under('services.*.deploy.resources', ['limits', 'reservations']),
  ...under('services.*.deploy.resources.limits', ['cpus', 'memory']),
  mapped('services.*.deploy.resources.limits.pids', 'refused by the translation: a pod has no pids limit of its own'),
  ...under('services.*.deploy.resources.reservations', ['cpus', 'memory']),
  refused('services.*.deploy.resources.reservations.generic_resources', 'berth schedules CPU and memory only'),
  refused('services.*.deploy.resources.reservations.devices', 'devices are not passed into pods'),
  ...under('services.*.deploy.restart_policy', ['condition', 'max_attempts']),
  ...under('services.*.deploy.restart_policy', ['delay', 'window'], 'refused by the translation: restarts back off as Kubernetes does'),
  mapped('services.*.deploy.placement.constraints', 'node.hostname, node.labels.KEY, node.platform.os and .arch with == or != as node affinity; node.role and node.id are refused'),
  mapped('services.*.deploy.placement.preferences', 'spread over node.labels.KEY (or a node attribute): a topology spread constraint, maxSkew 1, ScheduleAnyway; node.hostname and node.id are what the scheduler does anyway'),
  mapped('services.*.deploy.placement.preferences[].spread'),
  mapped('services.*.deploy.placement.max_replicas_per_node', '1: required pod anti-affinity on the hostname; more than 1 is refused (no exact Kubernetes equivalent)'),
  refused('services.*.develop', 'compose watch is not offered'),
  refused('services.*.device_cgroup_rules', 'devices are not passed into pods'),
  refused('services.*.devices', 'devices are not passed into pods'),
  mapped('services.*.dns'),
  refused('services.*.dns_opt', 'pods use the cluster DNS resolver options'),
  mapped('services.*.dns_search'),
  mapped('services.*.domainname', 'refused by the translation: a pod has no NIS domain name'),
  mapped('services.*.entrypoint'),
  mapped('services.*.env_file', 'read by the loader into environment'),
  ...under('services.*.env_file[]', ['path', 'required', 'format']),
  mapped('services.*.environment'),
  mapped('services.*.expose', 'a ClusterIP Service'),
  mapped('services.*.extends', 'resolved by the loader'),
  ...under('services.*.extends', ['service', 'file']),
  refused('services.*.external_links', 'containers outside the project are not reachable by name'),
  mapped('services.*.extra_hosts', 'host aliases; host-gateway is refused (a pod may run on any node)'),
  refused('services.*.gpus', 'devices are not passed into pods'),
  refused('services.*.group_add', NOT_IN_PODS),
  mapped('services.*.healthcheck', 'readiness and liveness probes (exec)'),
  ...under('services.*.healthcheck', ['disable', 'interval', 'retries', 'test', 'timeout', 'start_period', 'start_interval']),
  mapped('services.*.hostname'),
  mapped('services.*.image'),
  mapped('services.*.init', 'true: the pod annotation init.berth.dev/CONTAINER; the node runs tini as PID 1 (docker --init)'),
  refused('services.*.ipc', 'no namespaces are shared across pods'),
  refused('services.*.isolation', 'Windows only'),
  refused('services.*.label_file', 'write the labels in the file'),
  mapped('services.*.labels'),
  refused('services.*.links', 'services reach each other by name; use networks.*.aliases for other names'),
  refused('services.*.logging', 'the node keeps container logs itself (berth compose logs reads them)'),
  refused('services.*.mac_address', 'pod interfaces get their addresses from the cluster network'),
  mapped('services.*.mem_limit', 'folded into deploy.resources.limits.memory'),
  mapped('services.*.mem_reservation', 'folded into deploy.resources.reservations.memory'),
  refused('services.*.mem_swappiness', NODE_RUNTIME),
  refused('services.*.memswap_limit', NODE_RUNTIME),
  refused('services.*.models', 'AI models are not run by berth'),
  mapped('services.*.network_mode', 'host: hostNetwork; none is refused by the translation (every pod has a network), service: and container: by the loader (no namespaces are shared across pods)'),
  mapped('services.*.networks', 'name scopes within the project (names only: traffic between networks is not blocked)'),
  ...under('services.*.networks.*', ['aliases']),
  ...under('services.*.networks.*', ['ipv4_address', 'priority'], 'refused by the translation: a pod has one interface, addressed by the cluster network'),
  ...['interface_name', 'ipv6_address', 'link_local_ips', 'mac_address', 'driver_opts', 'gw_priority'].map((key) =>
    refused(`services.*.networks.*.${key}`, 'pod interfaces are set up by the cluster network'),
  ),
  refused('services.*.oom_kill_disable', NODE_RUNTIME),
  refused('services.*.oom_score_adj', NODE_RUNTIME),
  refused('services.*.pid', 'no namespaces are shared across pods'),
  mapped('services.*.pids_limit', 'folded into deploy.resources.limits.pids'),
  refused('services.*.platform', 'berth runs images for the platform of its nodes'),
  mapped('services.*.ports', 'a Service: mode ingress as LoadBalancer on the published port of every node (NodePort when unpublished), mode host and a port bound to one host_ip (127.0.0.1:9229:9229) as hostPort on that address of the node running the pod (a published port required)'),
  ...under('services.*.ports[]', ['name', 'mode', 'host_ip', 'target', 'published', 'protocol', 'app_protocol']),
  refused('services.*.post_start', 'lifecycle hooks are not offered'),
  refused('services.*.pre_stop', 'lifecycle hooks are not offered'),
  mapped('services.*.privileged'),
  mapped('services.*.profiles'),
  refused('services.*.provider', 'provider services are not run by berth'),
  mapped('services.*.pull_policy', 'always, never, missing, if_not_present, build; daily, weekly and every_* are refused'),
  refused('services.*.pull_refresh_after', 'the node pulls by its image pull policy'),
  mapped('services.*.read_only'),
  mapped('services.*.restart', 'the restart policy of the pod; no and on-failure make a service without deploy.mode a Job'),
  refused('services.*.runtime', NODE_RUNTIME),
  mapped('services.*.scale', 'folded into deploy.replicas'),
  mapped('services.*.secrets', 'a Secret mounted at /run/secrets/NAME'),
  ...under('services.*.secrets[]', ['source', 'target', 'mode']),
  ...under('services.*.secrets[]', ['uid', 'gid'], 'refused by the translation: the files are root\'s'),
  refused('services.*.security_opt', 'berth applies Docker\'s default security profile'),
  refused('services.*.shm_size', NODE_RUNTIME),
  mapped('services.*.stdin_open'),
  mapped('services.*.stop_grace_period', 'terminationGracePeriodSeconds'),
  mapped('services.*.stop_signal', 'the container\'s lifecycle.stopSignal (a name as Kubernetes spells it; QUIT and numbers are named), with spec.os.name linux'),
  refused('services.*.storage_opt', NODE_RUNTIME),
  mapped('services.*.sysctls'),
  mapped('services.*.tmpfs', 'a memory-backed emptyDir'),
  mapped('services.*.tty'),
  mapped('services.*.ulimits', 'refused by the translation: containers get the node\'s limits'),
  ...under('services.*.ulimits.*', ['soft', 'hard']),
  refused('services.*.use_api_socket', 'pods get no container engine socket'),
  mapped('services.*.user', 'uid[:gid]: runAsUser/runAsGroup; a name (name[:group]): the pod annotation user.berth.dev/CONTAINER, looked up in the image\'s /etc/passwd by the node'),
  refused('services.*.userns_mode', NODE_RUNTIME),
  refused('services.*.uts', 'no namespaces are shared across pods'),
  mapped('services.*.volumes', 'named: a PVC on the default StorageClass, bind: hostPath where allowed, tmpfs: memory-backed emptyDir'),
  mapped('services.*.volumes[].type', 'volume, bind, tmpfs; npipe, cluster and image are refused'),
  ...under('services.*.volumes[]', ['source', 'target', 'read_only', 'bind', 'volume', 'tmpfs']),
  refused('services.*.volumes[].consistency', 'Docker Desktop only'),
  ...under('services.*.volumes[].bind', ['create_host_path']),
  mapped('services.*.volumes[].bind.propagation', 'private and rprivate; others are refused'),
  refused('services.*.volumes[].bind.recursive', 'bind mounts are recursive as the node makes them'),
  refused('services.*.volumes[].bind.selinux', 'berth nodes do not relabel for SELinux'),
  ...under('services.*.volumes[].volume', ['nocopy', 'subpath']),
  refused('services.*.volumes[].volume.labels', 'label the top-level volume instead'),
  ...under('services.*.volumes[].tmpfs', ['size', 'mode']),
  refused('services.*.volumes[].image', 'image volumes are not offered'),
  refused('services.*.volumes_from', 'no volumes are shared between pods this way; use a named volume'),
  mapped('services.*.working_dir'),

  mapped('networks'),
  ...under('networks.*', ['name', 'external', 'external.name']),
  ...under('networks.*', ['internal', 'labels'], 'refused by the translation: a network is a name scope, not an object that can cut traffic or carry labels'),
  mapped('networks.*.driver', 'kept; every network is a name scope on the cluster network whatever its driver'),
  ...['driver_opts', 'ipam', 'enable_ipv4', 'enable_ipv6', 'attachable'].map((key) => refused(`networks.*.${key}`, 'the cluster network assigns addresses itself')),

  mapped('volumes'),
  ...under('volumes.*', ['name', 'external', 'external.name', 'labels']),
  mapped('volumes.*.driver', 'local only: volumes are PVCs on the default StorageClass'),
  mapped('volumes.*.driver_opts', 'refused by the translation: a claim passes no options to the StorageClass'),

  mapped('secrets', 'Secrets'),
  ...under('secrets.*', ['name', 'environment', 'file', 'external', 'external.name', 'labels']),
  ...['driver', 'driver_opts', 'template_driver'].map((key) => refused(`secrets.*.${key}`, 'secrets come from files or the environment')),

  mapped('configs', 'ConfigMaps'),
  ...under('configs.*', ['name', 'content', 'environment', 'file', 'external', 'external.name', 'labels']),
  refused('configs.*.template_driver', 'configs are taken as written'),
];

const REFUSED = new Map(COMPOSE_KEYS.filter((key) => key.status === 'refused').map((key) => [key.path, key.reason!]));

/** Why a key (its pattern, `services.*.devices`) is refused; undefined when berth carries it. */
export function refusalOf(pattern: string): string | undefined {
  return REFUSED.get(pattern);
}
