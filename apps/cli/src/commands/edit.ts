import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeYamlDocuments, type KubeObject, type ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { formatError } from '../errors';
import { objectName } from '../kinds';
import { toJson, toYaml, withoutManagedFields } from '../printers';
import type { Session } from '../session';
import { selectObjects, type Selection } from './select';

export interface EditOptions extends Selection {
  output?: string;
}

const HEADER = [
  "# Please edit the object below. Lines beginning with a '#' will be ignored,",
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
];
/** An edited file larger than this is refused (the server's object limit is far smaller). */
const MAX_EDITED_BYTES = 8 * 1024 * 1024;

type Json = unknown;
const isObject = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386 merge patch turning `original` into `modified` (arrays whole; a removed key is null). */
export function createMergePatch(original: Json, modified: Json): Json {
  if (!isObject(original) || !isObject(modified)) return modified;
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(original)) if (!Object.prototype.hasOwnProperty.call(modified, key)) patch[key] = null;
  for (const [key, value] of Object.entries(modified)) {
    if (!Object.prototype.hasOwnProperty.call(original, key)) patch[key] = value;
    else if (JSON.stringify(original[key]) !== JSON.stringify(value)) patch[key] = isObject(original[key]) && isObject(value) ? createMergePatch(original[key], value) : value;
  }
  return patch;
}

/** The editor kubectl runs: $KUBE_EDITOR, else $EDITOR, else vi. */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return (env.KUBE_EDITOR || env.EDITOR || 'vi').trim();
}

/** Runs the editor on the file, through `sh -c` as kubectl does when it has arguments; its exit status must be 0. */
function runEditor(editor: string, file: string): void {
  const result = /\s/.test(editor) ? spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' }) : spawnSync(editor, [file], { stdio: 'inherit' });
  if (result.error) throw new BerthError('BadRequest', `unable to launch the editor "${editor}": ${result.error.message}`);
  if (result.status !== 0) throw new BerthError('BadRequest', `there was a problem with the editor "${editor}"`);
}

/** The text without its comment lines, as kubectl reads an edited file. */
function withoutComments(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
}

interface Edited {
  type: ResourceType;
  original: KubeObject;
}

/** The comment lines that tell why an object was not saved, as kubectl writes them. */
function invalid(type: ResourceType, name: string, reasons: string[]): string[] {
  return [`${type.plural} ${JSON.stringify(name)} was not valid:`, ...reasons.map((reason) => `* ${reason}`)];
}

/** What the file holds: one object, or several as a v1 List (what kubectl writes for several). */
function documentFor(objects: KubeObject[]): unknown {
  return objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects };
}

function editedObjects(text: string): KubeObject[] {
  const documents = decodeYamlDocuments(text, 'the edited file', Infinity).filter((d) => d !== null && d !== undefined);
  const objects: unknown[] = [];
  for (const document of documents) {
    if (isObject(document) && document.kind === 'List' && Array.isArray(document.items)) objects.push(...document.items);
    else objects.push(document);
  }
  for (const object of objects) {
    if (!isObject(object) || !isObject(object.metadata)) throw new BerthError('BadRequest', 'the edited file holds something other than objects');
  }
  return objects as KubeObject[];
}

/**
 * `berth edit TYPE NAME`: the object(s) as YAML in $KUBE_EDITOR/$EDITOR, then a merge patch of what changed.
 * A file the server refuses (or that is not YAML) is opened again with the failures in comments at its
 * top, as kubectl does; saving it unchanged after a failure gives up, keeping a copy of the changes.
 */
export async function edit(session: Session, args: string[], options: EditOptions): Promise<void> {
  const output = options.output ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') throw new BerthError('BadRequest', `the edit mode must be json or yaml, not ${JSON.stringify(output)}`);
  const selected = await selectObjects(session, args, options);
  if (selected.length === 0) return;
  const editor = editorCommand();
  const dir = mkdtempSync(join(tmpdir(), 'berth-edit-'));
  const file = join(dir, `edit.${output}`);
  let keep = false;
  try {
    const pending: Edited[] = selected.map(({ type, object }) => ({ type, original: withoutManagedFields(object) }));
    const render = (objects: KubeObject[]) => (output === 'json' ? toJson(documentFor(objects)) : toYaml(documentFor(objects)));
    let body = render(pending.map((p) => p.original));
    let errors: string[] = [];
    let lastFailed: string | undefined;
    for (;;) {
      const written = [...HEADER, ...errors.map((line) => `# ${line}`), ...(errors.length > 0 ? ['#'] : []), body].join('\n');
      writeFileSync(file, written, { mode: 0o600 });
      runEditor(editor, file);
      if (statSync(file).size > MAX_EDITED_BYTES) throw new BerthError('BadRequest', `the edited file is larger than ${MAX_EDITED_BYTES} bytes`);
      const text = readFileSync(file, 'utf8');
      const content = withoutComments(text);
      if (errors.length === 0 && text === written) {
        session.notice('Edit cancelled, no changes made.');
        return;
      }
      if (content.trim() === '') {
        session.notice('Edit cancelled, no objects found.');
        return;
      }
      if (lastFailed !== undefined && content === lastFailed) {
        keep = true;
        session.notice(`A copy of your changes has been stored to "${file}"`);
        throw new BerthError('BadRequest', 'Edit cancelled, no valid changes were saved.');
      }
      errors = [];
      let objects: KubeObject[];
      try {
        objects = editedObjects(content);
      } catch (err) {
        if (!isBerthError(err)) throw err;
        // kubectl's words for a file it cannot read, against the object(s) it held.
        for (const { type, original } of pending) {
          session.notice(`error: ${type.plural} ${JSON.stringify(original.metadata.name)} is invalid`);
          errors.push(...invalid(type, original.metadata.name!, [`<nil>: Invalid value: "The edited file failed validation": ${err.message.split('\n')[0]}`]));
        }
        lastFailed = content;
        body = content.replace(/^\n+/, '');
        continue;
      }
      const failed: KubeObject[] = [];
      for (const changed of objects) {
        const match = pending.find((p) => p.original.metadata.name === changed.metadata.name && p.original.kind === changed.kind && p.original.apiVersion === changed.apiVersion);
        if (!match) {
          session.notice('error: At least one of apiVersion, kind and name was changed');
          errors.push('At least one of apiVersion, kind and name was changed');
          failed.push(changed);
          continue;
        }
        const patch = createMergePatch(match.original, changed);
        if (isObject(patch) && Object.keys(patch).length === 0) {
          if (objects.length === 1) {
            session.notice('Edit cancelled, no changes made.');
            return;
          }
          session.out(`${objectName(match.type, changed.metadata.name!)} skipped`);
          pending.splice(pending.indexOf(match), 1);
          continue;
        }
        try {
          await session.client.patch(match.type, changed.metadata.name!, patch, { namespace: match.original.metadata.namespace, type: 'merge' });
          session.out(`${objectName(match.type, changed.metadata.name!)} edited`);
          pending.splice(pending.indexOf(match), 1);
        } catch (err) {
          if (!(err instanceof StatusError)) throw err;
          const name = changed.metadata.name!;
          const causes = (err.details.causes ?? []).map((c) => `${c.field ?? '<nil>'}: ${c.message}`);
          session.notice(err.reason === 'Invalid' ? `error: ${match.type.plural} ${JSON.stringify(name)} is invalid` : formatError(err));
          errors.push(...invalid(match.type, name, causes.length > 0 ? causes : [err.message]));
          failed.push(changed);
        }
      }
      if (failed.length === 0) return;
      lastFailed = content;
      // The user's own text comes back when nothing of it went through; otherwise what did not.
      body = failed.length === objects.length ? content.replace(/^\n+/, '') : render(failed);
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
