import type { ComposeProject, ServiceConfig } from './model';

/**
 * A loaded service with every list and map empty, as the loader gives it for `image: IMAGE` alone; specs
 * and tools that build projects without files start from it.
 */
export function composeService(name: string, fields: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name,
    image: 'busybox:1.36',
    environment: {},
    labels: {},
    cap_add: [],
    cap_drop: [],
    profiles: [],
    depends_on: {},
    ports: [],
    expose: [],
    volumes: [],
    tmpfs: [],
    configs: [],
    secrets: [],
    networks: { default: { aliases: [] } },
    extra_hosts: [],
    dns: [],
    dns_search: [],
    sysctls: {},
    ulimits: {},
    ...fields,
  };
}

/** A loaded project of these services (keyed by their names), with the default network. */
export function composeProject(name: string, services: ServiceConfig[], fields: Partial<ComposeProject> = {}): ComposeProject {
  return {
    name,
    workingDir: '/tmp/compose',
    files: ['/tmp/compose/compose.yaml'],
    services: Object.fromEntries(services.map((service) => [service.name, service])),
    networks: { default: { name: `${name}_default`, labels: {} } },
    volumes: {},
    configs: {},
    secrets: {},
    ...fields,
  };
}
