import { errors } from '@berth/errors';
import { labelValueErrors, qualifiedNameErrors } from './schema/syntax';

/** `=` stands for both `=` and `==`; `!` is DoesNotExist; `gt`/`lt` compare integers (`replicas>2`). */
export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and without duplicates, as Kubernetes keeps them. */
  values: string[];
}


// ---- Label selectors ----

/** A field.Error line as Kubernetes prints it: `values[0][app]: Invalid value: "a b": ...`. */
function invalidValue(path: string, value: unknown, detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

/** Kubernetes' NewRequirement checks, worded as it words them (it passes no field path, so paths start at `key`). */
function requirementProblems(key: string, operator: LabelOperator, values: string[]): string[] {
  const problems: string[] = [];
  const keyProblems = qualifiedNameErrors(key);
  if (keyProblems.length) problems.push(invalidValue('key', key, keyProblems.join('; ')));
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) problems.push(invalidValue('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '!=':
      if (values.length !== 1) problems.push(invalidValue('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) problems.push(invalidValue('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) problems.push(invalidValue('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v)) problems.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const valueProblems = labelValueErrors(v);
    if (valueProblems.length) problems.push(invalidValue(`values[${i}][${key}]`, v, valueProblems.join('; ')));
  });
  return problems;
}

/** Kubernetes joins several field errors as `[a, b]` (utilerrors.NewAggregate). */
function aggregate(problems: string[]): string {
  return problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`;
}

function requirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const problems = requirementProblems(key, operator, values);
  if (problems.length) throw new SelectorSyntaxError(aggregate(problems));
  return { key, operator, values: [...new Set(values)].sort() };
}

class SelectorSyntaxError extends Error {}

type TokenKind = 'identifier' | 'in' | 'notin' | '=' | '==' | '!=' | '!' | '>' | '<' | '(' | ')' | ',' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
}

const TWO_CHARACTER_SYMBOLS: readonly string[] = ['!=', '=='];
const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

/** Splits selector text the way Kubernetes' lexer does: symbols match greedily, words end at whitespace or a symbol. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (WHITESPACE.has(ch)) {
      i++;
    } else if (SPECIAL.has(ch)) {
      // Every special character is a token on its own; `!=` and `==` are the longer matches.
      const pair = text.slice(i, i + 2);
      const symbol = TWO_CHARACTER_SYMBOLS.includes(pair) ? pair : ch;
      tokens.push({ kind: symbol as TokenKind, text: symbol });
      i += symbol.length;
    } else {
      let j = i;
      while (j < text.length && !WHITESPACE.has(text[j]) && !SPECIAL.has(text[j])) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: word === 'in' || word === 'notin' ? word : 'identifier', text: word });
      i = j;
    }
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

/** A recursive-descent parser with Kubernetes' grammar and error messages (apimachinery labels.Parse). */
class LabelSelectorParser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  /** Where values are expected, `in` and `notin` are plain words. */
  private peek(): Token {
    const token = this.tokens[this.position];
    return token.kind === 'in' || token.kind === 'notin' ? { kind: 'identifier', text: token.text } : token;
  }

  private next(keywords = false): Token {
    const token = keywords ? this.tokens[this.position] : this.peek();
    if (this.position < this.tokens.length - 1) this.position++;
    return token;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const ahead = this.peek();
      if (ahead.kind === 'end') return requirements;
      if (ahead.kind !== 'identifier' && ahead.kind !== '!') {
        throw new SelectorSyntaxError(`found '${ahead.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.requirement());
      } catch (err) {
        if (err instanceof SelectorSyntaxError) throw new SelectorSyntaxError(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const after = this.next();
      if (after.kind === 'end') return requirements;
      if (after.kind !== ',') throw new SelectorSyntaxError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.kind !== 'identifier' && following.kind !== '!') {
        throw new SelectorSyntaxError(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    let token = this.next();
    const negated = token.kind === '!';
    if (negated) token = this.next();
    if (token.kind !== 'identifier') throw new SelectorSyntaxError(`found '${token.text}', expected: identifier`);
    const key = token.text;
    const keyProblems = qualifiedNameErrors(key);
    if (keyProblems.length) throw new SelectorSyntaxError(invalidValue('<nil>', key, keyProblems.join('; ')));
    const ahead = this.peek().kind;
    if (negated) return requirement(key, '!', []);
    if (ahead === 'end' || ahead === ',') return requirement(key, 'exists', []);

    const operatorToken = this.next(true);
    const operator = OPERATOR_OF_TOKEN[operatorToken.kind];
    if (!operator) {
      throw new SelectorSyntaxError(`found '${operatorToken.text}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const values = operator === 'in' || operator === 'notin' ? this.valueSet() : this.exactValue();
    return requirement(key, operator, values);
  }

  private exactValue(): string[] {
    const ahead = this.peek();
    if (ahead.kind === 'end' || ahead.kind === ',') return [''];
    const token = this.next();
    if (token.kind === 'identifier') return [token.text];
    throw new SelectorSyntaxError(`found '${token.text}', expected: identifier`);
  }

  /** `(a,b)`; like Kubernetes, empty members (`()`, `(a,)`, `(,a)`) stand for the empty value. */
  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw new SelectorSyntaxError(`found '${open.text}' expected: '('`);
    const first = this.peek();
    if (first.kind === ')') {
      this.next();
      return [''];
    }
    if (first.kind !== 'identifier' && first.kind !== ',') {
      throw new SelectorSyntaxError(`found '${first.text}', expected: ',', ')' or identifier`);
    }
    const values = this.valueList();
    if (this.next().kind !== ')') throw new SelectorSyntaxError(`found '${first.text}', expected: ')'`);
    return values;
  }

  private valueList(): string[] {
    const values: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind === 'identifier') {
        values.push(token.text);
        const ahead = this.peek();
        if (ahead.kind === ')') return values;
        if (ahead.kind !== ',') throw new SelectorSyntaxError(`found '${ahead.text}', expected: ',' or ')'`);
      } else if (token.kind === ',') {
        if (values.length === 0) values.push('');
        const ahead = this.peek();
        if (ahead.kind === ')') {
          values.push('');
          return values;
        }
        if (ahead.kind === ',') {
          this.next();
          values.push('');
        }
      } else {
        throw new SelectorSyntaxError(`found '${token.text}', expected: ',', or identifier`);
      }
    }
  }
}

const OPERATOR_OF_TOKEN: Partial<Record<TokenKind, LabelOperator>> = {
  in: 'in',
  notin: 'notin',
  '=': '=',
  '==': '=',
  '!=': '!=',
  '>': 'gt',
  '<': 'lt',
};

/** Parses `app=web,tier!=db,env in (a,b),!legacy`; throws BerthError BadRequest on bad syntax. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  try {
    return new LabelSelectorParser(tokenize(text)).parse();
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw errors.badRequest(err.message);
    throw err;
  }
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, string>): boolean {
  const present = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case '=':
    case 'in':
      return present && req.values.includes(value);
    case '!=':
    case 'notin':
      return !present || !req.values.includes(value);
    case 'exists':
      return present;
    case '!':
      return !present;
    case 'gt':
    case 'lt': {
      if (!present || !/^[+-]?\d+$/.test(value)) return false;
      const have = Number(value);
      const bound = Number(req.values[0]);
      return req.operator === 'gt' ? have > bound : have < bound;
    }
  }
}

/** True when every requirement holds; no requirements select everything. */
export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  return requirements.every((req) => matchesRequirement(req, labels ?? {}));
}

interface LabelSelectorExpression {
  key?: unknown;
  operator?: unknown;
  values?: unknown;
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * A metav1.LabelSelector ({matchLabels, matchExpressions}) as requirements, sorted by key like
 * LabelSelectorAsSelector; throws BadRequest when malformed. An absent selector gives no requirements,
 * which match everything: callers for which Kubernetes' nil selector means "nothing" must check first.
 */
export function requirementsOfSelector(selector: unknown): LabelRequirement[] {
  if (selector === undefined || selector === null) return [];
  if (typeof selector !== 'object' || Array.isArray(selector)) throw errors.badRequest('a label selector must be an object');
  const { matchLabels, matchExpressions } = selector as { matchLabels?: unknown; matchExpressions?: unknown };
  const requirements: LabelRequirement[] = [];
  try {
    if (matchLabels !== undefined && matchLabels !== null) {
      if (typeof matchLabels !== 'object' || Array.isArray(matchLabels)) {
        throw new SelectorSyntaxError('matchLabels must be a map of strings');
      }
      for (const [key, value] of Object.entries(matchLabels as Record<string, unknown>)) {
        if (typeof value !== 'string') throw new SelectorSyntaxError(invalidValue(`matchLabels[${key}]`, value, 'must be a string'));
        requirements.push(requirement(key, '=', [value]));
      }
    }
    if (matchExpressions !== undefined && matchExpressions !== null) {
      if (!Array.isArray(matchExpressions)) throw new SelectorSyntaxError('matchExpressions must be a list');
      matchExpressions.forEach((raw: LabelSelectorExpression, i) => {
        const operator = typeof raw?.operator === 'string' ? EXPRESSION_OPERATORS[raw.operator] : undefined;
        if (!operator) throw new SelectorSyntaxError(`${JSON.stringify(raw?.operator ?? '')} is not a valid label selector operator`);
        const values = raw.values ?? [];
        if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
          throw new SelectorSyntaxError(invalidValue(`matchExpressions[${i}].values`, values, 'must be a list of strings'));
        }
        requirements.push(requirement(String(raw.key ?? ''), operator, values as string[]));
      });
    }
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw errors.badRequest(err.message);
    throw err;
  }
  return sortByKey(requirements);
}

function sortByKey(requirements: LabelRequirement[]): LabelRequirement[] {
  return [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** One requirement as Kubernetes' Requirement.String() writes it. */
export function formatRequirement(req: LabelRequirement): string {
  switch (req.operator) {
    case '!':
      return `!${req.key}`;
    case 'exists':
      return req.key;
    case 'in':
    case 'notin':
      return `${req.key} ${req.operator} (${req.values.join(',')})`;
    case 'gt':
      return `${req.key}>${req.values[0]}`;
    case 'lt':
      return `${req.key}<${req.values[0]}`;
    default:
      return `${req.key}${req.operator}${req.values[0]}`;
  }
}

/** Requirements as selector text, sorted by key like labels.Selector.String(); '' selects everything. */
export function formatRequirements(requirements: LabelRequirement[]): string {
  return sortByKey(requirements).map(formatRequirement).join(',');
}

/**
 * A metav1.LabelSelector as the string Kubernetes prints (`app=web,tier in (a,b)`): used in Scale status.
 * An empty or absent selector prints as '' (metav1.FormatLabelSelector's `<none>` is a table concern).
 */
export function formatSelector(selector: unknown): string {
  return formatRequirements(requirementsOfSelector(selector));
}

/** A plain label map as `a=1,b=2` sorted by key, `<none>` when empty: labels.FormatLabels. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}
