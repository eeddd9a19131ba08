/**
 * The store's reads that take a client's filter: a page of entries, the service map. They run on
 * whichever connection is given (through its statement cache): the store's own, or a reader thread's
 * (reader-thread.ts), where a query that runs too long can be abandoned without holding the hub.
 */
import type Database from 'better-sqlite3';
import type { Entry } from '../dissect/entry.js';
import { Lru } from '../wire/lru.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { type SummaryRecord, summaryOf } from './entry-rows.js';
import { StoreError } from './errors.js';
import { buildServiceMap, SERVICE_MAP_COLUMNS, type ServiceMap, type ServiceMapRow } from './service-map.js';

/** A filter from the query compiler: SQL with plain `?` placeholders, and their values in order. */
export interface SqlWhere {
  sql: string;
  params: (string | number | null)[];
}

export type EntrySummary = Omit<Entry, 'request' | 'response'>;

export interface EntriesQuery {
  where?: SqlWhere;
  from?: number;
  to?: number;
  cursor?: string;
  limit?: number;
}

export interface EntryPage {
  entries: EntrySummary[];
  cursor: string | null;
}

export interface ServiceMapQuery {
  where?: SqlWhere;
  from?: number;
  to?: number;
  maxEntries?: number;
}

/** A page's rows: by default, and at most. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Entries a service map is built from at most, unless asked for more. */
const DEFAULT_MAP_ENTRIES = 250_000;
const MAX_MAP_ENTRIES = 5_000_000;

const FROM_ENTRIES = 'FROM entries e LEFT JOIN entry_details d ON d.id = e.id';

/** Prepared statements by SQL text, the least recently used dropped past `size` (and counted). */
export class StatementCache {
  private readonly statements: Lru<string, Database.Statement>;

  constructor(
    readonly db: Database.Database,
    size = 64,
  ) {
    this.statements = new Lru(size);
  }

  /** Statements dropped to make room since the cache was made. */
  get evicted(): number {
    return this.statements.evictions;
  }

  get(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st) return st;
    st = this.db.prepare(sql);
    this.statements.set(sql, st);
    return st;
  }

  clear(): void {
    this.statements.clear();
  }
}

export function limitOf(v: number | undefined, def: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1)
    throw new StoreError('bad-argument', `limit must be a number >= 1, got ${String(v)}`);
  return Math.min(Math.floor(v), max);
}

export function timeOf(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v))
    throw new StoreError('bad-argument', `${name} must be a time in µs, got ${String(v)}`);
  return v;
}

export function whereClause(conds: string[]): string {
  return conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : '';
}

/**
 * Entries newest first by (timestamp, id), `limit` per page (default 100, at most 1000), within
 * [from, to] (µs, inclusive) and `where`. `cursor` continues from the page that returned it; a
 * null cursor means there is no more.
 */
export function entriesPage(cache: StatementCache, q: EntriesQuery): EntryPage {
  const limit = limitOf(q.limit, DEFAULT_LIMIT, MAX_LIMIT);
  const { conds, params } = window(q.from, q.to);
  if (q.cursor !== undefined && q.cursor !== null) {
    const k = decodeCursor('e', q.cursor);
    conds.push('(e.ts, e.id) < (?, ?)');
    params.push(k.ts, k.id);
  }
  addWhere(q.where, conds, params);
  const sql = `SELECT e.* ${FROM_ENTRIES} ${whereClause(conds)} ORDER BY e.ts DESC, e.id DESC LIMIT ?`;
  const rows = cache.get(sql).all(...params, limit + 1) as SummaryRecord[];
  const more = rows.length > limit;
  if (more) rows.pop();
  const last = rows[rows.length - 1];
  return {
    entries: rows.map(summaryOf),
    cursor: more && last ? encodeCursor('e', { ts: last.ts, id: last.id }) : null,
  };
}

/**
 * Who called whom within [from, to] (µs) among entries matching `where` (src/store/service-map.ts),
 * from the newest `maxEntries` of them (default 250,000, at most 5,000,000): the map is built in
 * one synchronous pass (about 4 µs an entry), so a window of millions of entries is cut, and the
 * answer says so (`partial`).
 */
export function serviceMapOf(cache: StatementCache, q: ServiceMapQuery): ServiceMap {
  const max = limitOf(q.maxEntries, DEFAULT_MAP_ENTRIES, MAX_MAP_ENTRIES);
  const { conds, params } = window(q.from, q.to);
  addWhere(q.where, conds, params);
  const sql = `SELECT ${SERVICE_MAP_COLUMNS} ${FROM_ENTRIES} ${whereClause(conds)} ORDER BY e.ts DESC, e.id DESC LIMIT ?`;
  const rows = cache
    .get(sql)
    .raw(true)
    .iterate(...params, max + 1) as IterableIterator<ServiceMapRow>;
  return buildServiceMap(rows, undefined, max);
}

function window(
  fromUs: number | undefined,
  toUs: number | undefined,
): { conds: string[]; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const from = timeOf('from', fromUs);
  const to = timeOf('to', toUs);
  if (from !== undefined) {
    conds.push('e.ts >= ?');
    params.push(from);
  }
  if (to !== undefined) {
    conds.push('e.ts <= ?');
    params.push(to);
  }
  return { conds, params };
}

function addWhere(where: SqlWhere | undefined, conds: string[], params: unknown[]): void {
  if (!where) return;
  conds.push(`(${where.sql})`);
  params.push(...where.params);
}
