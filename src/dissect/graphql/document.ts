/**
 * Just enough of the GraphQL language (GraphQL spec, October 2021, §2) to name a document's
 * operations: a lexer that skips ignored tokens (§2.1.7: whitespace, line terminators, commas,
 * comments), strings and block strings (§2.9.4), and a walk over the top-level definitions (§2.2).
 */

export type OperationType = 'query' | 'mutation' | 'subscription';

export interface OperationInfo {
  type: OperationType;
  /** Null for an anonymous operation (§2.3: `{ ... }` or `query { ... }`). */
  name: string | null;
}

const NAME_START = /[_A-Za-z]/;
const NAME_CONT = /[_0-9A-Za-z]/;

/** A source longer than this is not examined (the body cap bounds it anyway). */
const MAX_SOURCE = 1 << 20;

/**
 * The operations a document defines, in order; null when `source` is not a document with at least
 * one operation (a search string that merely says "query" is not GraphQL).
 */
export function documentOperations(source: string): OperationInfo[] | null {
  if (source.length > MAX_SOURCE) return null;
  const ops: OperationInfo[] = [];
  let depth = 0;
  let parens = 0;
  /** The previous significant character: a name after `$` or `@` is a variable or directive. */
  let prev = '';
  let i = 0;
  const n = source.length;
  // The header of a top-level definition being read: its keyword and name, until its `{`.
  let keyword: string | null = null;
  let name: string | null = null;
  while (i < n) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',' || c === '\uFEFF') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && source[i] !== '\n' && source[i] !== '\r') i++;
      continue;
    }
    if (c === '"') {
      const end = skipString(source, i);
      if (end < 0) return null;
      i = end;
      prev = '"';
      continue;
    }
    if (c === '(' || c === ')') {
      parens += c === '(' ? 1 : -1;
      if (parens < 0) return null;
      prev = c;
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        if (keyword === null) ops.push({ type: 'query', name: null });
        else if (keyword === 'query' || keyword === 'mutation' || keyword === 'subscription')
          ops.push({ type: keyword, name });
        keyword = null;
        name = null;
      }
      depth++;
      prev = c;
      i++;
      continue;
    }
    if (c === '}') {
      depth--;
      if (depth < 0) return null;
      prev = c;
      i++;
      continue;
    }
    if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < n && NAME_CONT.test(source[j]!)) j++;
      const word = source.slice(i, j);
      if (depth === 0) {
        if (keyword === null) {
          // §2.2: a definition starts with a keyword (fragment, schema, type... are not operations).
          if (
            !/^(query|mutation|subscription|fragment|schema|scalar|type|interface|union|enum|input|directive|extend)$/.test(
              word,
            )
          )
            return null;
          keyword = word;
        } else if (name === null && parens === 0 && prev !== '$' && prev !== '@') {
          name = word;
        }
      }
      prev = 'a';
      i = j;
      continue;
    }
    prev = c;
    i++;
  }
  if (depth !== 0 || keyword !== null || ops.length === 0) return null;
  return ops;
}

/** The operation a request runs: the one named `operationName`, or the only one (§6.1.1). */
export function selectOperation(ops: OperationInfo[], operationName: string | null): OperationInfo | null {
  if (operationName) return ops.find((o) => o.name === operationName) ?? null;
  return ops.length === 1 ? ops[0]! : (ops[0] ?? null);
}

/** End index of the string (or block string, §2.9.4) starting at `i`, or -1 when unterminated. */
function skipString(s: string, i: number): number {
  if (s.startsWith('"""', i)) {
    let j = i + 3;
    for (;;) {
      const k = s.indexOf('"""', j);
      if (k < 0) return -1;
      if (s[k - 1] === '\\') {
        j = k + 3;
        continue;
      }
      return k + 3;
    }
  }
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (c === '\\') j += 2;
    else if (c === '"') return j + 1;
    else if (c === '\n' || c === '\r') return -1;
    else j++;
  }
  return -1;
}
