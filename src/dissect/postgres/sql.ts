/**
 * What the entry columns need from SQL text and command tags, without parsing SQL: the first keyword
 * of a statement (SQL lexical structure, PostgreSQL docs §4.1: whitespace and comments, `--` to the
 * line's end and nestable C-style blocks, may come first) and the row count of a CommandComplete tag
 * (§55.7 CommandComplete).
 */

/** Statement text kept in an entry (the full length is recorded beside it). */
export const TEXT_CAP = 4096;

/** The first keyword, upper case (`SELECT`, `WITH`, `BEGIN`...); '' when there is none. */
export function firstKeyword(sql: string): string {
  let i = 0;
  const n = sql.length;
  for (;;) {
    while (i < n && isSpace(sql.charCodeAt(i))) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      if (nl < 0) return '';
      i = nl + 1;
      continue;
    }
    if (sql.startsWith('/*', i)) {
      let depth = 0;
      while (i < n) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      if (depth > 0) return '';
      continue;
    }
    // `(SELECT ...) UNION ...` and empty statements: look inside.
    if (i < n && (sql[i] === '(' || sql[i] === ';')) {
      i++;
      continue;
    }
    break;
  }
  const start = i;
  while (i < n && i - start < 32 && isWordChar(sql.charCodeAt(i))) i++;
  return sql.slice(start, i).toUpperCase();
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
}

function isWordChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

export interface CommandTag {
  /** The tag as sent (`INSERT 0 5`, `CREATE TABLE`). */
  tag: string;
  /** The command, without counts (`INSERT`, `CREATE TABLE`). */
  command: string;
  /** Rows the command processed, for the tags that carry a count; else null. */
  rows: number | null;
}

/**
 * §55.7 CommandComplete: `INSERT oid rows`; `SELECT`, `UPDATE`, `DELETE`, `MERGE`, `MOVE`, `FETCH`
 * and `COPY` followed by the row count (`SELECT rows` also for CREATE TABLE AS); other tags have
 * no count.
 */
export function parseTag(tag: string): CommandTag {
  const words = tag.split(' ');
  const head = words[0] ?? '';
  const last = words[words.length - 1] ?? '';
  const counted =
    (head === 'INSERT' && words.length === 3) ||
    (words.length === 2 && ['SELECT', 'UPDATE', 'DELETE', 'MERGE', 'MOVE', 'FETCH', 'COPY'].includes(head));
  if (counted && /^\d{1,20}$/.test(last)) return { tag, command: head, rows: Number(last) };
  return { tag, command: tag, rows: null };
}
