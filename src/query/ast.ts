/**
 * The query's syntax tree: a discriminated union on `type`, every node with the source span it was
 * read from (liqe's model, STYLE.md), so the checker's errors point at the text and `serialize`
 * can give the query back. Nodes keep how the user spelled things (`and` or `&&`, `nil` or
 * `null`, quotes and escapes in `raw`) so a query round-trips in its own dialect.
 *
 * The tree is what was written, not yet what it means: `http` is a Path here and becomes
 * `protocol == "http"` in the checker (plan.ts), which also decides which nodes are conditions
 * and which are values.
 */
import type { Span } from './errors.js';

export type { Span };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type MatchOp = 'contains' | 'startsWith' | 'endsWith' | 'matches';
export type FunctionName = 'timestamp' | 'duration' | 'now';

/** The empty query: matches every entry (as Kubeshark's empty filter does). */
export interface MatchAll {
  readonly type: 'MatchAll';
  readonly span: Span;
}

export interface Logical {
  readonly type: 'Logical';
  readonly op: 'and' | 'or';
  /** The spelling: `and`/`&&`, `or`/`||`. */
  readonly token: 'and' | '&&' | 'or' | '||';
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export interface Not {
  readonly type: 'Not';
  readonly token: 'not' | '!';
  readonly operand: Expr;
  readonly span: Span;
}

/** Parentheses the user wrote (kept so serialize gives them back). */
export interface Group {
  readonly type: 'Group';
  readonly expr: Expr;
  readonly span: Span;
}

export interface Compare {
  readonly type: 'Compare';
  readonly op: CompareOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

/** `path contains "x"` (infix, KFL v1) or `path.contains("x")` (method, CEL). */
export interface Match {
  readonly type: 'Match';
  readonly op: MatchOp;
  readonly style: 'infix' | 'method';
  readonly subject: Expr;
  readonly pattern: Expr;
  readonly span: Span;
}

/** `path exists` (KFL v1) or `has(path)` (CEL). */
export interface Exists {
  readonly type: 'Exists';
  readonly style: 'postfix' | 'has';
  readonly subject: Expr;
  readonly span: Span;
}

export interface In {
  readonly type: 'In';
  readonly element: Expr;
  readonly collection: Expr;
  readonly span: Span;
}

export interface PathSegment {
  /** `name` after a dot (or the first name), `key` in `["..."]`, `index` in `[0]`. */
  readonly kind: 'name' | 'key' | 'index';
  readonly value: string | number;
  /** The segment as written inside brackets (the string literal or the number); the name otherwise. */
  readonly raw: string;
  readonly span: Span;
}

export interface Path {
  readonly type: 'Path';
  readonly segments: readonly PathSegment[];
  readonly span: Span;
}

export interface Literal {
  readonly type: 'Literal';
  readonly value: string | number | boolean | null;
  /** The literal as written: quotes and escapes, `nil`, `0x1F`, `5u`. */
  readonly raw: string;
  readonly span: Span;
}

/** `r"4.*"`: a regular expression (KFL v1). */
export interface Regex {
  readonly type: 'Regex';
  /** The pattern, with `\"` already turned into `"`. */
  readonly pattern: string;
  readonly raw: string;
  readonly span: Span;
}

/** `["GET", "POST"]`, the right side of `in`. */
export interface List {
  readonly type: 'List';
  readonly items: readonly Expr[];
  readonly span: Span;
}

export interface Call {
  readonly type: 'Call';
  readonly name: FunctionName;
  readonly args: readonly Expr[];
  readonly span: Span;
}

/** `now() - duration("5m")`: arithmetic on constants (timestamps, durations, numbers). */
export interface Arith {
  readonly type: 'Arith';
  readonly op: '+' | '-';
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export interface Negate {
  readonly type: 'Negate';
  readonly operand: Expr;
  readonly span: Span;
}

export type Expr =
  | MatchAll
  | Logical
  | Not
  | Group
  | Compare
  | Match
  | Exists
  | In
  | Path
  | Literal
  | Regex
  | List
  | Call
  | Arith
  | Negate;

/** The dotted spelling of a path (`request.headers["x-id"]`), for messages and field lookup. */
export function pathText(p: Path): string {
  let out = '';
  for (const s of p.segments) {
    if (s.kind === 'name') out += out === '' ? s.raw : `.${s.raw}`;
    else out += `[${s.raw}]`;
  }
  return out;
}
