import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from './content-store';
import { sha256 } from './digest';

describe('ContentStore', () => {
  let root: string;
  let store: ContentStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-content-'));
    store = new ContentStore(root);
    await store.init();
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores a stream under its sha256 and reads it back', async () => {
    const data = Buffer.from('hello blobs');
    const blob = await store.ingest(Readable.from([data.subarray(0, 5), data.subarray(5)]));
    expect(blob).toEqual({ digest: sha256(data), size: data.length });
    expect(store.path(blob.digest)).toBe(join(root, 'content/blobs/sha256', sha256(data).slice(7)));
    expect(await store.read(blob.digest)).toEqual(data);
    expect(await store.list()).toEqual([blob]);
    expect(await store.digests()).toEqual([blob.digest]);
  });

  it('writes a blob of many small chunks (batched writes), counts taken chunks in offset, and starts over on reset', async () => {
    const chunks = Array.from({ length: 300 }, (_, i) => Buffer.alloc(7 * 1024, i));
    const data = Buffer.concat(chunks);
    const writer = await store.writer({ digest: sha256(data), size: data.length });
    await writer.write(Buffer.from('discarded by reset'));
    await writer.reset();
    expect(writer.offset).toBe(0);
    for (const chunk of chunks) {
      await writer.write(chunk);
      // The caller's buffer may be reused once write resolves.
      chunk.fill(0xff);
    }
    expect(writer.offset).toBe(data.length);
    expect(await writer.commit()).toEqual({ digest: sha256(data), size: data.length });
    // Buffer.equals, not toEqual: jest compares a 2 MB Buffer element by element, which took 40-80 s.
    const stored = await store.read(sha256(data));
    expect(stored.length).toBe(data.length);
    expect(stored.equals(data)).toBe(true);
  });

  it('refuses content that does not match the expected digest or size, keeping nothing', async () => {
    await expect(store.put(Buffer.from('tampered'), { digest: sha256('original') })).rejects.toThrow(/digest mismatch/);
    await expect(store.put(Buffer.from('short'), { size: 99 })).rejects.toThrow(/has size 5, expected 99/);
    await expect(store.put(Buffer.from('too long'), { size: 2 })).rejects.toThrow(/larger than its expected size/);
    expect(await store.list()).toEqual([]);
    expect(await readdir(join(root, 'content/ingest'))).toEqual([]);
  });

  it('adopts a file the caller hashed, replacing an existing copy', async () => {
    const data = Buffer.from('uploaded in chunks');
    const first = join(root, 'upload-1');
    await writeFile(first, data);
    expect(await store.adopt(first, sha256(data))).toEqual({ digest: sha256(data), size: data.length });
    expect(await store.read(sha256(data))).toEqual(data);
    const second = join(root, 'upload-2');
    await writeFile(second, data);
    await store.adopt(second, sha256(data));
    expect(await store.digests()).toEqual([sha256(data)]);
    expect((await readdir(root)).sort()).toEqual(['content']);
  });

  it('deletes blobs', async () => {
    const blob = await store.put(Buffer.from('x'));
    await store.delete(blob.digest);
    expect(await store.has(blob.digest)).toBe(false);
    await expect(store.read(blob.digest)).rejects.toThrow(/not found/);
  });
});
