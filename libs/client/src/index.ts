export { KubeClient, resourcePath, groupVersionPath, TABLE_ACCEPT } from './client';
export type {
  Table, TableRow, PatchType, NamespaceOption, ListOptions, WatchOptions, WriteOptions, PatchOptions, DeleteOptions, TableOptions,
} from './client';
export { BOOKMARK_INTERVAL_HEADER, MISSED_BOOKMARKS, REQUESTED_BOOKMARK_INTERVAL_S, Watch } from './watch';
export type { WatchEvent, WatchEventType, WatchLiveness } from './watch';
export { Transport, queryString } from './transport';
export type { HttpRequest, HttpResponse, TransportOptions, QueryValue, ClientCredentials } from './transport';
export { StatusError, errorFromStatus, errorFromResponse, isStatus } from './status';
export type { Status } from './status';
export {
  loadKubeConfig, connectionFromFile, readKubeconfigFile, kubeconfigYaml, findKubeconfig, kubeconfigCandidates, DEFAULT_BERTH_KUBECONFIG, FALLBACK_SERVER, SERVERS_EXTENSION,
} from './kubeconfig';
export type { ClusterConnection, KubeConfigSearch } from './kubeconfig';
export {
  caCertHash, formatJoinToken, parseJoinToken, NODE_CERTIFICATE_PATH, REGISTRY_GC_PATH, PEM_MEDIA_TYPE, NODE_USER_PREFIX, NODES_GROUP, NODE_LEASE_NAMESPACE, type JoinToken,
} from './join-token';
export { openWebSocket, openUpgrade, type WebSocketOptions } from './websocket';
export {
  CHANNEL, CHANNEL_PROTOCOLS, encodeFrame, decodeFrame, exitStatus, failureStatus, exitCodeOf, parseResize,
} from './channel-protocol';
export type { ChannelFrame, ChannelProtocol, ChannelStatus } from './channel-protocol';
export { nodeTunnelPath, TUNNEL_REQUEST_PARAM, execOptionErrors, MAX_EXEC_ENV, MAX_EXEC_ENV_BYTES, MAX_EXEC_PATH_BYTES } from './node-tunnel-protocol';
export type {
  TunnelKind, TunnelRequest, TunnelAnswer, ContainerRef, LogParams, ExecParams, PortForwardParams, ResourceUsage, PodStats, NodeStatsReport,
  PodProcess, ContainerProcesses, PodProcessList,
} from './node-tunnel-protocol';
export { LOCAL_REGISTRY_HOSTING, advertisedMirrors, advertisedRegistryHost, fetchLocalRegistryHosting, localRegistryHosting, parseMirroredRegistries } from './local-registry-hosting';
