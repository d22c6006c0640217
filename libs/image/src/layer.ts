import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ContentStore } from './content-store';
import type { Digest } from './digest';
import { MediaType, type Descriptor } from './oci';
import { decompressed, detectCompression, tarEntries, type Compression } from './tar';

export interface StoredLayer {
  descriptor: Descriptor;
  /** Digest of the uncompressed tar: what the image config's rootfs.diff_ids lists. */
  diffId: Digest;
}

const OCI_LAYER_TYPES: Record<Compression, string> = {
  none: MediaType.ociLayer,
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
};

export async function blobCompression(content: ContentStore, digest: Digest): Promise<Compression> {
  const handle = await open(content.path(digest), 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** A stored layer blob as a plain tar stream (gunzipped when needed). */
export async function openLayerTar(content: ContentStore, digest: Digest): Promise<Readable> {
  return (await decompressed(await content.openRead(digest), `layer ${digest}`)).stream;
}

export async function diffIdOf(content: ContentStore, digest: Digest): Promise<Digest> {
  if ((await blobCompression(content, digest)) === 'none') return digest;
  const hash = createHash('sha256');
  for await (const chunk of await openLayerTar(content, digest)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Stores a layer tarball as it is (plain or gzip), works out its OCI media type and diff ID, and checks that
 * it really is a tar archive so a bad import fails now rather than when a container first uses it.
 */
export async function storeLayer(content: ContentStore, source: AsyncIterable<Buffer>, what = 'layer'): Promise<StoredLayer> {
  const blob = await content.ingest(source);
  const compression = await blobCompression(content, blob.digest);
  for await (const entry of tarEntries(await openLayerTar(content, blob.digest), what)) entry.resume();
  const diffId = await diffIdOf(content, blob.digest);
  return { descriptor: { mediaType: OCI_LAYER_TYPES[compression], digest: blob.digest, size: blob.size }, diffId };
}
