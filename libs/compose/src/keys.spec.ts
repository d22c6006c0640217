import { COMPOSE_KEYS } from './keys';
import { shapePaths } from './schema';

// Every key of the Compose Specification's services (compose-spec's schema/compose-spec.json, service definition).
const SPEC_SERVICE_KEYS = `annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs container_name
cpu_count cpu_percent cpu_shares cpu_quota cpu_period cpu_rt_period cpu_rt_runtime cpus cpuset credential_spec depends_on deploy develop
device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file label_file environment expose extends provider
external_links extra_hosts gpus group_add healthcheck hostname image init ipc isolation labels links logging mac_address mem_limit
mem_reservation mem_swappiness memswap_limit network_mode models networks oom_kill_disable oom_score_adj pid pids_limit platform ports
post_start pre_stop privileged profiles pull_policy pull_refresh_after read_only restart runtime scale security_opt shm_size secrets
sysctls stdin_open stop_grace_period stop_signal storage_opt tmpfs tty ulimits use_api_socket user uts userns_mode volumes volumes_from
working_dir`.split(/\s+/);
const SPEC_TOP_KEYS = ['version', 'name', 'include', 'services', 'models', 'networks', 'volumes', 'secrets', 'configs'];

describe('COMPOSE_KEYS', () => {
  const table = new Map(COMPOSE_KEYS.map((key) => [key.path, key]));
  const covered = (path: string) => {
    if (table.has(path)) return true;
    // A refused key's sub-keys are refused with it.
    return COMPOSE_KEYS.some((key) => key.status === 'refused' && (path.startsWith(`${key.path}.`) || path.startsWith(`${key.path}[]`)));
  };

  it('has every key the schema accepts, mapped or refused', () => {
    expect(shapePaths().filter((path) => !covered(path))).toEqual([]);
  });

  it('has no key the schema does not accept', () => {
    const paths = new Set(shapePaths());
    expect(COMPOSE_KEYS.map((key) => key.path).filter((path) => !paths.has(path))).toEqual([]);
  });

  it('the schema has every key of the specification', () => {
    const paths = new Set(shapePaths());
    expect(SPEC_TOP_KEYS.filter((key) => !paths.has(key))).toEqual([]);
    expect(SPEC_SERVICE_KEYS.filter((key) => !paths.has(`services.*.${key}`))).toEqual([]);
  });

  it('gives every refusal a reason and lists each key once', () => {
    expect(COMPOSE_KEYS.filter((key) => key.status === 'refused' && !key.reason)).toEqual([]);
    expect(COMPOSE_KEYS.length).toBe(table.size);
  });
});
