export { startServiceProxy, type ServiceProxy, type ServiceProxyOptions } from './service-proxy';
export { startHostRoutes, type HostRoutes, type HostRoutesOptions } from './host-routes';
export { removeNodeNetworkState } from './cleanup';
export type { NodeNetworkClient } from './sync-loop';
export { DEFAULT_TABLE, MASQUERADE_MARK, renderRuleset, rulesetText, applyScript, type NftRuleset } from './ruleset';
export { proxyModel, DEFAULT_AFFINITY_TIMEOUT_SECONDS, type ProxyModel, type ServicePortModel } from './model';
export { ROUTE_PROTOCOL, desiredRoutes, type HostRoute } from './routes';
