export { CniNetwork, detachCached } from './network';
export { removeIdlePortmapChains } from './portmap-chains';
export type { CachedDetach, AddOptions, AttachmentRef, CheckOptions, CniAttachment, CniNetworkOptions, DelOptions } from './network';
export { CNI_VERSION, loopbackConfList, nodeConfList, parseConfList } from './conflist';
export type { NodeNetworkOptions } from './conflist';
export { DEFAULT_PLUGIN_DIRS, findPlugin } from './plugin';
export type { CniConfList, CniDns, CniInterface, CniIpConfig, CniPluginConfig, CniResult, CniRoute, PortMapping } from './types';
