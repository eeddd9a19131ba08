/**
 * The hub's embedded store: entries and connection records from one or many agents in one SQLite
 * file (better-sqlite3, WAL), written in one transaction per batch, listed newest first with
 * cursors, filtered by SQL the query compiler writes against `sqlTarget`, aggregated into the
 * service map, and trimmed by age and size. docs/store.md describes the schema, the indexes,
 * retention, durability and ids; bench/store.mjs measures it.
 *
 * The store knows nothing of packets or of the query language: it takes entries and connection
 * records (src/dissect/entry.ts, src/flows/connection.ts) and SQL fragments.
 */
import { existsSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';
import type { CheckpointStats } from './checkpoints.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { DetailLog, registerDetailFunction } from './detail-log.js';
import {
  columnOf,
  DETAIL_FUNCTION,
  DETAIL_TEXT,
  ENTRY_JSON,
  entryOf,
  type StoredEntry,
  type SummaryRecord,
} from './entry-rows.js';
import { StoreError } from './errors.js';
import {
  DEFAULT_LIMIT,
  type EntriesQuery,
  type EntryPage,
  entriesPage,
  limitOf,
  MAX_LIMIT,
  type ServiceMapQuery,
  StatementCache,
  serviceMapOf,
  timeOf,
  whereClause,
} from './queries.js';
import { ReaderThread, type SqlSetup } from './reader.js';
import { Retention, type RetentionResult } from './retention.js';
import { openDatabase, openError } from './schema.js';
import type { ServiceMap } from './service-map.js';
import {
  type BatchResult,
  type BatchSource,
  BatchWriter,
  type GroupCommit,
  type PreparedBatch,
  prepareBatch,
  WriterThread,
} from './writer.js';

export type { StoredEntry } from './entry-rows.js';
export { isErrorEntry } from './error-rules.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export type { EntriesQuery, EntryPage, EntrySummary, ServiceMapQuery, SqlWhere } from './queries.js';
export type { ServiceMap, ServiceMapEdge, ServiceMapNode } from './service-map.js';

export interface StoreOptions {
  /** The database file (created when missing), or ':memory:'. */
  path: string;
  /** Entries and connections older than this go at retention(). */
  maxAgeMs?: number;
  /** retention() deletes the oldest data while the data takes more than this (see docs/store.md). */
  maxBytes?: number;
  /**
   * Bytes of a body (any string under an entry's request/response) kept; longer ones are cut and
   * marked `<key>Truncated`. Default 64 KiB, what the dissectors keep: lower it to save space.
   */
  bodyCap?: number;
  /**
   * Where writes run: `inline` (default), in the caller's thread, when ingest() returns; `thread`,
   * on a writer thread with its own connection (a file store only), while the caller's thread goes
   * on: use write() and maintain(), which answer with promises (docs/store.md, "Writer thread").
   */
  writer?: 'inline' | 'thread';
  /** The writer thread's group commit (writer.ts GroupCommit); the default suits a hub. */
  groupCommit?: GroupCommit;
  /**
   * A reader thread for entriesAsync() and serviceMapAsync() (a file store only): reads that take a
   * client's filter run there, and one that takes longer than `timeoutMs` (default 30 s) is
   * abandoned (`query-timeout`). `setup` names a module and its function that registers the SQL
   * functions the filters use on a connection (the query compiler's regexp(): src/query/sql.ts).
   */
  reader?: { timeoutMs?: number; setup?: SqlSetup };
}

export type { BatchSource } from './writer.js';

/** One agent batch for ingestBatches(): ingest()'s arguments. */
export interface IngestBatch {
  source: BatchSource | null;
  entries: readonly Entry[];
  connections: readonly ConnectionRecord[];
  /** Filled with each entry's public id (null for one refused as malformed), for the live feed. */
  ids?: (string | null)[];
}

/**
 * How the query compiler reaches an entry's fields in SQL. `column(path)` is the expression of the
 * summary column holding `path` (JSON types kept: typeof() is integer/real/text/null), or null when
 * only the JSON has it; `json` is an expression giving the entry's whole JSON text, as the store
 * hands the entry out (for json_extract). Both are valid inside the WHERE of entries() and
 * serviceMap().
 */
export interface SqlTarget {
  column(path: readonly string[]): string | null;
  json: string;
}

const DEFAULT_SEEN_LIMIT = 100_000;
const MAX_SEEN_LIMIT = 1_000_000;
const DEFAULT_BODY_CAP = 64 * 1024;
/** The detail log's segments: a sixteenth of maxBytes, within these bounds. */
const MAX_SEGMENT_BYTES = 64 << 20;
const MIN_SEGMENT_BYTES = 256 << 10;
/** Prepared statements kept for the filters clients send (each distinct SQL text is one). */
const STATEMENT_CACHE = 64;
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
const SAVED_QUERIES_MAX = 1000;
const SAVED_NAME_MAX = 200;
const SAVED_TEXT_MAX = 10_000;
const AGENT_NAME_MAX = 253;

function positive(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw new StoreError('bad-argument', `${name} must be a positive number, got ${String(v)}`);
  return v;
}

export class Store {
  readonly sqlTarget: SqlTarget = { column: columnOf, json: ENTRY_JSON };

  private readonly bodyCap: number;
  private readonly maxAgeMs: number | undefined;
  private readonly maxBytes: number | undefined;
  private readonly retentionRunner: Retention;
  /** Statements of the reads clients filter (src/store/queries.ts), and of connections(). */
  private readonly cache: StatementCache;
  private readonly s: ReturnType<typeof prepareStatements>;
  /** Writes in this thread (writer: 'inline'), or null when a writer thread has them. */
  private readonly inline: BatchWriter | null;
  private readonly thread: WriterThread | null;
  private readonly reader: ReaderThread | null;
  /** The entries' details (request, response): written here, read here (detail-log.ts). */
  private readonly details: DetailLog;
  private entryCount: number;
  private connectionCount: number;
  private closed = false;
  /** Entries and connection records ingest() skipped as malformed (missing time, endpoints...). */
  private rejected = 0;

  private constructor(
    /** The SQLite connection, for what the store does not wrap (registering SQL functions: regexp). */
    readonly db: Database.Database,
    private readonly lock: Database.Database | null,
    readonly path: string,
    opts: StoreOptions,
  ) {
    this.bodyCap = Math.floor(positive('bodyCap', opts.bodyCap) ?? DEFAULT_BODY_CAP);
    this.maxAgeMs = positive('maxAgeMs', opts.maxAgeMs);
    this.maxBytes = positive('maxBytes', opts.maxBytes);
    if (opts.writer !== undefined && opts.writer !== 'inline' && opts.writer !== 'thread')
      throw new StoreError('bad-argument', `writer must be 'inline' or 'thread', got ${String(opts.writer)}`);
    if (opts.writer === 'thread' && path === ':memory:')
      throw new StoreError(
        'bad-argument',
        'an in-memory store cannot have a writer thread (it has no file to share)',
      );
    if (opts.reader !== undefined && path === ':memory:')
      throw new StoreError(
        'bad-argument',
        'an in-memory store cannot have a reader thread (it has no file to share)',
      );
    const timeoutMs = positive('reader.timeoutMs', opts.reader?.timeoutMs) ?? DEFAULT_QUERY_TIMEOUT_MS;
    // Counting the rows reads the whole of an index: a corrupt store fails here, before files open.
    this.entryCount = (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    this.connectionCount = (db.prepare('SELECT count(*) AS n FROM connections').get() as { n: number }).n;
    this.details = new DetailLog(path, {
      // Retention frees the log a segment at a time: small segments for a small store.
      segmentBytes: Math.min(
        MAX_SEGMENT_BYTES,
        Math.max(MIN_SEGMENT_BYTES, Math.floor((this.maxBytes ?? Number.POSITIVE_INFINITY) / 16)),
      ),
    });
    // Before the statements that read details through it (getEntry).
    registerDetailFunction(db, DETAIL_FUNCTION, this.details);
    this.s = prepareStatements(db);
    this.cache = new StatementCache(db, STATEMENT_CACHE);
    this.retentionRunner = new Retention(db);
    this.inline = opts.writer === 'thread' ? null : new BatchWriter(db);
    this.thread = opts.writer === 'thread' ? new WriterThread(path, opts.groupCommit) : null;
    // The writer thread has the checkpoints (checkpoints.ts): a write here (a saved query) must not
    // run one on this thread.
    if (this.thread) db.pragma('wal_autocheckpoint = 0');
    this.reader = opts.reader ? new ReaderThread(path, opts.reader.setup ?? null, timeoutMs) : null;
  }

  /**
   * Opens (creating and migrating as needed) the store at `opts.path`. Throws a StoreError:
   * `not-a-store` (not SQLite, another application's database, corrupt), `locked` (another process
   * has it open), `newer-schema`, `cannot-open`, `bad-argument`.
   */
  static open(opts: StoreOptions): Store {
    if (typeof opts?.path !== 'string' || opts.path === '')
      throw new StoreError('bad-argument', 'the store needs a path (a file, or ":memory:")');
    const { db, lock } = openDatabase(opts.path);
    try {
      return new Store(db, lock, opts.path, opts);
    } catch (err) {
      db.close();
      lock?.close();
      // Counting the rows reads the whole of an index: a corrupt store fails here.
      throw openError(opts.path, err);
    }
  }

  /**
   * Why the store can no longer write (its writer thread stopped: every write fails with
   * `writer-failed`), or null.
   */
  get writeFailure(): Error | null {
    return this.thread?.failed ?? null;
  }

  /** Whether writes run on a writer thread (write() and maintain() then; ingest() and retention() refuse). */
  get threaded(): boolean {
    return this.thread !== null;
  }

  /**
   * One transaction: the entries, the connection records (upserted), and, when `source` is given, the
   * agent's watermark = `source.seq`. A batch whose seq is not above the agent's watermark is a
   * replay: nothing is written and the answer is false. Durable when it returns (it survives the
   * process being killed). Malformed records are skipped and counted in `rejected`.
   */
  ingest(
    source: BatchSource | null,
    entries: readonly Entry[],
    connections: readonly ConnectionRecord[],
    /** Filled with each entry's public id (null for one refused as malformed), for the live feed. */
    ids?: (string | null)[],
  ): boolean {
    return this.ingestBatches([{ source, entries, connections, ...(ids ? { ids } : {}) }])[0] as boolean;
  }

  /**
   * Several batches (from one agent or many) in one transaction: each as ingest() would store it,
   * its own replay check and watermark included, in the order given; the answer is ingest()'s for
   * each. A transaction's cost has a part per batch of pages (each index page an insert lands on is
   * written once per transaction, however many rows it took), so batches that arrive together are
   * cheaper stored together: ten batches of 500 entries in one call cost 8% (a million entries
   * stored) to 19% (300,000) less CPU per entry than ten calls (docs/store.md, Performance).
   * Durable when it returns; when the transaction fails, nothing of any batch is stored, every
   * `ids` is emptied, and it throws. Only for a store that writes inline (write() otherwise).
   */
  ingestBatches(batches: readonly IngestBatch[]): boolean[] {
    this.assertOpen();
    if (this.inline === null)
      throw new StoreError('bad-argument', 'this store writes on its writer thread: use write()');
    let prepared: ReturnType<Store['prepare']>;
    let results: BatchResult[];
    try {
      prepared = this.prepare(batches);
      results = this.inline.write(prepared.map((p) => p.batch));
    } catch (err) {
      for (const b of batches) if (b.ids) b.ids.length = 0;
      throw err;
    }
    return this.stored(batches, prepared, results);
  }

  /**
   * ingestBatches() for either kind of store: on a writer thread, the batches join the writes queued
   * there (one transaction for all that are waiting when the thread gets to them) and the answer
   * comes when they are durable; this thread goes on meanwhile. A rejected promise means nothing of
   * the batches was stored (their `ids` are emptied).
   */
  async write(batches: readonly IngestBatch[]): Promise<boolean[]> {
    this.assertOpen();
    if (this.thread === null) return this.ingestBatches(batches);
    let prepared: ReturnType<Store['prepare']>;
    let results: BatchResult[];
    try {
      prepared = this.prepare(batches);
      results = await this.thread.write(prepared.map((p) => p.batch));
    } catch (err) {
      for (const b of batches) if (b.ids) b.ids.length = 0;
      throw err;
    }
    return this.stored(batches, prepared, results);
  }

  /** Checks the batches' sources and turns them into rows (src/store/writer.ts). */
  private prepare(
    batches: readonly IngestBatch[],
  ): { batch: PreparedBatch; valid: boolean[]; rejected: number }[] {
    for (const { source } of batches) {
      if (source === null) continue;
      if (typeof source.agent !== 'string' || source.agent === '' || source.agent.length > AGENT_NAME_MAX)
        throw new StoreError('bad-argument', `agent name must be 1-${AGENT_NAME_MAX} characters`);
      if (!Number.isSafeInteger(source.seq) || source.seq < 1)
        throw new StoreError('bad-argument', `batch seq must be an integer >= 1, got ${String(source.seq)}`);
    }
    const prepared = batches.map((b) =>
      prepareBatch(b.source, b.entries, b.connections, this.bodyCap, this.details),
    );
    // The details are in the file before any row pointing at them is committed.
    this.details.flush();
    return prepared;
  }

  /** Counts what the writer stored, fills in the ids; the answers of ingestBatches(). */
  private stored(
    batches: readonly IngestBatch[],
    prepared: readonly { valid: boolean[]; rejected: number }[],
    results: readonly BatchResult[],
  ): boolean[] {
    return results.map((r, i) => {
      const { valid, rejected } = prepared[i] as { valid: boolean[]; rejected: number };
      const ids = (batches[i] as IngestBatch).ids;
      if (ids) ids.length = 0;
      if (!r.stored) return false;
      this.rejected += rejected;
      // The batch's stored entries have consecutive ids from firstId, in order.
      let id = r.firstId;
      for (const ok of valid) {
        const own = ok ? String(id++) : null;
        if (ids) ids.push(own);
      }
      this.entryCount += id - r.firstId;
      this.connectionCount += r.newConnections;
      return true;
    });
  }

  /** The last batch seq stored for `agent`; 0 when it never sent one. */
  watermark(agent: string): number {
    this.assertOpen();
    return (this.s.getWatermark.get(agent) as { seq: number } | undefined)?.seq ?? 0;
  }

  /**
   * Entries newest first by (timestamp, id), `limit` per page (default 100, at most 1000), within
   * [from, to] (µs, inclusive) and `where`. `cursor` continues from the page that returned it; a
   * null cursor means there is no more.
   */
  entries(q: EntriesQuery): EntryPage {
    this.assertOpen();
    return entriesPage(this.cache, q);
  }

  /**
   * entries() on the reader thread when the store has one (the caller's thread goes on meanwhile; a
   * read past the deadline fails with `query-timeout`), else here.
   */
  async entriesAsync(q: EntriesQuery): Promise<EntryPage> {
    this.assertOpen();
    return this.reader ? this.reader.entries(q) : this.entries(q);
  }

  /** serviceMap() on the reader thread when the store has one, else here. */
  async serviceMapAsync(q: ServiceMapQuery): Promise<ServiceMap> {
    this.assertOpen();
    return this.reader ? this.reader.serviceMap(q) : this.serviceMap(q);
  }

  /** One entry in full (request, response), by the hub id `entries()` gave; null when unknown or gone. */
  entry(id: string): StoredEntry | null {
    this.assertOpen();
    if (typeof id !== 'string' || !/^[1-9]\d{0,15}$/.test(id)) return null;
    const row = this.s.getEntry.get(Number(id)) as (SummaryRecord & { detail: string }) | undefined;
    return row ? entryOf(row, row.detail) : null;
  }

  /**
   * Connection records (the latest version of each) newest first by (start, id), whose lifetime
   * [start, end] meets [from, to]; only `node`'s when given ('' for records without a node).
   */
  connections(q: { from?: number; to?: number; cursor?: string; limit?: number; node?: string }): {
    connections: ConnectionRecord[];
    cursor: string | null;
  } {
    this.assertOpen();
    const limit = limitOf(q.limit, DEFAULT_LIMIT, MAX_LIMIT);
    const conds: string[] = [];
    const params: (string | number)[] = [];
    const from = timeOf('from', q.from);
    const to = timeOf('to', q.to);
    if (to !== undefined) {
      conds.push('start <= ?');
      params.push(to);
    }
    if (from !== undefined) {
      conds.push('end >= ?');
      params.push(from);
    }
    if (q.node !== undefined) {
      conds.push('node = ?');
      params.push(q.node);
    }
    if (q.cursor !== undefined && q.cursor !== null) {
      const k = decodeCursor('c', q.cursor);
      conds.push('(start, id) < (?, ?)');
      params.push(k.ts, k.id);
    }
    const sql = `SELECT id, start, json FROM connections ${whereClause(conds)} ORDER BY start DESC, id DESC LIMIT ?`;
    const rows = this.cache.get(sql).all(...params, limit + 1) as {
      id: number;
      start: number;
      json: string;
    }[];
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return {
      connections: rows.map((r) => JSON.parse(r.json) as ConnectionRecord),
      cursor: more && last ? encodeCursor('c', { ts: last.start, id: last.id }) : null,
    };
  }

  /**
   * Every connection record whose last-seen time (`end`) is within [fromUs, toUs], latest first, at
   * most `limit` (default 100,000, at most 1,000,000): the node graph's and metrics' input.
   */
  connectionsSeen(fromUs: number, toUs: number, limit?: number): ConnectionRecord[] {
    this.assertOpen();
    const n = limitOf(limit, DEFAULT_SEEN_LIMIT, MAX_SEEN_LIMIT);
    const rows = this.s.seen.all(timeOf('fromUs', fromUs), timeOf('toUs', toUs), n) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as ConnectionRecord);
  }

  /**
   * Who called whom within [from, to] (µs) among entries matching `where` (src/store/service-map.ts),
   * from the newest `maxEntries` of them (default 250,000, at most 5,000,000): the map is built in
   * one synchronous pass (about 4 µs an entry), during which the hub does nothing else, so a window
   * of millions of entries is cut, and the answer says so (`partial`).
   */
  serviceMap(q: ServiceMapQuery): ServiceMap {
    this.assertOpen();
    return serviceMapOf(this.cache, q);
  }

  /** Saves (or replaces) a named query. */
  saveQuery(name: string, text: string): void {
    this.assertOpen();
    if (typeof name !== 'string' || name.trim() === '' || name.length > SAVED_NAME_MAX)
      throw new StoreError('bad-argument', `a saved query's name must be 1-${SAVED_NAME_MAX} characters`);
    if (typeof text !== 'string' || text.length > SAVED_TEXT_MAX)
      throw new StoreError(
        'bad-argument',
        `a saved query's text must be at most ${SAVED_TEXT_MAX} characters`,
      );
    this.db
      .transaction(() => {
        const exists = this.s.getQuery.get(name) !== undefined;
        if (!exists && (this.s.countQueries.get() as { n: number }).n >= SAVED_QUERIES_MAX)
          throw new StoreError(
            'bad-argument',
            `at most ${SAVED_QUERIES_MAX} saved queries: delete one first`,
          );
        this.s.putQuery.run(name, text, Date.now());
      })
      .immediate();
  }

  /** Saved queries by name; `savedAt` in ms since the epoch. */
  savedQueries(): { name: string; text: string; savedAt: number }[] {
    this.assertOpen();
    return this.s.listQueries.all() as { name: string; text: string; savedAt: number }[];
  }

  deleteQuery(name: string): boolean {
    this.assertOpen();
    return this.s.deleteQuery.run(name).changes > 0;
  }

  /**
   * Deletes what the limits no longer allow, oldest first: by age (entries by timestamp, connections
   * by last-seen time, against `nowUs`), then by size. Returns how many of each went. Call it
   * periodically (every minute or so): each call is bounded by what is over the limits.
   */
  retention(nowUs: number = Date.now() * 1000): RetentionResult {
    this.assertOpen();
    if (this.thread !== null)
      throw new StoreError('bad-argument', 'this store writes on its writer thread: use maintain()');
    const r = this.retentionRunner.run(this.limits(nowUs), nowUs, this.details);
    this.entryCount -= r.entries;
    this.connectionCount -= r.connections;
    return r;
  }

  /** retention() for either kind of store: on a writer thread, after the writes queued before it. */
  async maintain(nowUs: number = Date.now() * 1000): Promise<RetentionResult> {
    this.assertOpen();
    if (this.thread === null) return this.retention(nowUs);
    const r = await this.thread.retention(this.limits(nowUs), nowUs, this.details.headSegment);
    this.entryCount -= r.entries;
    this.connectionCount -= r.connections;
    return r;
  }

  private limits(nowUs: number): { maxAgeMs: number | undefined; maxBytes: number | undefined } {
    if (!Number.isFinite(nowUs))
      throw new StoreError('bad-argument', `now must be a time in µs, got ${nowUs}`);
    return { maxAgeMs: this.maxAgeMs, maxBytes: this.maxBytes };
  }

  /**
   * Counts: entries and connection records stored, the files' bytes (database, WAL, detail log),
   * the data's bytes as retention measures them against maxBytes (dataBytes), agents with a
   * watermark; since open, records ingest() skipped as malformed and filter statements evicted from
   * the statement cache, and write transactions committed; with a writer thread, its checkpoints
   * (checkpoints.ts; null inline).
   */
  stats(): {
    entries: number;
    connections: number;
    fileBytes: number;
    dataBytes: number;
    agents: number;
    rejected: number;
    statementsEvicted: number;
    /** Write transactions committed since the store was opened (group commit puts many batches in one). */
    transactions: number;
    checkpoints: CheckpointStats | null;
  } {
    this.assertOpen();
    return {
      entries: this.entryCount,
      connections: this.connectionCount,
      fileBytes: this.fileBytes(),
      dataBytes: this.retentionRunner.dataBytes(this.details),
      agents: (this.s.countAgents.get() as { n: number }).n,
      rejected: this.rejected,
      statementsEvicted: this.cache.evicted,
      transactions: this.thread ? this.thread.transactions : (this.inline?.transactions ?? 0),
      checkpoints: this.thread ? { ...this.thread.checkpoints } : null,
    };
  }

  /**
   * Closes the file (checkpointing the WAL into it) and lets go of its lock. Further calls throw;
   * closing twice is fine. An inline store is closed when this returns; with a writer thread, the
   * writes already asked for are stored first, and the promise says when all is closed.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.cache.clear();
    const end = () => {
      this.details.close();
      this.db.close();
      this.lock?.close();
    };
    const reader = this.reader?.close() ?? Promise.resolve();
    if (this.thread === null) {
      end();
      return reader;
    }
    return Promise.all([reader, this.thread.close()]).then(end, (err) => {
      end();
      throw err;
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('bad-argument', 'the store is closed');
  }

  private fileBytes(): number {
    if (this.path === ':memory:') return this.retentionRunner.usedBytes() + this.details.bytes();
    let n = statSync(this.path).size;
    const wal = `${this.path}-wal`;
    if (existsSync(wal)) n += statSync(wal).size;
    return n + this.details.bytes();
  }
}

function prepareStatements(db: Database.Database) {
  return {
    getEntry: db.prepare(
      `SELECT e.*, ${DETAIL_TEXT} AS detail FROM entries e LEFT JOIN entry_details d ON d.id = e.id WHERE e.id = ?`,
    ),
    getWatermark: db.prepare('SELECT seq FROM agents WHERE name = ?'),
    countAgents: db.prepare('SELECT count(*) AS n FROM agents'),
    seen: db.prepare(
      'SELECT json FROM connections WHERE end >= ? AND end <= ? ORDER BY end DESC, id DESC LIMIT ?',
    ),
    getQuery: db.prepare('SELECT name FROM saved_queries WHERE name = ?'),
    countQueries: db.prepare('SELECT count(*) AS n FROM saved_queries'),
    putQuery: db.prepare(
      'INSERT INTO saved_queries (name, text, saved_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET text = excluded.text, saved_at = excluded.saved_at',
    ),
    listQueries: db.prepare('SELECT name, text, saved_at AS savedAt FROM saved_queries ORDER BY name'),
    deleteQuery: db.prepare('DELETE FROM saved_queries WHERE name = ?'),
  };
}
