import { PROTOTYPE_KEY } from '@berth/api';
import { BerthError, errors } from '@berth/errors';
import { checked, CheckedDocument, deepClone, deepEqual, describeValue, isJsonObject, JsonObject } from './json';

type Operation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; path: string; from: string };

const OPS_WITH_VALUE = new Set(['add', 'replace', 'test']);
const OPS_WITH_FROM = new Set(['move', 'copy']);

/** RFC 6902 JSON patch. Returns a new document; a malformed patch is BadRequest, a failing op Invalid. */
export function applyJsonPatch(target: unknown, operations: unknown | CheckedDocument): unknown {
  const ops = parseOperations(operations);
  // The document lives in a holder so that the root pointer "" can be replaced like any member.
  const holder: JsonObject = { root: deepClone(target) };
  ops.forEach((op, index) => {
    try {
      applyOperation(holder, op);
    } catch (err) {
      if (err instanceof OperationFailed) throw opFailure(index, op, err.message);
      throw err;
    }
  });
  return holder.root;
}

class OperationFailed extends Error {}

function opFailure(index: number, op: Operation, why: string): BerthError {
  const message = `json patch operation ${index} (${op.op} ${JSON.stringify(op.path)}) failed: ${why}`;
  return new BerthError('Invalid', message, {
    causes: [{ reason: 'FieldValueInvalid', field: `patch[${index}]`, message }],
  });
}

function parseOperations(given: unknown): Operation[] {
  const operations = checked(given, 'the json patch');
  if (!Array.isArray(operations)) {
    throw errors.badRequest(`json patch must be an array of operations, got ${describeValue(operations)}`);
  }
  return operations.map((raw, index) => {
    const bad = (why: string) => errors.badRequest(`json patch operation ${index} is malformed: ${why}`);
    if (!isJsonObject(raw)) throw bad(`expected an object, got ${describeValue(raw)}`);
    const { op, path } = raw;
    if (typeof op !== 'string') throw bad('missing "op"');
    if (!OPS_WITH_VALUE.has(op) && !OPS_WITH_FROM.has(op) && op !== 'remove') throw bad(`unknown op ${JSON.stringify(op)}`);
    if (typeof path !== 'string') throw bad('missing "path"');
    parsePointer(path, bad);
    if (OPS_WITH_VALUE.has(op) && !('value' in raw)) throw bad(`"${op}" needs a "value"`);
    if (OPS_WITH_FROM.has(op)) {
      if (typeof raw.from !== 'string') throw bad(`"${op}" needs a "from" pointer`);
      parsePointer(raw.from, bad);
    }
    return raw as unknown as Operation;
  });
}

/** Splits an RFC 6901 pointer into unescaped reference tokens; a token naming the prototype is refused. */
function parsePointer(pointer: string, bad: (why: string) => Error = (why) => new OperationFailed(why)): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw bad(`pointer ${JSON.stringify(pointer)} must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw bad(`pointer ${JSON.stringify(pointer)} has an invalid escape`);
      const unescaped = token.replace(/~1/g, '/').replace(/~0/g, '~');
      if (unescaped === PROTOTYPE_KEY) throw bad(`pointer ${JSON.stringify(pointer)} names "${PROTOTYPE_KEY}", which is not allowed`);
      return unescaped;
    });
}

interface Location {
  container: JsonObject | unknown[];
  token: string;
}

/** Resolves everything but the last token; the parent must exist. */
function locate(holder: JsonObject, pointer: string): Location {
  const tokens = ['root', ...parsePointer(pointer)];
  let container: unknown = holder;
  for (let i = 0; i < tokens.length - 1; i++) {
    container = child(container, tokens[i], tokens.slice(1, i + 1));
  }
  if (!isJsonObject(container) && !Array.isArray(container)) {
    throw new OperationFailed(`the parent of ${JSON.stringify(pointer)} is not an object or array`);
  }
  return { container, token: tokens[tokens.length - 1] };
}

function child(container: unknown, token: string, walked: string[]): unknown {
  const where = () => `/${walked.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  if (Array.isArray(container)) {
    const index = arrayIndex(token, container.length - 1);
    return container[index];
  }
  if (isJsonObject(container) && Object.hasOwn(container, token)) return container[token];
  throw new OperationFailed(`path ${JSON.stringify(where())} does not exist`);
}

function arrayIndex(token: string, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new OperationFailed(`${JSON.stringify(token)} is not an array index`);
  const index = Number(token);
  if (index > max) throw new OperationFailed(`array index ${index} is out of bounds`);
  return index;
}

function read(holder: JsonObject, pointer: string): unknown {
  const { container, token } = locate(holder, pointer);
  if (Array.isArray(container)) return container[arrayIndex(token, container.length - 1)];
  if (!Object.hasOwn(container, token)) {
    throw new OperationFailed(`path ${JSON.stringify(pointer)} does not exist`);
  }
  return container[token];
}

function add(holder: JsonObject, pointer: string, value: unknown): void {
  const { container, token } = locate(holder, pointer);
  if (Array.isArray(container)) {
    const index = token === '-' ? container.length : arrayIndex(token, container.length);
    container.splice(index, 0, value);
  } else {
    container[token] = value;
  }
}

function remove(holder: JsonObject, pointer: string): unknown {
  const value = read(holder, pointer);
  const { container, token } = locate(holder, pointer);
  if (Array.isArray(container)) container.splice(Number(token), 1);
  else delete container[token];
  return value;
}

function applyOperation(holder: JsonObject, op: Operation): void {
  switch (op.op) {
    case 'add':
      add(holder, op.path, deepClone(op.value));
      return;
    case 'remove':
      if (op.path === '') throw new OperationFailed('the whole document cannot be removed');
      remove(holder, op.path);
      return;
    case 'replace': {
      read(holder, op.path);
      const { container, token } = locate(holder, op.path);
      if (Array.isArray(container)) container[Number(token)] = deepClone(op.value);
      else container[token] = deepClone(op.value);
      return;
    }
    case 'move':
      if (op.path !== op.from && op.path.startsWith(`${op.from}/`)) {
        throw new OperationFailed(`cannot move ${JSON.stringify(op.from)} into its own child`);
      }
      if (op.path === op.from) {
        read(holder, op.from);
        return;
      }
      add(holder, op.path, remove(holder, op.from));
      return;
    case 'copy':
      add(holder, op.path, deepClone(read(holder, op.from)));
      return;
    case 'test': {
      const actual = read(holder, op.path);
      if (!deepEqual(actual, op.value)) {
        throw new OperationFailed(`value is ${describeValue(actual)}, expected ${describeValue(op.value)}`);
      }
      return;
    }
  }
}
