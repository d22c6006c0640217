import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { errors } from '@berth/errors';
import type { ContentStore } from './content-store';
import type { Digest } from './digest';
import { DEFAULT_LAYER_LIMITS, LayerPlan, type LayerLimits } from './layer-plan';
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

/** `source` passed through `transform`, errors and early ends carried both ways. */
function through(source: Readable, transform: Transform): Readable {
  source.on('error', (err) => transform.destroy(err));
  transform.on('close', () => source.destroy());
  return source.pipe(transform);
}

/**
 * A layer's bytes as a plain tar stream (gunzipped when needed), and the compression its first bytes show.
 * A compressed layer that expands past the limits (relative to its `size` compressed bytes) fails the stream
 * with a BerthError, so a decompression bomb is refused rather than unpacked. `what` names it in errors.
 */
async function layerTar(source: AsyncIterable<Buffer>, size: number, what: string, limits: LayerLimits): Promise<{ tar: Readable; compression: Compression }> {
  const { stream, compression } = await decompressed(source, `layer ${what}`);
  if (compression === 'none') return { tar: stream, compression };
  const maxBytes = limits.maxExpansion * size + limits.expansionAllowance;
  let total = 0;
  const tar = through(
    stream,
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        total += chunk.length;
        if (total <= maxBytes) return done(null, chunk);
        done(errors.badRequest(`layer ${what} expands to more than ${maxBytes} bytes (${limits.maxExpansion} times its ${size} compressed bytes, plus ${limits.expansionAllowance}): refused as a decompression bomb`));
      },
    }),
  );
  return { tar, compression };
}

/** A stored layer blob as a plain tar stream; see layerTar. */
export async function openLayerTar(content: ContentStore, digest: Digest, limits: LayerLimits = DEFAULT_LAYER_LIMITS): Promise<{ tar: Readable; compression: Compression }> {
  const source = await content.openRead(digest);
  return layerTar(source, (await content.info(digest))?.size ?? 0, digest, limits);
}

function hashing(source: Readable, hash: Hash): Readable {
  return through(
    source,
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    }),
  );
}

/**
 * Reads a layer once: checks every entry against the rules unpacking applies (LayerPlan), so a layer that
 * would be refused at a container's start is refused now, and returns its diff ID and compression.
 * `source` is the layer's bytes as stored (`size` of them); `name` is what errors call the layer.
 */
export async function inspectLayerStream(
  source: AsyncIterable<Buffer>,
  size: number,
  what: string,
  name: string,
  limits: LayerLimits = DEFAULT_LAYER_LIMITS,
): Promise<{ diffId: Digest | undefined; compression: Compression }> {
  const hash = createHash('sha256');
  const { tar, compression } = await layerTar(source, size, what, limits);
  const compressed = compression !== 'none';
  const plan = new LayerPlan(name, limits);
  for await (const entry of tarEntries(compressed ? hashing(tar, hash) : tar, `layer ${name}`)) {
    plan.add(entry.header);
    entry.resume();
  }
  // A plain layer's diff ID is its own digest, which the caller knows.
  return { diffId: compressed ? `sha256:${hash.digest('hex')}` : undefined, compression };
}

/** inspectLayerStream of a stored blob. */
export async function inspectLayer(content: ContentStore, digest: Digest, name: string, limits: LayerLimits = DEFAULT_LAYER_LIMITS): Promise<{ diffId: Digest; compression: Compression }> {
  const size = (await content.info(digest))?.size ?? 0;
  const { diffId, compression } = await inspectLayerStream(await content.openRead(digest), size, digest, name, limits);
  return { diffId: diffId ?? digest, compression };
}

/**
 * Stores a layer tarball as it is (plain or gzip), works out its OCI media type and diff ID, and checks that
 * it is a tar archive whose entries unpack safely, so a bad import fails now rather than when a container
 * first uses it. A refused layer's blob is left for the caller to discard.
 */
export async function storeLayer(content: ContentStore, source: AsyncIterable<Buffer>, name: string): Promise<StoredLayer> {
  const blob = await content.ingest(source);
  const { diffId, compression } = await inspectLayer(content, blob.digest, name);
  return { descriptor: { mediaType: OCI_LAYER_TYPES[compression], digest: blob.digest, size: blob.size }, diffId };
}
