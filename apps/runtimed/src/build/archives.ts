import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const DECOMPRESSORS: { magic: Buffer; program?: string }[] = [
  { magic: Buffer.from([0x1f, 0x8b]) },
  { magic: Buffer.from('BZh'), program: 'bzip2' },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), program: 'xz' },
];

/** A decompressor program's output; its failure fails the stream. */
function through(program: string, path: string): Readable {
  const child = spawn(program, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.on('close', (code) => {
    if (code !== 0) child.stdout.destroy(new Error(`${program} -d failed: ${stderr.trim() || `exit ${code}`}`));
  });
  child.on('error', (err) => child.stdout.destroy(err));
  return child.stdout;
}

/**
 * ADD's local archive detection, as Docker's: a file that starts like gzip, bzip2 or xz, or holds a tar
 * header, is extracted; a way to open its plain tar stream, or undefined for any other file (copied as it is).
 */
export async function localArchive(path: string): Promise<(() => Readable) | undefined> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(512);
  let length: number;
  try {
    length = (await handle.read(head, 0, 512, 0)).bytesRead;
  } finally {
    await handle.close();
  }
  for (const { magic, program } of DECOMPRESSORS) {
    if (length >= magic.length && head.subarray(0, magic.length).equals(magic)) {
      return () => (program ? through(program, path) : createReadStream(path).pipe(createGunzip()));
    }
  }
  if (length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return () => createReadStream(path);
  return undefined;
}
