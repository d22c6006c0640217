import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matchesLabels, parseLabelSelector, type KubeObject } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { inContext } from '../errors';
import { loadManifests, mapManifest, type MappedManifest } from '../manifests';
import { toYaml, withoutManagedFields } from '../printers';
import type { Session } from '../session';
import { APPLY_FIELD_MANAGER } from './apply';
import { namespaceForManifest } from './namespaces';

export interface DiffOptions {
  filename: string[];
  selector?: string;
}

/** What kubectl shows of a Secret's values: `***` (or `*** (before)`/`*** (after)` where they differ). */
export function maskSecrets(live: KubeObject | undefined, merged: KubeObject | undefined): [KubeObject | undefined, KubeObject | undefined] {
  const isSecret = (o: KubeObject | undefined) => o?.kind === 'Secret' && o.apiVersion === 'v1';
  if (!isSecret(live) && !isSecret(merged)) return [live, merged];
  const dataOf = (o: KubeObject | undefined) => ((o as { data?: Record<string, string> } | undefined)?.data ?? undefined);
  const [before, after] = [dataOf(live), dataOf(merged)];
  const mask = (mine: Record<string, string> | undefined, other: Record<string, string> | undefined, word: string) => {
    if (!mine) return undefined;
    const out: Record<string, string> = {};
    for (const key of Object.keys(mine)) out[key] = other && Object.prototype.hasOwnProperty.call(other, key) && other[key] !== mine[key] ? `*** (${word})` : '***';
    return out;
  };
  const withData = (o: KubeObject | undefined, data: Record<string, string> | undefined) => (o ? ({ ...o, ...(data ? { data } : {}) } as KubeObject) : o);
  return [withData(live, mask(before, after, 'before')), withData(merged, mask(after, before, 'after'))];
}

/** kubectl's file name for an object in the LIVE and MERGED directories: `apps.v1.Deployment.ns.name`. */
export function diffFileName(object: KubeObject, namespace: string | undefined): string {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  return [group, version, object.kind, namespace ?? '', object.metadata.name].filter((part) => part !== '').join('.');
}

/** The diff program: $KUBECTL_EXTERNAL_DIFF (a command and its flags), else `diff -u -N`, as kubectl runs it. */
function diffCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const external = env.KUBECTL_EXTERNAL_DIFF?.trim();
  if (!external) return ['diff', '-u', '-N'];
  const words = external.split(/\s+/);
  // kubectl takes only simple flags after the program, so the variable cannot smuggle in another command.
  if (!words.slice(1).every((w) => /^[-a-zA-Z0-9=,_.]+$/.test(w))) throw new BerthError('BadRequest', `KUBECTL_EXTERNAL_DIFF holds arguments kubectl would refuse: ${external}`);
  return words;
}

function runDiff(command: string[], live: string, merged: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), live, merged], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => reject(new BerthError('BadRequest', `failed to run "${command[0]}": ${err.message}`)));
    child.on('close', (code) => resolve(code ?? 2));
  });
}

/**
 * `berth diff -f FILE`: what `apply` would change, as kubectl shows it: each object as the server has it
 * (LIVE) and as a server-side dry-run apply makes it (MERGED), YAML without managedFields (Secret values
 * masked), files named `group.version.Kind.namespace.name` in two temporary directories compared by
 * `diff -u -N` (or $KUBECTL_EXTERNAL_DIFF). Exit 0: no differences; 1: differences; 2: an error.
 */
export async function diff(session: Session, options: DiffOptions): Promise<void> {
  const manifests = loadManifests(options.filename, 'diff');
  const command = diffCommand();
  const liveDir = mkdtempSync(join(tmpdir(), 'LIVE-'));
  const mergedDir = mkdtempSync(join(tmpdir(), 'MERGED-'));
  let failed = false;
  try {
    const selector = options.selector === undefined ? undefined : parseLabelSelector(options.selector);
    for (const manifest of manifests) {
      try {
        const mapped = await mapManifest(manifest, session.discovery);
        if (selector && !matchesLabels(selector, mapped.object.metadata.labels)) continue;
        const [live, merged] = maskSecrets(...(await liveAndMerged(session, mapped)));
        const file = diffFileName(mapped.object, namespaceForManifest(session, mapped));
        if (live) writeFileSync(join(liveDir, file), toYaml(live));
        if (merged) writeFileSync(join(mergedDir, file), toYaml(merged));
      } catch (err) {
        if (!(err instanceof StatusError) && !isBerthError(err, 'BadRequest') && !isBerthError(err, 'NotFound') && !isBerthError(err, 'Invalid')) throw err;
        session.fail(inContext(err, `error when diffing "${manifest.source}"`));
        failed = true;
      }
    }
    const code = await runDiff(command, liveDir, mergedDir);
    if (code > 1) session.exitWith(code);
    else if (code === 1) session.exitWith(1);
    if (failed) session.exitWith(2);
  } finally {
    rmSync(liveDir, { recursive: true, force: true });
    rmSync(mergedDir, { recursive: true, force: true });
  }
}

/** The object as the server has it (undefined when it has none) and as a dry-run apply would leave it. */
async function liveAndMerged(session: Session, manifest: MappedManifest): Promise<[KubeObject | undefined, KubeObject]> {
  const { type, object } = manifest;
  const namespace = namespaceForManifest(session, manifest);
  const live = await session.client.get(type, object.metadata.name!, { namespace }).catch((err: unknown) => {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  });
  const merged = await session.client.apply(type, object, { namespace, fieldManager: APPLY_FIELD_MANAGER, force: true, dryRun: true });
  return [live && withoutManagedFields(live), withoutManagedFields(merged)];
}
