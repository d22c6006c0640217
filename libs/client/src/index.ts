export { KubeClient, resourcePath, groupVersionPath, TABLE_ACCEPT } from './client';
export type {
  Table, TableRow, PatchType, NamespaceOption, ListOptions, WatchOptions, WriteOptions, PatchOptions, DeleteOptions, TableOptions,
} from './client';
export { Watch } from './watch';
export type { WatchEvent, WatchEventType } from './watch';
export { Transport, queryString } from './transport';
export type { HttpRequest, HttpResponse, TransportOptions, QueryValue } from './transport';
export { StatusError, errorFromStatus, errorFromResponse, isStatus } from './status';
export type { Status } from './status';
export {
  loadKubeConfig, connectionFromFile, findKubeconfig, kubeconfigCandidates, DEFAULT_BERTH_KUBECONFIG, FALLBACK_SERVER,
} from './kubeconfig';
export type { ClusterConnection, KubeConfigSearch } from './kubeconfig';
