import { errors, field } from '@berth/errors';
import type { TarHeader } from './tar';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Linux's NAME_MAX: no filesystem takes a longer path component. */
const MAX_COMPONENT_BYTES = 255;
/** Entry names quoted in errors are cut to this many characters, so a refusal stays one readable line. */
const MAX_NAME_IN_ERROR = 200;

/** What one layer may cost. The defaults are far above real images and far below what fills a node. */
export interface LayerLimits {
  /** Entries of every type in one layer. */
  maxEntries: number;
  /** Bytes of an entry's name, or of a link's target (PATH_MAX). */
  maxPathBytes: number;
  /** Directory levels of an entry's name. */
  maxDepth: number;
  /**
   * A compressed layer may expand to at most `maxExpansion` times its own size plus `expansionAllowance`
   * bytes: real layers expand 2-10 times, a decompression bomb a thousand times.
   */
  maxExpansion: number;
  expansionAllowance: number;
}

export const DEFAULT_LAYER_LIMITS: LayerLimits = {
  maxEntries: 1_000_000,
  maxPathBytes: 4096,
  maxDepth: 256,
  maxExpansion: 100,
  expansionAllowance: 1024 * 1024 * 1024,
};

/** A directory of the layer as its entries so far describe it. */
export interface DirNode {
  kind: 'directory';
  children: Map<string, LayerNode>;
  /** The layer hides everything the layers below have in this directory (`.wh..wh..opq`). */
  opaque: boolean;
  /** Set by the directory's own entry; a directory only implied by deeper names keeps its creation time. */
  mtime?: Date;
}

/** `whiteout` hides the name in lower layers; `skipped` is a device node that was not created. Neither is on disk yet. */
export type LayerNode = DirNode | 'file' | 'symlink' | 'whiteout' | 'skipped';

/**
 * What the unpacker does for one entry. `replace`: something this layer created is at that path and is
 * removed first (tar semantics: a later entry replaces an earlier one; a directory stays a directory).
 */
export type LayerStep =
  | { op: 'directory' | 'file' | 'symlink'; parts: string[]; replace: boolean }
  | { op: 'hardlink'; parts: string[]; target: string[]; replace: boolean }
  | { op: 'skip'; parts: string[]; replace: boolean }
  | { op: 'none' };

function newDir(mtime?: Date): DirNode {
  return { kind: 'directory', children: new Map(), opaque: false, mtime };
}

function isDir(node: LayerNode | undefined): node is DirNode {
  return typeof node === 'object';
}

/** Whether the node exists on disk while entries are unpacked (whiteouts are made at the end, devices never). */
function onDisk(node: LayerNode | undefined): boolean {
  return node !== undefined && node !== 'whiteout' && node !== 'skipped';
}

/** `name` as errors quote it: JSON-quoted, cut to MAX_NAME_IN_ERROR characters and `...` when longer. */
export function quoted(name: string): string {
  return JSON.stringify(name.length > MAX_NAME_IN_ERROR ? `${name.slice(0, MAX_NAME_IN_ERROR)}...` : name);
}

/**
 * The rules every layer entry is held to, applied to a model of the layer's tree rather than to a disk:
 * import and load run them alone to refuse a hostile layer before it is stored, and unpacking runs the
 * very same rules and then writes. The model is exact because each layer is unpacked into its own empty
 * directory by one sequential writer: what the model says is at a path is what is on disk there.
 *
 * Refused (a BerthError naming the entry): names that are absolute, contain `..` or NUL, or exceed the
 * limits; any name whose parent directories, as the layer stands at that entry, pass through a symlink or
 * a file (including a directory an earlier entry has since replaced with a symlink); hard links whose
 * target is outside the layer, not yet in it, a directory, or reached through a symlink. Device nodes and
 * fifos are skipped. Whiteouts and opaque markers are kept in the model and applied by the unpacker at the
 * end; a later entry that replaces their directory takes them with it, exactly as it takes files.
 */
export class LayerPlan {
  readonly root: DirNode = newDir();
  private entries = 0;

  constructor(
    readonly layerName: string,
    private readonly limits: LayerLimits = DEFAULT_LAYER_LIMITS,
  ) {}

  add(header: TarHeader): LayerStep {
    const name = header.name;
    if (++this.entries > this.limits.maxEntries) throw this.refuse(name, `the layer has more than ${this.limits.maxEntries} entries`);
    const parts = this.parts(name, name);
    const base = parts[parts.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(parts, name);
    switch (header.type) {
      case 'directory':
        return this.directory(parts, header);
      case 'file':
      case 'contiguous-file':
        return this.leaf('file', parts, name);
      case 'symlink':
        this.checkLinkTarget(header.linkname ?? '', name);
        return this.leaf('symlink', parts, name);
      case 'link':
        return this.hardlink(parts, header.linkname ?? '', name);
      default:
        // Device nodes (and fifos, and types tar-stream does not know) are never created from an image: a
        // container gets its /dev from the runtime. Like any entry, one replaces what was at its path.
        return this.leaf('skipped', parts, name);
    }
  }

  /** Entry name → path components, refusing anything that could leave the layer or exceed the limits. */
  private parts(name: string, entry: string): string[] {
    if (name.includes('\0')) throw this.refuse(entry, 'the name contains a NUL byte');
    if (Buffer.byteLength(name) > this.limits.maxPathBytes) throw this.refuse(entry, `the name is longer than ${this.limits.maxPathBytes} bytes`);
    if (name.startsWith('/')) throw this.refuse(entry, 'absolute paths are not allowed in a layer');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.refuse(entry, 'path escapes the layer root through ".."');
    if (parts.some((p) => Buffer.byteLength(p) > MAX_COMPONENT_BYTES)) throw this.refuse(entry, `a path component is longer than ${MAX_COMPONENT_BYTES} bytes`);
    if (parts.length > this.limits.maxDepth) throw this.refuse(entry, `the path is more than ${this.limits.maxDepth} directories deep`);
    return parts;
  }

  /**
   * The directory that holds `parts`' last component, walking the layer as it stands. With `create`,
   * missing directories are added (as tar does); a symlink or file on the way is refused.
   */
  private parentDir(parts: readonly string[], entry: string, create: boolean): DirNode {
    let dir = this.root;
    for (const [i, part] of parts.slice(0, -1).entries()) {
      const child = dir.children.get(part);
      if (isDir(child)) {
        dir = child;
        continue;
      }
      const here = parts.slice(0, i + 1).join('/');
      if (child === 'symlink') throw this.refuse(entry, `path goes through the symlink ${quoted(here)}, which could point outside the layer`);
      if (child === 'file') throw this.refuse(entry, `${quoted(here)} is not a directory`);
      if (!create) throw this.refuse(entry, `${quoted(here)} does not exist in this layer`);
      const made = newDir();
      dir.children.set(part, made);
      dir = made;
    }
    return dir;
  }

  private whiteout(parts: string[], entry: string): LayerStep {
    const dir = this.parentDir(parts, entry, true);
    const base = parts[parts.length - 1]!;
    if (base === OPAQUE_MARKER) {
      dir.opaque = true;
      return { op: 'none' };
    }
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw this.refuse(entry, 'whiteout names nothing inside the layer');
    // A whiteout hides lower layers only: an entry of this layer with that name stays, in either order.
    if (!dir.children.has(hidden)) dir.children.set(hidden, 'whiteout');
    return { op: 'none' };
  }

  private directory(parts: string[], header: TarHeader): LayerStep {
    if (parts.length === 0) {
      this.root.mtime = header.mtime;
      return { op: 'directory', parts, replace: false };
    }
    const dir = this.parentDir(parts, header.name, true);
    const base = parts[parts.length - 1]!;
    const existing = dir.children.get(base);
    if (isDir(existing)) {
      existing.mtime = header.mtime;
      return { op: 'directory', parts, replace: false };
    }
    dir.children.set(base, newDir(header.mtime));
    return { op: 'directory', parts, replace: onDisk(existing) };
  }

  private leaf(kind: 'file' | 'symlink' | 'skipped', parts: string[], entry: string): LayerStep {
    if (parts.length === 0) throw this.refuse(entry, 'only a directory may name the layer root');
    const dir = this.parentDir(parts, entry, true);
    const base = parts[parts.length - 1]!;
    const existing = dir.children.get(base);
    dir.children.set(base, kind);
    return { op: kind === 'skipped' ? 'skip' : kind, parts, replace: onDisk(existing) };
  }

  private hardlink(parts: string[], linkname: string, entry: string): LayerStep {
    if (parts.length === 0) throw this.refuse(entry, 'only a directory may name the layer root');
    if (linkname.startsWith('/')) throw this.refuse(entry, `hardlink target ${quoted(linkname)} is outside the layer`);
    const target = this.parts(linkname, entry);
    if (target.length === 0) throw this.refuse(entry, 'hardlink to the layer root');
    const targetNode = this.parentDir(target, entry, false).children.get(target[target.length - 1]!);
    if (targetNode === 'skipped') return this.leaf('skipped', parts, entry);
    if (!onDisk(targetNode)) throw this.refuse(entry, `hardlink target ${quoted(linkname)} is not in this layer`);
    if (isDir(targetNode)) throw this.refuse(entry, `hardlink target ${quoted(linkname)} is a directory`);
    if (target.join('/') === parts.join('/')) return { op: 'none' };
    if (parts.every((part, i) => target[i] === part)) throw this.refuse(entry, `hardlink target ${quoted(linkname)} is inside what this entry replaces`);
    const dir = this.parentDir(parts, entry, true);
    const base = parts[parts.length - 1]!;
    const existing = dir.children.get(base);
    dir.children.set(base, targetNode as 'file' | 'symlink');
    return { op: 'hardlink', parts, target, replace: onDisk(existing) };
  }

  /** A symlink may point anywhere (it is resolved inside the container's root), but must be a path the kernel takes. */
  private checkLinkTarget(linkname: string, entry: string): void {
    if (linkname.includes('\0')) throw this.refuse(entry, 'the symlink target contains a NUL byte');
    if (linkname === '') throw this.refuse(entry, 'the symlink target is empty');
    if (Buffer.byteLength(linkname) > this.limits.maxPathBytes) throw this.refuse(entry, `the symlink target is longer than ${this.limits.maxPathBytes} bytes`);
  }

  private refuse(entry: string, why: string) {
    return errors.invalid('layer', this.layerName, [field.forbidden(quoted(entry), why)]);
  }
}
