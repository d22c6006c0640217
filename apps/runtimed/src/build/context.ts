import { errors } from '@berth/errors';
import { unpackLayer } from '@berth/image';
import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** The largest build context runtimed takes (docker has none; a node's disk is the real bound). */
export const MAX_CONTEXT_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * Unpacks the build context (a plain tar stream from the client) into the empty directory `dir`. The tar
 * is hostile: it is unpacked as a layer is (LayerPlan), so no entry lands outside `dir` or through a
 * symlink, links point inside, device nodes and fifos are skipped, and more than `maxBytes` is refused.
 */
export async function receiveContext(body: AsyncIterable<Buffer>, dir: string, maxBytes = MAX_CONTEXT_BYTES): Promise<{ entries: number; bytes: number }> {
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > maxBytes) throw errors.badRequest(`the build context is larger than ${maxBytes} bytes`);
        yield chunk;
      }
    })(),
  );
  const result = await unpackLayer(counted, dir, { layerName: 'build context' });
  return { entries: result.entries, bytes };
}
