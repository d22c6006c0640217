/**
 * Compose's interpolation of one value (the Compose Specification's "Interpolation"): `$$` is a `$`;
 * `$VAR` and `${VAR}` the variable's value (empty when unset); `${VAR:-default}` / `${VAR-default}` the
 * default when VAR is unset or empty / unset; `${VAR:?error}` / `${VAR?error}` an error when VAR is unset or
 * empty / unset; `${VAR:+alt}` / `${VAR+alt}` alt when VAR is set and not empty / set. Defaults and
 * alternatives interpolate in turn (nested), and only when they are used. Throws an Error with a message
 * meant to follow the key's path.
 */
export function interpolate(text: string, lookup: (name: string) => string | undefined): string {
  return new Interpolation(text, lookup).word(false, true);
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

class Interpolation {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly lookup: (name: string) => string | undefined,
  ) {}

  /** Text up to the end (or, inside braces, up to the closing `}`), interpolated when `use`. */
  word(inBraces: boolean, use: boolean): string {
    let out = '';
    while (this.at < this.text.length) {
      const c = this.text[this.at];
      if (inBraces && c === '}') return out;
      if (c !== '$') {
        out += c;
        this.at++;
        continue;
      }
      out += this.dollar(use);
    }
    if (inBraces) throw new Error(`invalid interpolation format in ${JSON.stringify(this.text)}: a "\${" is not closed`);
    return out;
  }

  private dollar(use: boolean): string {
    const next = this.text[this.at + 1];
    if (next === '$') {
      this.at += 2;
      return '$';
    }
    if (next === '{') {
      this.at += 2;
      return this.braced(use);
    }
    NAME.lastIndex = this.at + 1;
    const name = NAME.exec(this.text);
    if (!name) {
      throw new Error(`invalid interpolation format in ${JSON.stringify(this.text)}: a "$" must start a variable; write "$$" for a "$"`);
    }
    this.at = NAME.lastIndex;
    return use ? (this.lookup(name[0]) ?? '') : '';
  }

  private braced(use: boolean): string {
    NAME.lastIndex = this.at;
    const name = NAME.exec(this.text);
    if (!name) throw new Error(`invalid interpolation format in ${JSON.stringify(this.text)}: "\${" must be followed by a variable name`);
    this.at = NAME.lastIndex;
    const operator = /^(:-|-|:\?|\?|:\+|\+)?/.exec(this.text.slice(this.at, this.at + 2))![0];
    this.at += operator.length;
    if (operator === '' && this.text[this.at] !== '}') {
      throw new Error(`invalid interpolation format in ${JSON.stringify(this.text)}: unexpected ${JSON.stringify(this.text[this.at] ?? 'end')} after \${${name[0]}`);
    }
    const value = use ? this.lookup(name[0]) : undefined;
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    let result: string;
    switch (operator) {
      case ':-': {
        const fallback = this.word(true, use && !nonEmpty);
        result = nonEmpty ? value : fallback;
        break;
      }
      case '-': {
        const fallback = this.word(true, use && !set);
        result = set ? value : fallback;
        break;
      }
      case ':?':
      case '?': {
        const missing = operator === ':?' ? !nonEmpty : !set;
        const message = this.word(true, use && missing);
        if (use && missing) throw new Error(`required variable ${name[0]} is missing a value${message ? `: ${message}` : ''}`);
        result = value ?? '';
        break;
      }
      case ':+': {
        const alternative = this.word(true, use && nonEmpty);
        result = nonEmpty ? alternative : '';
        break;
      }
      case '+': {
        const alternative = this.word(true, use && set);
        result = set ? alternative : '';
        break;
      }
      default:
        result = value ?? '';
    }
    this.at++; // the closing brace, which word() stopped at
    return use ? result : '';
  }
}
