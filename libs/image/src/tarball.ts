import { pack, type Header } from 'tar-stream';

export interface TarballEntry {
  name: string;
  type?: Header['type'];
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records; given (even empty), name and link name travel in a PAX header too. */
  pax?: Record<string, string>;
}

/** An in-memory tar archive of `entries`, in order: for small layers built in code (and tests). */
export async function tarball(entries: readonly TarballEntry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of archive) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const content = type === 'file' ? Buffer.from(entry.content ?? '') : undefined;
    const header = {
      name: entry.name,
      type,
      linkname: entry.linkname,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: entry.mtime ?? new Date(0),
      devmajor: entry.devmajor,
      devminor: entry.devminor,
      pax: entry.pax,
      size: content?.length ?? 0,
    };
    await new Promise<void>((resolve, reject) => {
      const callback = (err?: Error | null) => (err ? reject(err) : resolve());
      if (content) archive.entry(header, content, callback);
      else archive.entry(header, callback);
    });
  }
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}
