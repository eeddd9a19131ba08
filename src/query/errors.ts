/**
 * The query language's one catalogue of coded errors (STYLE.md: "one catalogue of coded errors,
 * documented, with a test that keeps code and docs in step"; docs/query.md lists the same codes).
 * Every error carries the span of the text it blames, so `format()` can point at it.
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

/** Every code a QueryError can carry, with what it means (docs/query.md, "Errors"). */
export const ERROR_CODES = {
  'query.syntax': 'the text does not follow the grammar (a missing operand, an unexpected token...)',
  'query.character': 'a character that cannot start any token',
  'query.unterminated-string': 'a string or regular expression literal without its closing quote',
  'query.escape': 'an unknown or malformed escape sequence in a string literal',
  'query.number': 'a number literal that cannot be read (or is too large to be exact)',
  'query.unknown-field': 'a field that entries do not have; the message names the closest one',
  'query.unknown-function': 'a function or method the language does not have',
  'query.arity': 'a function or method called with the wrong number of arguments',
  'query.type': 'an operator applied to values of the wrong type (a number compared with a string...)',
  'query.value': 'a literal that the field can never hold (protocol == "HTTP")',
  'query.regex': 'a regular expression that does not compile, or that the language refuses',
  'query.timestamp': 'a timestamp("...") argument that is not an RFC 3339 date-time',
  'query.duration': 'a duration("...") argument that is not a duration such as "1.5s" or "5m"',
  'query.limit': 'a query longer or more deeply nested than the language accepts',
} as const;

export type QueryErrorCode = keyof typeof ERROR_CODES;

export class QueryError extends Error {
  readonly code: QueryErrorCode;
  readonly span: Span;
  readonly hint?: string;

  constructor(code: QueryErrorCode, message: string, span: Span, hint?: string) {
    super(message);
    this.name = 'QueryError';
    this.code = code;
    this.span = { start: span.start, end: span.end };
    if (hint !== undefined) this.hint = hint;
  }

  /**
   * The message, the line of `text` holding the span with carets under it, and the hint:
   *
   *     unknown field 'dst.nmae'; did you mean 'dst.name'? [query.unknown-field]
   *       dst.nmae == "x"
   *       ^^^^^^^^
   */
  format(text: string): string {
    const start = Math.max(0, Math.min(this.span.start, text.length));
    const end = Math.max(start, Math.min(this.span.end, text.length));
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    let lineEnd = text.indexOf('\n', start);
    if (lineEnd < 0) lineEnd = text.length;
    // Tabs and control characters would shift the carets: show them as single spaces.
    const line = text.slice(lineStart, lineEnd).replace(/[\t\r\v\f]/g, ' ');
    const caretEnd = Math.min(end, lineEnd);
    const width = Math.max(1, caretEnd - start);
    const out = [
      `${this.message} [${this.code}]`,
      `  ${line}`,
      `  ${' '.repeat(start - lineStart)}${'^'.repeat(width)}`,
    ];
    if (this.hint) out.push(`hint: ${this.hint}`);
    return out.join('\n');
  }
}
