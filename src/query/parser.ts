/**
 * Recursive descent over the tokens, one function per precedence level (DESIGN.md, "The query
 * language": `or < and < not < comparison`; Kubeshark v1 put `and` and `or` at one level, which
 * this deliberately does not copy):
 *
 *     query      := ε | or
 *     or         := and (("or" | "||") and)*
 *     and        := not (("and" | "&&") not)*
 *     not        := ("not" | "!") not | comparison
 *     comparison := additive [ ("==" | "!=" | "<" | "<=" | ">" | ">=") additive
 *                             | ("contains" | "startsWith" | "endsWith" | "matches") additive
 *                             | "in" additive
 *                             | "exists" ]
 *     additive   := unary (("+" | "-") unary)*
 *     unary      := "-" unary | postfix
 *     postfix    := primary ("." name | "." method "(" args ")" | "[" (string | integer) "]")*
 *     primary    := literal | r"regex" | name | function "(" args ")" | "(" or ")" | "[" list "]"
 *
 * Comparisons do not chain (`a < b < c` is an error, not CEL's type error at run time). `!` sits
 * with `not`, below comparison: `!status == 500` is `!(status == 500)`. The parser builds what was
 * written; meaning (fields, types, protocols) is the checker's job (plan.ts).
 */
import type { CompareOp, Expr, FunctionName, MatchOp, Path, PathSegment, Span } from './ast.js';
import { QueryError } from './errors.js';
import { type Token, type TokenKind, tokenize } from './lexer.js';
import { closest } from './suggest.js';

/** Deepest nesting of parentheses, `not` and operators accepted (the parser recurses per level). */
export const MAX_DEPTH = 64;

const COMPARE_OPS = new Set<TokenKind>(['==', '!=', '<', '<=', '>', '>=']);
const MATCH_OPS = new Set<string>(['contains', 'startsWith', 'endsWith', 'matches']);
const FUNCTIONS: Record<string, { name: FunctionName | 'has'; arity: number }> = {
  timestamp: { name: 'timestamp', arity: 1 },
  duration: { name: 'duration', arity: 1 },
  now: { name: 'now', arity: 0 },
  has: { name: 'has', arity: 1 },
};
/** Words that cannot be a field name where an operand is expected. */
const RESERVED = new Set([
  'and',
  'or',
  'not',
  'in',
  'exists',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
]);
const UPPER_KEYWORDS: Record<string, string> = {
  AND: 'and',
  OR: 'or',
  NOT: 'not',
  IN: 'in',
  EXISTS: 'exists',
};

function describe(t: Token): string {
  if (t.kind === 'eof') return 'the end of the query';
  if (t.kind === 'string') return `string ${t.raw}`;
  if (t.kind === 'number') return `number ${t.raw}`;
  if (t.kind === 'regex') return `regular expression ${t.raw}`;
  return `'${t.raw}'`;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): Expr {
    if (this.peek().kind === 'eof') return { type: 'MatchAll', span: { start: 0, end: this.text.length } };
    const e = this.or();
    const t = this.peek();
    if (t.kind !== 'eof') {
      const upper = t.kind === 'ident' ? UPPER_KEYWORDS[t.raw] : undefined;
      let hint: string | undefined;
      if (upper) hint = `keywords are lower case: ${upper}`;
      else if (t.kind === ')') hint = 'this parenthesis closes nothing';
      else hint = 'join conditions with and / or (&& / ||)';
      throw this.error('query.syntax', `unexpected ${describe(t)} after a complete condition`, t, hint);
    }
    return e;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }
  private isWord(t: Token, w: string): boolean {
    return t.kind === 'ident' && t.raw === w;
  }
  private expect(kind: TokenKind, what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw this.error('query.syntax', `expected ${what}, found ${describe(t)}`, t);
    return this.next();
  }
  private error(code: 'query.syntax', message: string, at: Span, hint?: string): QueryError {
    const end = Math.min(this.text.length, Math.max(at.end, at.start + 1));
    return new QueryError(code, message, { start: at.start, end }, hint);
  }
  private enter(at: Token): void {
    if (++this.depth > MAX_DEPTH)
      throw new QueryError('query.limit', `query is nested more than ${MAX_DEPTH} levels deep`, at);
  }

  private or(): Expr {
    this.enter(this.peek());
    let left = this.and();
    for (;;) {
      const t = this.peek();
      if (!(this.isWord(t, 'or') || t.kind === '||')) break;
      this.next();
      const right = this.and();
      left = {
        type: 'Logical',
        op: 'or',
        token: t.kind === '||' ? '||' : 'or',
        left,
        right,
        span: { start: left.span.start, end: right.span.end },
      };
    }
    this.depth--;
    return left;
  }

  private and(): Expr {
    let left = this.not();
    for (;;) {
      const t = this.peek();
      if (!(this.isWord(t, 'and') || t.kind === '&&')) break;
      this.next();
      const right = this.not();
      left = {
        type: 'Logical',
        op: 'and',
        token: t.kind === '&&' ? '&&' : 'and',
        left,
        right,
        span: { start: left.span.start, end: right.span.end },
      };
    }
    return left;
  }

  private not(): Expr {
    const t = this.peek();
    if (this.isWord(t, 'not') || t.kind === '!') {
      this.enter(t);
      this.next();
      const operand = this.not();
      this.depth--;
      return {
        type: 'Not',
        token: t.kind === '!' ? '!' : 'not',
        operand,
        span: { start: t.start, end: operand.span.end },
      };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const t = this.peek();
    let result: Expr;
    if (COMPARE_OPS.has(t.kind)) {
      this.next();
      const right = this.additive();
      result = {
        type: 'Compare',
        op: t.kind as CompareOp,
        left,
        right,
        span: { start: left.span.start, end: right.span.end },
      };
    } else if (t.kind === 'ident' && MATCH_OPS.has(t.raw)) {
      this.next();
      const pattern = this.additive();
      result = {
        type: 'Match',
        op: t.raw as MatchOp,
        style: 'infix',
        subject: left,
        pattern,
        span: { start: left.span.start, end: pattern.span.end },
      };
    } else if (this.isWord(t, 'in')) {
      this.next();
      const collection = this.additive();
      result = {
        type: 'In',
        element: left,
        collection,
        span: { start: left.span.start, end: collection.span.end },
      };
    } else if (this.isWord(t, 'exists')) {
      this.next();
      result = {
        type: 'Exists',
        style: 'postfix',
        subject: left,
        span: { start: left.span.start, end: t.end },
      };
    } else {
      return left;
    }
    const after = this.peek();
    if (
      COMPARE_OPS.has(after.kind) ||
      (after.kind === 'ident' && (MATCH_OPS.has(after.raw) || after.raw === 'in' || after.raw === 'exists'))
    )
      throw this.error(
        'query.syntax',
        `comparisons do not chain: unexpected ${describe(after)}`,
        after,
        'combine comparisons with and: a < b and b < c',
      );
    return result;
  }

  private additive(): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== '+' && t.kind !== '-') break;
      this.next();
      const right = this.unary();
      left = {
        type: 'Arith',
        op: t.kind,
        left,
        right,
        span: { start: left.span.start, end: right.span.end },
      };
    }
    return left;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === '-') {
      this.enter(t);
      this.next();
      const operand = this.unary();
      this.depth--;
      return { type: 'Negate', operand, span: { start: t.start, end: operand.span.end } };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const t = this.peek();
      if (t.kind === '.') {
        this.next();
        const name = this.peek();
        if (name.kind !== 'ident')
          throw this.error('query.syntax', `expected a field name after '.', found ${describe(name)}`, name);
        this.next();
        if (this.peek().kind === '(') {
          e = this.method(e, name);
          continue;
        }
        e = this.extend(e, {
          kind: 'name',
          value: name.raw,
          raw: name.raw,
          span: { start: name.start, end: name.end },
        });
      } else if (t.kind === '[') {
        this.next();
        const k = this.next();
        if (k.kind === 'string') {
          e = this.extend(e, {
            kind: 'key',
            value: k.value,
            raw: k.raw,
            span: { start: k.start, end: k.end },
          });
        } else if (k.kind === 'number' && Number.isInteger(k.value) && !/[.eE]/.test(k.raw)) {
          e = this.extend(e, {
            kind: 'index',
            value: k.value,
            raw: k.raw,
            span: { start: k.start, end: k.end },
          });
        } else {
          throw this.error(
            'query.syntax',
            `expected a string key or a whole number in [ ], found ${describe(k)}`,
            k,
            k.kind === '-' ? 'indexes count from 0; negative indexes are not supported' : undefined,
          );
        }
        const close = this.expect(']', "']'");
        e = { ...e, span: { start: e.span.start, end: close.end } } as Expr;
      } else {
        return e;
      }
    }
  }

  /** Adds a segment to a path; `[...]` and `.name` apply to fields only. */
  private extend(e: Expr, seg: PathSegment): Path {
    if (e.type !== 'Path')
      throw this.error(
        'query.syntax',
        seg.kind === 'name'
          ? `'.${seg.raw}' applies to a field only`
          : `'[${seg.raw}]' applies to a field only`,
        seg.span,
      );
    return { type: 'Path', segments: [...e.segments, seg], span: { start: e.span.start, end: seg.span.end } };
  }

  private method(receiver: Expr, name: Token): Expr {
    if (!MATCH_OPS.has(name.raw)) {
      const guess = closest(name.raw, [...MATCH_OPS]);
      throw new QueryError(
        'query.unknown-function',
        `unknown method '${name.raw}'${guess ? `; did you mean '${guess}'?` : ''}`,
        name,
        'methods are contains, startsWith, endsWith and matches',
      );
    }
    this.next();
    const args = this.args();
    const close = this.expect(')', "')'");
    if (args.length !== 1)
      throw new QueryError('query.arity', `${name.raw}() takes 1 argument, got ${args.length}`, {
        start: name.start,
        end: close.end,
      });
    return {
      type: 'Match',
      op: name.raw as MatchOp,
      style: 'method',
      subject: receiver,
      pattern: args[0]!,
      span: { start: receiver.span.start, end: close.end },
    };
  }

  /** Arguments after '(' up to (not including) ')'. */
  private args(): Expr[] {
    const args: Expr[] = [];
    if (this.peek().kind === ')') return args;
    for (;;) {
      args.push(this.or());
      if (this.peek().kind !== ',') return args;
      this.next();
    }
  }

  private primary(): Expr {
    const t = this.peek();
    const span = { start: t.start, end: t.end };
    switch (t.kind) {
      case 'number':
        this.next();
        return { type: 'Literal', value: t.value, raw: t.raw, span };
      case 'string':
        this.next();
        return { type: 'Literal', value: t.value, raw: t.raw, span };
      case 'regex':
        this.next();
        return { type: 'Regex', pattern: String(t.value), raw: t.raw, span };
      case '(': {
        this.enter(t);
        this.next();
        const inner = this.or();
        const close = this.expect(')', "')'");
        this.depth--;
        return { type: 'Group', expr: inner, span: { start: t.start, end: close.end } };
      }
      case '[': {
        this.enter(t);
        this.next();
        const list: Expr[] = [];
        if (this.peek().kind !== ']') {
          for (;;) {
            list.push(this.additive());
            if (this.peek().kind !== ',') break;
            this.next();
          }
        }
        const close = this.expect(']', "']' or ','");
        this.depth--;
        return { type: 'List', items: list, span: { start: t.start, end: close.end } };
      }
      case 'ident':
        return this.word(t);
      default:
        throw this.error(
          'query.syntax',
          t.kind === 'eof'
            ? 'the query ends where a condition or value is expected'
            : `expected a condition or value, found ${describe(t)}`,
          t,
        );
    }
  }

  private word(t: Token): Expr {
    const span = { start: t.start, end: t.end };
    switch (t.raw) {
      case 'true':
      case 'false':
        this.next();
        return { type: 'Literal', value: t.raw === 'true', raw: t.raw, span };
      case 'null':
      case 'nil':
        this.next();
        return { type: 'Literal', value: null, raw: t.raw, span };
    }
    if (RESERVED.has(t.raw))
      throw this.error('query.syntax', `expected a condition or value, found '${t.raw}'`, t);
    this.next();
    if (this.peek().kind === '(') {
      const fn = FUNCTIONS[t.raw];
      if (!fn) {
        const guess = closest(t.raw, Object.keys(FUNCTIONS));
        throw new QueryError(
          'query.unknown-function',
          `unknown function '${t.raw}'${guess ? `; did you mean '${guess}'?` : ''}`,
          span,
          'functions are timestamp("..."), duration("..."), now() and has(field)',
        );
      }
      this.next();
      const args = this.args();
      const close = this.expect(')', "')'");
      const callSpan = { start: t.start, end: close.end };
      if (args.length !== fn.arity)
        throw new QueryError(
          'query.arity',
          `${t.raw}() takes ${fn.arity} argument${fn.arity === 1 ? '' : 's'}, got ${args.length}`,
          callSpan,
        );
      if (fn.name === 'has') return { type: 'Exists', style: 'has', subject: args[0]!, span: callSpan };
      return { type: 'Call', name: fn.name, args, span: callSpan };
    }
    return {
      type: 'Path',
      segments: [{ kind: 'name', value: t.raw, raw: t.raw, span }],
      span,
    };
  }
}

/** The syntax tree of `text`; throws QueryError. Fields and types are not checked here (plan.ts). */
export function parse(text: string): Expr {
  return new Parser(text, tokenize(text)).parse();
}
