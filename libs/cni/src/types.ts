/** The CNI 1.0 wire types berth reads and writes (https://www.cni.dev/docs/spec/). */

/** One plugin of a network configuration list: `type` names the binary; the rest is the plugin's own. */
export interface CniPluginConfig {
  type: string;
  /** Runtime arguments the plugin accepts under `runtimeConfig` (e.g. `portMappings`). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (conflist). */
export interface CniConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConfig[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path for interfaces inside the container; absent for host-side ones (bridge, host veth). */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR notation: `10.88.0.5/24`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** What ADD returns (the last plugin's result). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** A plugin's error output, as the spec defines it. */
export interface CniErrorResult {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

/** The `portMappings` capability: a published port, as Kubernetes' hostPort and `berth run -p` use. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  /** `tcp` when absent. */
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** Empty for every host address. */
  hostIP?: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
