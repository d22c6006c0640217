import type { KubeObject } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import type { Session } from '../session';
import { parseDryRun, parseResultOutput, printResult, Selection, selectObjects, splitChanges } from './select';

interface Container {
  name: string;
  image?: string;
}

/** Where a kind keeps its pod spec: a pod's own, a workload's template, a CronJob's job template. */
function podSpecPath(object: KubeObject): string[] {
  if (object.kind === 'Pod') return ['spec'];
  if (object.kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template', 'spec'];
  return ['spec', 'template', 'spec'];
}

function memberAt(object: unknown, path: string[]): unknown {
  let value = object;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** `NAME=IMAGE` pairs; `*=IMAGE` is every container. */
export function parseImages(pairs: string[]): Map<string, string> {
  const images = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new BerthError('BadRequest', `invalid image spec: ${pair}, expected CONTAINER=IMAGE`);
    images.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  if (images.size === 0) throw new BerthError('BadRequest', 'at least one image update is required');
  return images;
}

/**
 * A JSON patch setting each named container's (and init container's) image, each change guarded by a
 * `test` of the container's name at that index, so a concurrent reordering fails instead of changing the
 * wrong container.
 */
export function imagePatch(object: KubeObject, images: Map<string, string>): { patch: unknown[]; changed: boolean } {
  const base = podSpecPath(object);
  const patch: unknown[] = [];
  const seen = new Set<string>();
  let changed = false;
  for (const list of ['initContainers', 'containers']) {
    const containers = memberAt(object, [...base, list]);
    if (!Array.isArray(containers)) continue;
    (containers as Container[]).forEach((container, index) => {
      const image = images.get(container.name) ?? images.get('*');
      if (image === undefined) return;
      seen.add(container.name);
      const path = `/${[...base, list, String(index)].join('/')}`;
      if (container.image !== image) changed = true;
      patch.push({ op: 'test', path: `${path}/name`, value: container.name }, { op: 'replace', path: `${path}/image`, value: image });
    });
  }
  for (const name of images.keys()) {
    if (name !== '*' && !seen.has(name)) throw new BerthError('NotFound', `unable to find container named "${name}"`);
  }
  return { patch, changed };
}

/** `berth set image TYPE/NAME CONTAINER=IMAGE...`. */
export async function setImage(session: Session, args: string[], options: Selection & { dryRun?: string | boolean; output?: string }): Promise<void> {
  const { resources, changes } = splitChanges(args, (arg) => arg.includes('='));
  const images = parseImages(changes);
  const dryRun = parseDryRun(options.dryRun);
  const output = parseResultOutput(options.output);
  for (const { type, object } of await selectObjects(session, resources, options)) {
    try {
      const { patch, changed } = imagePatch(object, images);
      let result = object;
      if (dryRun === 'client') {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        result = (require('@berth/patch') as typeof import('@berth/patch')).applyJsonPatch(object, patch) as KubeObject;
      } else if (changed) {
        result = await session.client.patch(type, object.metadata.name!, patch, { namespace: object.metadata.namespace, type: 'json', dryRun: dryRun === 'server' });
      }
      printResult(session, output, type, result, changed ? 'image updated' : 'image unchanged', dryRun);
    } catch (err) {
      if (!(err instanceof StatusError) && !(err instanceof BerthError)) throw err;
      session.fail(err);
    }
  }
}
