/**
 * The API server: the store's only user, the Kubernetes REST API over HTTPS, the cluster registry.
 * It knows nothing of nodes but what it reaches through their tunnels; `berth server` (apps/server)
 * composes it with the control loops and this host's node.
 */
export { ApiServerApp } from './app';
export { advertisedAddress, DEFAULT_REGISTRY_PORT, serverURL, sharesIdentity, type ApiServerConfig } from './config';
export { DEFAULT_EVENT_TTL_MS } from './event-ttl';
export { DEFAULT_LIMITS, type ServerLimits } from './limits';
export { ensureServingNames, joinTokenPath, loadOrCreateCredentials } from './pki';
export { statusFor } from './http-errors';
export { openWithToken, resolveServerToken, sealWithToken, serverTokenPath, WRONG_TOKEN } from './bootstrap';
export { DEFAULT_NODE_PORT_RANGE, DEFAULT_REPAIR_INTERVAL_MS, DEFAULT_SERVICE_CIDR, parseNodePortRange, type NodePortRange } from './service-allocation';
