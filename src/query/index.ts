/**
 * podwire's query language (DESIGN.md, "The query language"; docs/query.md is the reference):
 * Kubeshark's KFL v1 and its CEL-based KFL v2 in one grammar. Text → tokens (lexer.ts) → syntax
 * tree with spans (parser.ts, ast.ts) → checked plan (plan.ts, against fields.ts) → a predicate
 * for live entries (predicate.ts) or a SQLite condition for the store (sql.ts), which agree.
 */
import type { Entry } from '../dissect/entry.js';
import type { Expr } from './ast.js';
import { parse } from './parser.js';
import { plan } from './plan.js';
import { predicateOf } from './predicate.js';
import { serializeExpr } from './serialize.js';
import { type SqlTarget, sqlOf } from './sql.js';

export type * from './ast.js';
export { ERROR_CODES, QueryError, type QueryErrorCode } from './errors.js';
export { ALIASES, FIELDS, type FieldInfo, type FieldType, LISTS, PROTOCOL_ALIASES } from './fields.js';
export { MAX_QUERY_LENGTH } from './lexer.js';
export { MAX_DEPTH } from './parser.js';
export { REGEX_CACHE_SIZE, regexCacheStats } from './regex.js';
export { registerSqlFunctions, type SqlTarget } from './sql.js';

export interface Query {
  readonly text: string;
  readonly ast: Expr;
}

function nowMicros(): number {
  return Date.now() * 1000;
}

/** Parses and checks a query; throws QueryError (with `format(text)` for a caret display). */
export function parseQuery(text: string): Query {
  const ast = parse(text);
  plan(ast, { nowUs: nowMicros() });
  return { text, ast };
}

/** A predicate over entries; `now()` is fixed when it is compiled (opts.nowUs, µs, default: now). */
export function compilePredicate(q: Query, opts?: { nowUs?: number }): (e: Entry) => boolean {
  return predicateOf(plan(q.ast, { nowUs: opts?.nowUs ?? nowMicros() }));
}

/**
 * A SQLite condition (for WHERE) meaning what compilePredicate's predicate means, with its
 * parameters in order. Needs registerSqlFunctions() on the connection when the query has a
 * regular expression.
 */
export function compileSql(
  q: Query,
  target: SqlTarget,
  opts?: { nowUs?: number },
): { sql: string; params: (string | number | null)[] } {
  return sqlOf(plan(q.ast, { nowUs: opts?.nowUs ?? nowMicros() }), target);
}

/** The query's text in canonical form (see serialize.ts): parses back to the same tree. */
export function serialize(q: Query | Expr): string {
  return serializeExpr('ast' in q ? q.ast : q);
}
