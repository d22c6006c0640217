import { BerthError } from '@berth/errors';

/**
 * kubectl's JSONPath (k8s.io/client-go/util/jsonpath): a template of text and `{...}` actions. An action is
 * a path (`.items[*].metadata.name`, `..image`, `['a.b']`, `[0]`, `[1:3]`, `[-1]`, `[a,b]`, `[*]`,
 * `[?(@.x=="y")]`), a string literal (`{"\n"}`), or `{range PATH}...{end}`, which evaluates its body with
 * each value as the current object `@`. Several values of one action print space-separated; strings as they
 * are, anything else as compact JSON. Missing keys print nothing (kubectl's `get` allows them).
 */

type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'recursive'; name: string | undefined }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'union'; keys: (string | number)[] }
  | { kind: 'filter'; left: Path; op?: string; right?: Path | Literal };

interface Path {
  root: '$' | '@';
  segments: Segment[];
}

interface Literal {
  literal: string | number | boolean | null;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'path'; path: Path }
  | { kind: 'literal'; value: string }
  | { kind: 'range'; path: Path; body: Node[] };

/** A template longer than this is not something a person typed. */
const MAX_TEMPLATE_LENGTH = 64 * 1024;
/** Nested ranges deeper than this are refused. */
const MAX_RANGE_DEPTH = 32;

function fail(template: string, why: string): never {
  throw new BerthError('BadRequest', `error parsing jsonpath ${template}, ${why}`);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(value: unknown, key: string): unknown {
  return isPlainRecord(value) && Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined;
}

function hasOwn(value: unknown, key: string): boolean {
  return isPlainRecord(value) && Object.prototype.hasOwnProperty.call(value, key);
}

/** Reads one path starting at `text[pos]`; returns it and where it stopped. */
class PathReader {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly template: string,
  ) {}

  private peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  private skipSpaces(): void {
    while (this.peek() === ' ') this.pos++;
  }

  readPath(): Path {
    this.skipSpaces();
    let root: '$' | '@' = '@';
    if (this.peek() === '$' || this.peek() === '@') {
      root = this.peek() as '$' | '@';
      this.pos++;
    }
    const segments: Segment[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '.' && this.peek(1) === '.') {
        this.pos += 2;
        if (this.peek() === '*') {
          this.pos++;
          segments.push({ kind: 'recursive', name: undefined });
        } else if (this.peek() === '[') {
          segments.push({ kind: 'recursive', name: undefined });
        } else {
          segments.push({ kind: 'recursive', name: this.readName() });
        }
      } else if (c === '.') {
        this.pos++;
        if (this.peek() === '*') {
          this.pos++;
          segments.push({ kind: 'wildcard' });
        } else if (this.peek() === '' || this.peek() === '}' || this.peek() === ' ') {
          // `{.}`: the current object itself.
        } else if (this.peek() !== '[') {
          segments.push({ kind: 'field', name: this.readName() });
        }
      } else if (c === '[') {
        segments.push(this.readBracket());
      } else {
        return { root, segments };
      }
    }
  }

  private readName(): string {
    let name = '';
    for (;;) {
      const c = this.peek();
      if (c === '\\' && this.peek(1) !== '') {
        name += this.peek(1);
        this.pos += 2;
        continue;
      }
      if (c === '' || '.[]{}()=!<>&|, \'"'.includes(c)) break;
      name += c;
      this.pos++;
    }
    if (name === '') fail(this.template, `expected a field name at ${JSON.stringify(this.text.slice(this.pos))}`);
    return name;
  }

  private readBracket(): Segment {
    const close = this.matchingBracket();
    const inner = this.text.slice(this.pos + 1, close).trim();
    this.pos = close + 1;
    if (inner === '*') return { kind: 'wildcard' };
    if (inner.startsWith('?')) return this.readFilter(inner);
    if (/^-?\d*(:-?\d*){1,2}$/.test(inner)) {
      const [start, end, step] = inner.split(':').map((n) => (n === '' ? undefined : Number(n)));
      if (step === 0) fail(this.template, 'step cannot be 0');
      return { kind: 'slice', start, end, step };
    }
    if (/^-?\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
    const keys = splitTopLevel(inner, ',').map((part) => {
      const key = part.trim();
      if (/^-?\d+$/.test(key)) return Number(key);
      const quoted = /^'(.*)'$/s.exec(key) ?? /^"(.*)"$/s.exec(key);
      if (!quoted) fail(this.template, `unrecognized character in action: ${JSON.stringify(key)}`);
      return quoted[1].replace(/\\(.)/g, '$1');
    });
    if (keys.length === 1 && typeof keys[0] === 'string') return { kind: 'field', name: keys[0] };
    return { kind: 'union', keys };
  }

  private matchingBracket(): number {
    let depth = 0;
    let quote = '';
    for (let i = this.pos; i < this.text.length; i++) {
      const c = this.text[i];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[') depth++;
      else if (c === ']' && --depth === 0) return i;
    }
    fail(this.template, 'unclosed array expect ]');
  }

  private readFilter(inner: string): Segment {
    const body = /^\?\s*\((.*)\)$/s.exec(inner);
    if (!body) fail(this.template, `unclosed filter in ${JSON.stringify(inner)}`);
    const expression = body[1].trim();
    const op = /\s*(==|!=|<=|>=|<|>|=~)\s*/.exec(expression);
    const reader = (text: string) => new PathReader(text, this.template);
    if (!op) {
      const left = reader(expression);
      const path = left.readPath();
      if (left.pos !== expression.length) fail(this.template, `unrecognized filter ${JSON.stringify(expression)}`);
      return { kind: 'filter', left: path };
    }
    const leftText = expression.slice(0, op.index);
    const rightText = expression.slice(op.index + op[0].length).trim();
    const left = reader(leftText).readPath();
    return { kind: 'filter', left, op: op[1], right: parseOperand(rightText, reader, this.template) };
  }
}

function parseOperand(text: string, reader: (text: string) => PathReader, template: string): Path | Literal {
  const quoted = /^'(.*)'$/s.exec(text) ?? /^"(.*)"$/s.exec(text);
  if (quoted) return { literal: quoted[1] };
  if (/^-?\d+(\.\d+)?$/.test(text)) return { literal: Number(text) };
  if (text === 'true' || text === 'false') return { literal: text === 'true' };
  if (text === 'nil' || text === 'null') return { literal: null };
  if (text.startsWith('@') || text.startsWith('$') || text.startsWith('.')) return reader(text).readPath();
  fail(template, `unrecognized filter operand ${JSON.stringify(text)}`);
}

/** Splits at `sep` outside quotes and brackets. */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unescapeLiteral(text: string): string {
  return text.replace(/\\(.)/g, (_all, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" })[c] ?? `\\${c}`);
}

/** Parses a template into text and actions; `{range}` bodies nest until their `{end}`. */
export function parseJsonPath(template: string): Node[] {
  if (template.length > MAX_TEMPLATE_LENGTH) throw new BerthError('BadRequest', `the jsonpath template is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  const stack: Node[][] = [[]];
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf('{', pos);
    if (open < 0) {
      stack[stack.length - 1].push({ kind: 'text', text: template.slice(pos) });
      break;
    }
    if (open > pos) stack[stack.length - 1].push({ kind: 'text', text: template.slice(pos, open) });
    const close = closingBrace(template, open);
    if (close < 0) fail(template, 'unclosed action');
    const action = template.slice(open + 1, close).trim();
    pos = close + 1;
    const current = stack[stack.length - 1];
    if (action === 'end') {
      if (stack.length === 1) fail(template, 'not in range, nothing to end');
      stack.pop();
      continue;
    }
    const literal = /^"((?:[^"\\]|\\.)*)"$/s.exec(action) ?? /^'((?:[^'\\]|\\.)*)'$/s.exec(action);
    if (literal) {
      current.push({ kind: 'literal', value: unescapeLiteral(literal[1]) });
      continue;
    }
    const range = /^range(\s+|$)(.*)$/s.exec(action);
    const pathText = range ? range[2] : action;
    const reader = new PathReader(pathText, template);
    const path = reader.readPath();
    if (reader.pos !== pathText.length) fail(template, `unrecognized character in action: ${JSON.stringify(pathText.slice(reader.pos))}`);
    if (range) {
      if (stack.length > MAX_RANGE_DEPTH) fail(template, `ranges nest deeper than ${MAX_RANGE_DEPTH}`);
      const node: Node = { kind: 'range', path, body: [] };
      current.push(node);
      stack.push(node.body);
    } else {
      current.push({ kind: 'path', path });
    }
  }
  if (stack.length > 1) fail(template, 'range without end');
  return stack[0];
}

/** The `}` closing the action at `open`, skipping quoted strings (`{"}"}`). */
function closingBrace(template: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < template.length; i++) {
    const c = template[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isPlainRecord(value)) return Object.keys(value).sort().map((key) => value[key]);
  return [];
}

function descendants(value: unknown, out: unknown[], depth = 0): void {
  if (depth > 200) return;
  out.push(value);
  for (const child of children(value)) descendants(child, out, depth + 1);
}

function normalizeIndex(index: number, length: number): number {
  return index < 0 ? index + length : index;
}

function applySegment(segment: Segment, values: unknown[], root: unknown): unknown[] {
  const out: unknown[] = [];
  for (const value of values) {
    switch (segment.kind) {
      case 'field':
        if (hasOwn(value, segment.name)) out.push(own(value, segment.name));
        break;
      case 'recursive': {
        const all: unknown[] = [];
        descendants(value, all);
        if (segment.name === undefined) out.push(...all);
        else for (const item of all) if (hasOwn(item, segment.name)) out.push(own(item, segment.name));
        break;
      }
      case 'wildcard':
        out.push(...children(value));
        break;
      case 'index':
        if (Array.isArray(value)) {
          const index = normalizeIndex(segment.index, value.length);
          if (index >= 0 && index < value.length) out.push(value[index]);
        }
        break;
      case 'slice':
        if (Array.isArray(value)) {
          const step = segment.step ?? 1;
          const clamp = (n: number) => Math.min(Math.max(normalizeIndex(n, value.length), 0), value.length);
          const start = clamp(segment.start ?? (step > 0 ? 0 : value.length - 1));
          const end = clamp(segment.end ?? (step > 0 ? value.length : -value.length - 1));
          if (step > 0) for (let i = start; i < end; i += step) out.push(value[i]);
          else for (let i = Math.min(start, value.length - 1); i > end - 1 && i >= 0; i += step) out.push(value[i]);
        }
        break;
      case 'union':
        for (const key of segment.keys) {
          if (typeof key === 'number') {
            if (Array.isArray(value)) {
              const index = normalizeIndex(key, value.length);
              if (index >= 0 && index < value.length) out.push(value[index]);
            }
          } else if (hasOwn(value, key)) out.push(own(value, key));
        }
        break;
      case 'filter':
        for (const item of Array.isArray(value) ? value : [value]) {
          if (matches(segment, item, root)) out.push(item);
        }
        break;
    }
  }
  return out;
}

function evaluatePath(path: Path, current: unknown, root: unknown): unknown[] {
  let values = [path.root === '$' ? root : current];
  for (const segment of path.segments) values = applySegment(segment, values, root);
  return values;
}

function compare(left: unknown, op: string, right: unknown): boolean {
  if (op === '==') return left === right || (typeof left === 'number' && typeof right === 'string' && String(left) === right);
  if (op === '!=') return !compare(left, '==', right);
  if (op === '=~') return typeof left === 'string' && typeof right === 'string' && safeRegex(right)?.test(left) === true;
  if (typeof left !== typeof right || (typeof left !== 'number' && typeof left !== 'string')) return false;
  const [l, r] = [left as number | string, right as number | string];
  return op === '<' ? l < r : op === '>' ? l > r : op === '<=' ? l <= r : l >= r;
}

function safeRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}

function matches(filter: Extract<Segment, { kind: 'filter' }>, item: unknown, root: unknown): boolean {
  const left = evaluatePath(filter.left, item, root);
  if (!filter.op || filter.right === undefined) return left.length > 0 && left.every((v) => v !== false && v !== null);
  const right = 'literal' in filter.right ? [filter.right.literal] : evaluatePath(filter.right, item, root);
  return left.some((l) => right.some((r) => compare(l, filter.op!, r)));
}

/** How kubectl prints one value: a string as is, anything else as compact JSON. */
export function formatJsonPathValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

function execute(nodes: Node[], current: unknown, root: unknown, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') out.push(node.text);
    else if (node.kind === 'literal') out.push(node.value);
    else if (node.kind === 'path') out.push(evaluatePath(node.path, current, root).map(formatJsonPathValue).join(' '));
    else {
      const values = evaluatePath(node.path, current, root);
      // A range over one array value ranges over its elements, as Go's template range does.
      const items = values.length === 1 && Array.isArray(values[0]) ? values[0] : values;
      for (const item of items) execute(node.body, item, root, out);
    }
  }
}

/** Go's `%v` of a decoded JSON value, which custom columns print: `map[a:1 b:2]`, `[x y]`, `<nil>`. */
export function formatGoValue(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return '<nil>';
  if (depth > 100) return '...';
  if (Array.isArray(value)) return `[${value.map((v) => formatGoValue(v, depth + 1)).join(' ')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `map[${Object.keys(record).sort().map((key) => `${key}:${formatGoValue(record[key], depth + 1)}`).join(' ')}]`;
  }
  return String(value);
}

/** A parsed template, applied to as many objects as needed. */
export class JsonPath {
  private readonly nodes: Node[];

  constructor(readonly template: string) {
    this.nodes = parseJsonPath(template);
  }

  /** The text the template prints for `data`. */
  print(data: unknown): string {
    const out: string[] = [];
    execute(this.nodes, data, data, out);
    return out.join('');
  }

  /** Every value the template's actions reach (custom columns, --sort-by). */
  values(data: unknown): unknown[] {
    const found: unknown[] = [];
    for (const node of this.nodes) if (node.kind === 'path') found.push(...evaluatePath(node.path, data, data));
    return found;
  }
}

/**
 * kubectl's relaxed form for custom columns and --sort-by: `.metadata.name`, `metadata.name` or
 * `{.metadata.name}` all mean the same path.
 */
export function relaxedJsonPath(expression: string): JsonPath {
  const trimmed = expression.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) return new JsonPath(trimmed);
  if (trimmed.startsWith('.') || trimmed.startsWith('[') || trimmed.startsWith('$')) return new JsonPath(`{${trimmed}}`);
  return new JsonPath(`{.${trimmed}}`);
}
