/*
 * What the sandboxes' OData `$filter` readers share (OData Version 4.01, "URL Conventions", 5.1.1 "Built-in Filter
 * Operations" and the ABNF's literal forms): whitespace between tokens, one-character punctuation, quoted strings
 * with '' for a quote, a closing `eof` token, and `and` / `or` chains. Each service's tokenizer supplies the literals
 * and names it reads (Dataverse's GUIDs, dates and enum members; Partner Center's loose date-times), and each parser
 * its own tree and error shape.
 */

export type PunctuationToken<Punctuation extends string> = { kind: Punctuation; position: number };
export type StringToken = { kind: 'string'; value: string; position: number };
export type EofToken = { kind: 'eof'; position: number };

/** A token a dialect read at a position, and the position after it. */
export interface Lexed<Literal> {
  token: Literal;
  end: number;
}

export interface ODataDialect<Literal, Punctuation extends string> {
  punctuation: Readonly<Record<string, Punctuation>>;
  /** Its literals and names at `position`, tried after whitespace, punctuation and quoted strings. */
  literal(input: string, position: number): Lexed<Literal> | undefined;
  /** The service's error for a quoted string that never closes, opened at `start`. */
  unterminated(start: number): Error;
  /** The service's error for a character nothing reads. */
  unexpected(char: string, position: number): Error;
}

/** A sticky pattern's match exactly at `position`. */
export function matchAt(pattern: RegExp, input: string, position: number): RegExpExecArray | null {
  pattern.lastIndex = position;
  return pattern.exec(input);
}

/** The quoted literal whose opening quote is at `start` ('' inside stands for one quote); undefined if it never closes. */
export function readQuoted(input: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  let i = start + 1;
  while (i < input.length) {
    const char = input[i];
    if (char === "'") {
      if (input[i + 1] !== "'") return { value, end: i + 1 };
      value += "'";
      i += 2;
      continue;
    }
    value += char;
    i += 1;
  }
  return undefined;
}

/** Splits `input` into tokens, ending with `eof`; the dialect's errors for what it cannot read. */
export function lexOData<Literal, Punctuation extends string>(
  input: string,
  dialect: ODataDialect<Literal, Punctuation>,
): Array<Literal | PunctuationToken<Punctuation> | StringToken | EofToken> {
  const tokens: Array<Literal | PunctuationToken<Punctuation> | StringToken | EofToken> = [];
  let i = 0;
  while (i < input.length) {
    const char = input[i] ?? '';
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const punctuation = dialect.punctuation[char];
    if (punctuation) {
      tokens.push({ kind: punctuation, position: i });
      i += 1;
      continue;
    }
    const lexed = char === "'" ? quoted(input, i, dialect) : dialect.literal(input, i);
    if (!lexed) throw dialect.unexpected(char, i);
    tokens.push(lexed.token);
    i = lexed.end;
  }
  tokens.push({ kind: 'eof', position: input.length });
  return tokens;
}

function quoted(input: string, start: number, dialect: ODataDialect<unknown, string>): Lexed<StringToken> {
  const read = readQuoted(input, start);
  if (!read) throw dialect.unterminated(start);
  return { token: { kind: 'string', value: read.value, position: start }, end: read.end };
}

/**
 * `a op b op c`, left-associative; `and` binds tighter than `or` when an `or` chain reads its operands as `and` chains.
 * `accept` consumes the keyword when it comes next; `join` builds the parser's own logical node.
 */
export function logicalChain<Node>(operand: () => Node, accept: () => boolean, join: (left: Node, right: Node) => Node): Node {
  let left = operand();
  while (accept()) left = join(left, operand());
  return left;
}
