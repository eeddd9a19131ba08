/**
 * A real SQLite store for the query tests: a table with some fields in columns of their own (as
 * the hub's store keeps its indexed fields) and the entry's JSON text, a SqlTarget over it, and a
 * helper that runs a query both ways (predicate over the objects, SQL over the rows).
 */
import Database from 'better-sqlite3';
import {
  compilePredicate,
  compileSql,
  parseQuery,
  type Query,
  registerSqlFunctions,
  type SqlTarget,
} from '../../src/query/index.js';

/** Entry paths kept in columns (no type affinity: the JSON type of each value is kept). */
export const COLUMNS: Record<string, string> = {
  protocol: 'c_protocol',
  status: 'c_status',
  method: 'c_method',
  path: 'c_path',
  timestamp: 'c_timestamp',
  elapsedMs: 'c_elapsed',
  'src.name': 'c_src_name',
  'dst.namespace': 'c_dst_namespace',
  'dst.kind': 'c_dst_kind',
};

/** JSON value at a dotted path of a plain object, as its JSON text would hold it. */
function jsonValue(e: unknown, path: string): string | number | null {
  let cur: unknown = e;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return null;
    cur = (cur as Record<string, unknown>)[k];
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' && Number.isFinite(cur)) return cur;
  return null;
}

export class Store {
  readonly db = new Database(':memory:');
  readonly target: SqlTarget = {
    column: (path) => COLUMNS[path.join('.')] ?? null,
    json: 'entries.json',
  };
  private readonly insert;

  constructor() {
    registerSqlFunctions(this.db);
    const cols = Object.values(COLUMNS);
    this.db.exec(`CREATE TABLE entries (n INTEGER PRIMARY KEY, ${cols.join(', ')}, json TEXT NOT NULL)`);
    for (const c of cols) this.db.exec(`CREATE INDEX entries_${c} ON entries (${c})`);
    this.insert = this.db.prepare(
      `INSERT INTO entries (n, ${cols.join(', ')}, json) VALUES (?, ${cols.map(() => '?').join(', ')}, ?)`,
    );
  }

  load(entries: readonly unknown[]): void {
    this.db.exec('DELETE FROM entries');
    const tx = this.db.transaction(() => {
      entries.forEach((e, n) => {
        this.insert.run(n, ...Object.keys(COLUMNS).map((p) => jsonValue(e, p)), JSON.stringify(e));
      });
    });
    tx();
  }

  /** Indexes (in load order) of the rows the query's SQL selects. */
  select(q: Query, nowUs = 0): number[] {
    const { sql, params } = compileSql(q, this.target, { nowUs });
    return this.db
      .prepare(`SELECT n FROM entries WHERE ${sql} ORDER BY n`)
      .pluck()
      .all(...params) as number[];
  }
}

/** Indexes of the entries the query's predicate accepts. */
export function filter(q: Query, entries: readonly unknown[], nowUs = 0): number[] {
  const p = compilePredicate(q, { nowUs });
  const out: number[] = [];
  entries.forEach((e, i) => {
    if (p(e as never)) out.push(i);
  });
  return out;
}

/** Runs `text` both ways over `entries` (loaded in `store`); returns the predicate's and SQL's picks. */
export function both(
  store: Store,
  text: string,
  entries: readonly unknown[],
  nowUs = 0,
): { js: number[]; sql: number[] } {
  const q = parseQuery(text);
  return { js: filter(q, entries, nowUs), sql: store.select(q, nowUs) };
}
