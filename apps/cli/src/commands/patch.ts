import { readFileSync, statSync } from 'node:fs';
import { decodeYaml, type KubeObject } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { PatchType, StatusError } from '@berth/client';
import type { Session } from '../session';
import { parseDryRun, parseResultOutput, printResult, selectObjects, type Selection } from './select';

export interface PatchCommandOptions extends Selection {
  patch?: string;
  patchFile?: string;
  type?: string;
  subresource?: string;
  dryRun?: string | boolean;
  output?: string;
}

const PATCH_TYPES: Record<string, PatchType> = { json: 'json', merge: 'merge', strategic: 'strategic' };
/** A patch longer than this is refused before it is sent (the server's body limit is larger). */
const MAX_PATCH_BYTES = 3 * 1024 * 1024;

/** The patch text of `-p` or `--patch-file`, as JSON (kubectl also takes YAML). */
export function readPatch(options: Pick<PatchCommandOptions, 'patch' | 'patchFile'>): unknown {
  if ((options.patch === undefined) === (options.patchFile === undefined)) {
    throw new BerthError('BadRequest', options.patch === undefined ? 'must specify --patch or --patch-file containing the contents of the patch' : 'cannot specify --patch and --patch-file together');
  }
  let text = options.patch;
  if (options.patchFile !== undefined) {
    if (statSync(options.patchFile).size > MAX_PATCH_BYTES) throw new BerthError('BadRequest', `the patch file ${options.patchFile} is larger than ${MAX_PATCH_BYTES} bytes`);
    text = readFileSync(options.patchFile, 'utf8');
  }
  if (text!.length > MAX_PATCH_BYTES) throw new BerthError('BadRequest', `the patch is larger than ${MAX_PATCH_BYTES} bytes`);
  try {
    return decodeYaml(text!, 'the patch');
  } catch (err) {
    if (isBerthError(err)) throw new BerthError('BadRequest', `unable to parse "${text!.slice(0, 100)}": ${err.message.split('\n')[0]}`);
    throw err;
  }
}

/** The object a patch makes of `object`, computed here (`--dry-run=client`) as the server would. */
function applyLocally(type: PatchType, object: KubeObject, patch: unknown, resource: Parameters<typeof import('@berth/patch').applyStrategicMergePatch>[0]): KubeObject {
  // The patch engine loads for a client dry run only.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require('@berth/patch') as typeof import('@berth/patch');
  if (type === 'merge') return engine.applyJsonMergePatch(object, patch) as KubeObject;
  if (type === 'json') return engine.applyJsonPatch(object, patch) as KubeObject;
  return engine.applyStrategicMergePatch(resource, object, patch);
}

/** `berth patch TYPE NAME -p PATCH`: a strategic (default), merge or JSON patch, as kubectl sends it. */
export async function patchCommand(session: Session, args: string[], options: PatchCommandOptions): Promise<void> {
  const patchType = PATCH_TYPES[options.type ?? 'strategic'];
  if (!patchType) throw new BerthError('BadRequest', `--type must be one of [json merge strategic], not "${options.type}"`);
  if (options.subresource !== undefined && !['status', 'scale'].includes(options.subresource)) {
    throw new BerthError('BadRequest', `invalid subresource value: "${options.subresource}". Must be one of [status scale]`);
  }
  const patch = readPatch(options);
  const dryRun = parseDryRun(options.dryRun);
  const output = parseResultOutput(options.output);
  for (const { type, object } of await selectObjects(session, args, options)) {
    try {
      let result: KubeObject;
      if (dryRun === 'client') {
        result = applyLocally(patchType, object, patch, type);
      } else {
        result = await session.client.patch(type, object.metadata.name!, patch, {
          namespace: object.metadata.namespace,
          type: patchType,
          subresource: options.subresource,
          dryRun: dryRun === 'server',
        });
      }
      const unchanged = dryRun !== 'client' && result.metadata?.resourceVersion === object.metadata.resourceVersion && options.subresource !== 'scale';
      printResult(session, output, type, { ...result, metadata: { ...result.metadata, name: result.metadata?.name ?? object.metadata.name } }, unchanged ? 'patched (no change)' : 'patched', dryRun);
    } catch (err) {
      if (!(err instanceof StatusError) && !isBerthError(err, 'BadRequest') && !isBerthError(err, 'Invalid')) throw err;
      session.fail(err);
    }
  }
}
