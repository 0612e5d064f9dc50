/**
 * A parser for the small subset of Python literals that `.npy` headers are written in: a dict
 * with string keys whose values are strings, ints, `True`/`False`/`None`, tuples and lists
 * (NumPy writes it with `repr`, old Python 2 files add an `L` to ints). Nothing is evaluated.
 */
export type PythonValue = string | number | boolean | null | PythonValue[] | { [key: string]: PythonValue };

export class PythonLiteralError extends Error {
  override readonly name: string = 'PythonLiteralError';
}

/** Parses `text` as one Python literal (surrounding whitespace allowed). */
export function parsePythonLiteral(text: string): PythonValue {
  const parser = new Parser(text);
  const value = parser.value();
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail('unexpected text after the literal');
  return value;
}

class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.at >= this.text.length;
  }

  fail(reason: string): never {
    throw new PythonLiteralError(`${reason} at offset ${this.at} of ${JSON.stringify(this.text)}`);
  }

  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.text[this.at]!)) this.at++;
  }

  value(): PythonValue {
    this.skipSpace();
    const char = this.text[this.at];
    if (char === '{') return this.dict();
    if (char === '(') return this.sequence(')');
    if (char === '[') return this.sequence(']');
    if (char === "'" || char === '"') return this.string(char);
    if (char !== undefined && /[-+0-9]/.test(char)) return this.int();
    if (char !== undefined && /[A-Za-z_]/.test(char)) return this.name();
    return this.fail(char === undefined ? 'literal ends early' : `unexpected ${JSON.stringify(char)}`);
  }

  private dict(): { [key: string]: PythonValue } {
    this.at++;
    const entries: { [key: string]: PythonValue } = Object.create(null);
    for (;;) {
      this.skipSpace();
      if (this.take('}')) return entries;
      const key = this.value();
      if (typeof key !== 'string') this.fail('dict key is not a string');
      this.skipSpace();
      if (!this.take(':')) this.fail("expected ':'");
      entries[key] = this.value();
      this.skipSpace();
      if (this.take('}')) return entries;
      if (!this.take(',')) this.fail("expected ',' or '}'");
    }
  }

  /** A tuple or a list; both become arrays (`(3,)` and `()` included). */
  private sequence(close: ')' | ']'): PythonValue[] {
    this.at++;
    const items: PythonValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.take(close)) return items;
      items.push(this.value());
      this.skipSpace();
      if (this.take(close)) return items;
      if (!this.take(',')) this.fail(`expected ',' or '${close}'`);
    }
  }

  private string(quote: string): string {
    this.at++;
    let result = '';
    for (;;) {
      const char = this.text[this.at++];
      if (char === undefined) this.fail('unterminated string');
      if (char === quote) return result;
      if (char === '\\') {
        const escaped = this.text[this.at++];
        if (escaped === undefined) this.fail('unterminated string');
        result += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped === 'r' ? '\r' : escaped;
      } else {
        result += char;
      }
    }
  }

  private int(): number {
    const match = /^[-+]?[0-9]+[lL]?/.exec(this.text.slice(this.at));
    if (!match) this.fail('expected an integer');
    const next = this.text[this.at + match[0].length];
    if (next === '.' || next === 'e' || next === 'E') this.fail('floats are not supported');
    this.at += match[0].length;
    return Number(match[0].replace(/[lL]$/, ''));
  }

  private name(): boolean | null {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.at))!;
    const names: Record<string, boolean | null> = { True: true, False: false, None: null };
    if (!Object.hasOwn(names, match[0])) this.fail(`unknown name ${match[0]}`);
    this.at += match[0].length;
    return names[match[0]]!;
  }

  private take(char: string): boolean {
    if (this.text[this.at] !== char) return false;
    this.at++;
    return true;
  }
}
