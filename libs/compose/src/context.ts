import { durationMs } from './duration';
import type { ComposeProject, Duration, ServiceConfig } from './model';

/** What translateProject takes beside the project. Every member is optional; what a project needs and lacks is refused with a line. */
export interface TranslateOptions {
  /** service → the image reference to run for a service that was built (pushed to the cluster registry). */
  images?: Record<string, string>;
  /** Absolute path → bytes of the `file:` of configs and secrets (`readProjectFiles` reads them). */
  files?: Record<string, Uint8Array>;
  /** Bind source (normalized absolute path) → what it is on this host (`bindSourceKinds` finds out); a path not named is created as a directory when create_host_path says so. */
  bindKinds?: Record<string, 'file' | 'directory'>;
  /** The variables `environment:` configs and secrets take their content from. */
  env?: Record<string, string>;
  /**
   * service → its Service's ClusterIP. Needed only by projects with more than one network, whose pods find
   * the services in their scope through hostAliases: `up` creates the Services first (`translateServices`).
   */
  serviceIPs?: Record<string, string>;
  /**
   * The services whose workloads are made (default every one: `up SERVICE...` names some). The Services,
   * name scopes and storage are always the whole project's, so a service's pods come out the same whichever
   * services are named, and `up seed` does not roll the services seed depends on.
   */
  services?: readonly string[];
  /** The cluster DNS address pods use (the agent's --cluster-dns); default the node DNS's own (DEFAULT_DNS_ADDRESS). */
  clusterDNS?: string;
  /**
   * The labels of each node a pod can be scheduled on now (Ready, not cordoned, no NoSchedule or NoExecute
   * taint). Needed only by `deploy.mode: global-job`, which runs one pod on each of those its constraints admit.
   */
  schedulableNodes?: Array<Record<string, string>>;
}

/** One service being translated: its config, the project, and where to say what cannot be honoured. */
export interface ServiceContext {
  project: ComposeProject;
  service: ServiceConfig;
  options: TranslateOptions;
  refuse(key: string, why: string): void;
}

/** A compose duration in whole seconds, rounded up (0 stays 0); undefined (and refused) when it does not parse. */
export function seconds(ctx: ServiceContext, key: string, value: Duration): number | undefined {
  const ms = durationMs(value);
  if (ms === undefined) ctx.refuse(key, `${JSON.stringify(value)} is not a duration (1m30s, 500ms)`);
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}
