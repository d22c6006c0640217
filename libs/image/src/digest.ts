import { createHash } from 'node:crypto';
import { errors } from '@berth/errors';

/** `sha256:<64 lowercase hex>`: the only algorithm berth stores blobs under. */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}

export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw errors.badRequest(`invalid digest "${value}": only sha256:<64 hex digits> is supported`);
  return value;
}

export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function sha256(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * The OCI chain ID of each layer prefix: a snapshot's identity is the whole stack below it, not just its
 * own diff, because whiteouts and opaque directories are resolved against what lies underneath.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const chain: Digest[] = [];
  for (const diffId of diffIds) {
    chain.push(chain.length === 0 ? diffId : sha256(`${chain[chain.length - 1]} ${diffId}`));
  }
  return chain;
}
