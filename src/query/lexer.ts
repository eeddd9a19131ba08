/**
 * Tokens of the query language. Words are all `ident` tokens: whether `and` or `contains` is a
 * keyword depends on where it stands (after a dot it is a field name), which the parser decides.
 *
 * String literals follow CEL's escapes (cel-spec, "Syntax": `\\ \" \' \` \? \a \b \f \n \r \t \v`,
 * `\xHH`, `\uHHHH`, `\UHHHHHHHH`, three-digit octal), in single or double quotes. `r"..."` is a
 * regular expression (Kubeshark KFL v1), not CEL's raw string: its text is kept as written except
 * that `\"` stands for the quote.
 */
import { QueryError } from './errors.js';

export type TokenKind =
  | 'ident'
  | 'number'
  | 'string'
  | 'regex'
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '.'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '&&'
  | '||'
  | '!'
  | '+'
  | '-'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The text as written. */
  readonly raw: string;
  /** The decoded value: a string's or regex's content, a number's value. */
  readonly value: string | number;
  readonly start: number;
  readonly end: number;
}

/** Longest query accepted: a filter is typed or generated, never a document. */
export const MAX_QUERY_LENGTH = 16_384;

const PUNCT2 = new Set(['==', '!=', '<=', '>=', '&&', '||']);
const PUNCT1 = new Set(['(', ')', '[', ']', ',', '.', '<', '>', '!', '+', '-']);
const LONE_SURROGATE = /\p{Cs}/u;

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isHex(c: string): boolean {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  "'": "'",
  '`': '`',
  '?': '?',
  '/': '/',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

const STRAY_HINTS: Record<string, string> = {
  '=': 'compare with ==',
  '&': 'write && or and',
  '|': 'write || or or',
  '*': 'wildcard selectors and multiplication are not supported',
  '?': 'the conditional operator ?: is not supported',
  ':': 'the conditional operator ?: is not supported',
  '{': 'map literals are not supported',
};

export function tokenize(text: string): Token[] {
  if (text.length > MAX_QUERY_LENGTH)
    throw new QueryError(
      'query.limit',
      `query is ${text.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted`,
      { start: MAX_QUERY_LENGTH, end: text.length },
    );
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if ((c === 'r' || c === 'R') && (text[i + 1] === '"' || text[i + 1] === "'")) {
      const { value, end } = readRegex(text, i + 1);
      out.push({ kind: 'regex', raw: text.slice(start, end), value, start, end });
      i = end;
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(text[i]!)) i++;
      const word = text.slice(start, i);
      out.push({ kind: 'ident', raw: word, value: word, start, end: i });
      continue;
    }
    if (isDigit(c)) {
      const tok = readNumber(text, i);
      out.push(tok);
      i = tok.end;
      continue;
    }
    if (c === '"' || c === "'") {
      const { value, end } = readString(text, i);
      out.push({ kind: 'string', raw: text.slice(start, end), value, start, end });
      i = end;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      out.push({ kind: two as TokenKind, raw: two, value: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    if (PUNCT1.has(c)) {
      out.push({ kind: c as TokenKind, raw: c, value: c, start, end: i + 1 });
      i++;
      continue;
    }
    const cp = String.fromCodePoint(text.codePointAt(i)!);
    throw new QueryError(
      'query.character',
      `unexpected character '${cp}'`,
      { start: i, end: i + cp.length },
      STRAY_HINTS[c],
    );
  }
  out.push({ kind: 'eof', raw: '', value: '', start: n, end: n });
  return out;
}

function readNumber(text: string, start: number): Token {
  let i = start;
  const n = text.length;
  let value: number;
  let integer = true;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    const digits = i;
    while (i < n && isHex(text[i]!)) i++;
    if (i === digits)
      throw new QueryError('query.number', 'a hexadecimal number needs digits after 0x', { start, end: i });
    value = Number.parseInt(text.slice(digits, i), 16);
  } else {
    while (i < n && isDigit(text[i]!)) i++;
    if (text[i] === '.' && isDigit(text[i + 1] ?? '')) {
      integer = false;
      i++;
      while (i < n && isDigit(text[i]!)) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      let j = i + 1;
      if (text[j] === '+' || text[j] === '-') j++;
      if (isDigit(text[j] ?? '')) {
        integer = false;
        i = j;
        while (i < n && isDigit(text[i]!)) i++;
      }
    }
    value = Number(text.slice(start, i));
  }
  // CEL's unsigned suffix: 5u is the number 5.
  if (integer && (text[i] === 'u' || text[i] === 'U')) i++;
  if (i < n && (isIdentPart(text[i]!) || text[i] === '.')) {
    let j = i;
    while (j < n && (isIdentPart(text[j]!) || text[j] === '.')) j++;
    throw new QueryError('query.number', `malformed number '${text.slice(start, j)}'`, { start, end: j });
  }
  const span = { start, end: i };
  if (!Number.isFinite(value))
    throw new QueryError('query.number', `number '${text.slice(start, i)}' is too large`, span);
  // Above 2^53 not every integer has a double: refuse a literal that would silently change
  // (one that is the double's own shortest form, as JavaScript prints it, is taken as that double).
  const digits = text.slice(start, i).replace(/[uU]$/, '');
  if (integer && !Number.isSafeInteger(value) && String(value) !== digits && BigInt(digits) !== BigInt(value))
    throw new QueryError(
      'query.number',
      `integer '${text.slice(start, i)}' has no exact double (it would read as ${BigInt(value)})`,
      span,
    );
  return { kind: 'number', raw: text.slice(start, i), value, start, end: i };
}

function readString(text: string, start: number): { value: string; end: number } {
  const quote = text[start]!;
  let i = start + 1;
  let out = '';
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === quote) {
      if (LONE_SURROGATE.test(out))
        throw new QueryError('query.escape', 'the string holds an unpaired surrogate', { start, end: i + 1 });
      return { value: out, end: i + 1 };
    }
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) break;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = text.slice(i + 2, i + 2 + hexLen);
      if (hex.length !== hexLen || ![...hex].every(isHex))
        throw new QueryError('query.escape', `\\${e} needs ${hexLen} hexadecimal digits`, {
          start: i,
          end: Math.min(n, i + 2 + hexLen),
        });
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff)
        throw new QueryError('query.escape', `\\${e}${hex} is beyond the last code point U+10FFFF`, {
          start: i,
          end: i + 2 + hexLen,
        });
      out += String.fromCodePoint(cp);
      i += 2 + hexLen;
      continue;
    }
    if (e >= '0' && e <= '3' && /^[0-7]{2}$/.test(text.slice(i + 2, i + 4))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 4;
      continue;
    }
    throw new QueryError(
      'query.escape',
      `unknown escape '\\${e}'`,
      { start: i, end: i + 2 },
      'escapes are \\\\ \\" \\\' \\n \\r \\t \\xHH \\uHHHH \\UHHHHHHHH; write a backslash as \\\\',
    );
  }
  throw new QueryError('query.unterminated-string', `string has no closing ${quote}`, { start, end: n });
}

function readRegex(text: string, quoteAt: number): { value: string; end: number } {
  const quote = text[quoteAt]!;
  let i = quoteAt + 1;
  let out = '';
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === quote) return { value: out, end: i + 1 };
    if (c === '\\' && i + 1 < n) {
      const e = text[i + 1]!;
      out += e === quote ? e : c + e;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw new QueryError('query.unterminated-string', `regular expression has no closing ${quote}`, {
    start: quoteAt - 1,
    end: n,
  });
}
