export { BlobWriter, ContentStore } from './content-store';
export type { BlobInfo, IngestExpectation } from './content-store';
export { chainIds, isDigest, parseDigest, sha256 } from './digest';
export type { Digest } from './digest';
export { MediaType, Annotation, hostPlatform } from './oci';
export type { ContainerConfig, Descriptor, HistoryEntry, ImageConfig, ImageIndex, ImageManifest, Platform } from './oci';
export { familiarReference, formatReference, normalizeReference, parseReference } from './reference';
export type { ImageReference } from './reference';
export { ImageStore } from './image-store';
export type {
  CreateImageOptions,
  ImageDetails,
  ImageLayers,
  ImageSummary,
  ImageUsage,
  ImportOptions,
  PruneOptions,
  PruneResult,
  RemoveResult,
} from './image-store';
export { ARCHIVE_FORMATS } from './archive';
export type { ArchiveFormat, LoadedImage } from './archive';
export { unpackLayer } from './unpack';
export type { UnpackOptions, UnpackResult } from './unpack';
export { OverlaySnapshotter } from './snapshotter';
export type { ContainerSnapshot, LayerRef, Mount, SnapshotUsage, UnpackPhase } from './snapshotter';
export { changesTar, upperDirChanges } from './diff';
export type { DiffEntry, DiffOptions } from './diff';
export { storeLayer } from './layer';
export type { StoredLayer } from './layer';
export { listMounts } from './mount';
export type { MountInfo } from './mount';
export { BUSYBOX_IMAGE, busyboxRootfsTarball, importBusybox } from './busybox';
export { tarball } from './tarball';
export type { TarballEntry } from './tarball';
export { RegistriesConfig, RegistryResolver, checkRegistryHosts } from './registry-config';
export type { ConfiguredRegistryHost, HostTls, RegistryCredentials, RegistryEndpoint } from './registry-config';
export { RegistryClient, splitRepository } from './registry-client';
export { RegistryTransport } from './registry-http';
export type { PullOptions, PullResult, PushOptions, RegistryClientOptions, RegistryProgress } from './registry-client';
export { MANIFEST_ACCEPT, MAX_CONFIG_BYTES, MAX_LAYERS, MAX_MANIFEST_BYTES, parseManifest, parsePlatform } from './registry-manifest';
