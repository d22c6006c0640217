import { mustRun } from '@berth/host';

export { listMounts, unmount, type MountInfo } from '@berth/host';

/** Relative paths in `options` are resolved by the kernel against `cwd`. */
export async function mountOverlay(target: string, options: readonly string[], cwd?: string): Promise<void> {
  await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), target], { what: `mounting overlay on ${target}`, cwd });
}

