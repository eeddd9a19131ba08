/**
 * The store's file: opening it (identifying a podwire store, refusing anything else), the pragmas
 * that make it durable and fast, and the schema with its versions. docs/store.md explains each
 * choice; the measurements behind them are in bench/store.mjs.
 */
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';

/** `PRAGMA application_id` of a podwire store: "pdwr". Any other non-zero id is another application's file. */
export const APPLICATION_ID = 0x70647772;
/** The schema this code writes. A store with a higher version was written by a newer podwire. */
export const SCHEMA_VERSION = 3;

/**
 * The current schema (version 3), as a new store is made. `entries` is the narrow summary row every
 * list and filter scans; the rest of the entry as JSON (request, response, bodies: entry-rows.ts) is
 * in the detail log (detail-log.ts) where `detail_seg/off/len` point, or, for rows of version 2 and
 * before, in `entry_details`; it is read only for one entry or a filter on a detail field. STRICT tables keep each
 * value's type; `status` is ANY so a number stays a number and a string a string (the query
 * compiler tells them apart with typeof()).
 *
 * Every index ends with `ts` (and, implicitly, the rowid): a filter on its leading column then
 * reads the newest rows first and stops at the page's limit, with no sort.
 */
const SCHEMA = `
CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value ANY) STRICT;
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  status ANY,
  elapsed_ms REAL,
  src_ip TEXT NOT NULL, src_port INTEGER NOT NULL,
  src_name TEXT, src_ns TEXT, src_kind TEXT, src_workload TEXT, src_node TEXT,
  dst_ip TEXT NOT NULL, dst_port INTEGER NOT NULL,
  dst_name TEXT, dst_ns TEXT, dst_kind TEXT, dst_workload TEXT, dst_node TEXT,
  request_size INTEGER NOT NULL,
  response_size INTEGER NOT NULL,
  connection_id INTEGER,
  node TEXT,
  error TEXT,
  local_id TEXT NOT NULL,
  is_error INTEGER NOT NULL,
  detail_whole INTEGER NOT NULL,
  detail_seg INTEGER,
  detail_off INTEGER,
  detail_len INTEGER
) STRICT;
CREATE INDEX entries_ts ON entries (ts);
CREATE INDEX entries_protocol ON entries (protocol, ts);
CREATE INDEX entries_status ON entries (status, ts);
CREATE INDEX entries_src_name ON entries (src_name, ts);
CREATE INDEX entries_dst_name ON entries (dst_name, ts);
CREATE INDEX entries_src_ns ON entries (src_ns, ts);
CREATE INDEX entries_dst_ns ON entries (dst_ns, ts);
CREATE TABLE entry_details (id INTEGER PRIMARY KEY, json TEXT NOT NULL) STRICT;
CREATE TABLE connections (
  id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  conn_id INTEGER NOT NULL,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (node, conn_id, start)
) STRICT;
CREATE INDEX connections_start ON connections (start);
CREATE INDEX connections_end ON connections (end);
CREATE INDEX connections_node ON connections (node, start);
CREATE TABLE agents (name TEXT NOT NULL PRIMARY KEY, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
CREATE TABLE saved_queries (name TEXT NOT NULL PRIMARY KEY, text TEXT NOT NULL, saved_at INTEGER NOT NULL) STRICT;
`;

/**
 * MIGRATIONS[i - 1] takes a store from version i to i + 1, in the open's transaction.
 *
 * 1 -> 2: `entries_method` goes (each index costs every ingest a B-tree insert; a method filter
 * walks `entries_ts`, docs/store.md "Indexes"); `detail_whole` says which detail JSON is the whole
 * entry, as every one of version 1 is (the default), so the rows stay as they are.
 *
 * 2 -> 3: a new entry's detail is in the detail log (detail-log.ts), where `detail_seg`,
 * `detail_off`, `detail_len` point; the rows already there keep theirs in `entry_details` (NULL).
 * `meta.first_log_id` is the first id a row in the log can have, so that finding the oldest detail
 * in the log (retention.ts) does not read past every older row.
 */
const MIGRATIONS: string[] = [
  'DROP INDEX IF EXISTS entries_method; ALTER TABLE entries ADD COLUMN detail_whole INTEGER NOT NULL DEFAULT 1;',
  'ALTER TABLE entries ADD COLUMN detail_seg INTEGER; ALTER TABLE entries ADD COLUMN detail_off INTEGER; ALTER TABLE entries ADD COLUMN detail_len INTEGER;' +
    " INSERT INTO meta (key, value) SELECT 'first_log_id', coalesce(max(id), 0) + 1 FROM entries;",
];

export interface Tuning {
  /** WAL pages between automatic checkpoints (SQLite's default is 1,000). */
  checkpointPages: number;
  /** Page cache, KiB. */
  cacheKiB: number;
}

export const DEFAULT_TUNING: Tuning = {
  // A checkpoint copies every page the WAL holds into the database and fsyncs both: every 1,000
  // pages (4 MiB) it is paid for almost every batch (a batch dirties index pages all over). Every
  // 65,536 (256 MiB) an index page rewritten by many batches is copied once for all of them
  // (bench/store.mjs: 1.0-1.6 µs of CPU less per entry than every 16,384, and 1.7x the rate of every
  // 1,000), at the price of a pause of up to about half a second per checkpoint.
  checkpointPages: 65_536,
  cacheKiB: 64 * 1024,
};

function describe(path: string): string {
  return path === ':memory:' ? 'the in-memory store' : `store ${path}`;
}

/** Maps SQLite's open-time failures to the store's coded errors. */
export function openError(path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code ?? '';
  const what = describe(path);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return new StoreError('locked', `${what} is in use by another process (another podwire hub?)`, {
      cause: err,
    });
  if (code === 'SQLITE_NOTADB') {
    const message = `${what} is not a podwire store: the file is not an SQLite database`;
    return new StoreError('not-a-store', message, { cause: err });
  }
  if (code.startsWith('SQLITE_CORRUPT'))
    return new StoreError('not-a-store', `${what} is corrupt (${(err as Error).message})`, { cause: err });
  // Anything else (SQLITE_CANTOPEN, READONLY, IOERR...): SQLite's message says what.
  return new StoreError('cannot-open', `cannot open ${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * Opens (creating when new) and checks a store, and takes its lock (`<path>-lock`, held while the
 * returned `lock` is open): one hub per store, and a second one gets a clear `locked` error
 * instead of two hubs storing into one file. The store's own connections do not lock it
 * exclusively, so that a writer thread (writer-thread.ts) writes through its own connection while
 * this one reads.
 */
export function openDatabase(
  path: string,
  tuning: Tuning = DEFAULT_TUNING,
): { db: Database.Database; lock: Database.Database | null } {
  const lock = path === ':memory:' ? null : takeLock(path);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: BUSY_MS });
  } catch (err) {
    lock?.close();
    throw openError(path, err);
  }
  try {
    configure(db, path, tuning);
    checkAndMigrate(db, path);
    return { db, lock };
  } catch (err) {
    db.close();
    lock?.close();
    throw openError(path, err);
  }
}

/**
 * Another connection (a writer or reader thread's) to a store that openDatabase() has opened (and
 * so checked and migrated) in this process.
 */
export function openConnection(path: string, tuning: Tuning = DEFAULT_TUNING): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: BUSY_MS, fileMustExist: true });
  } catch (err) {
    throw openError(path, err);
  }
  try {
    configure(db, path, tuning);
    return db;
  } catch (err) {
    db.close();
    throw openError(path, err);
  }
}

/**
 * How long a connection waits for another of the same store (the writer thread's transaction) before
 * SQLITE_BUSY: a write on the main thread (a saved query) waits for the commit in progress.
 */
const BUSY_MS = 5_000;

/**
 * The store's lock: an SQLite file beside it whose exclusive lock one connection holds for as long
 * as the store is open. SQLite's locks are the operating system's (fcntl), released when the process
 * ends however it ends, so a killed hub leaves no stale lock; a second connection, in this process or
 * another, fails at once with SQLITE_BUSY (`locked`).
 */
function takeLock(path: string): Database.Database {
  let lock: Database.Database;
  try {
    lock = new Database(`${path}-lock`, { timeout: 0 });
  } catch (err) {
    throw openError(path, err);
  }
  try {
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    throw openError(path, err);
  }
}

function configure(db: Database.Database, path: string, tuning: Tuning): void {
  if (path !== ':memory:') {
    // Reading the header: a file that is not SQLite fails here with SQLITE_NOTADB, before anything
    // is written.
    db.pragma('schema_version');
    // WAL: a commit appends to the log, and a process killed at any point leaves the log's committed
    // transactions to be replayed at the next open; readers read while the writer writes.
    // synchronous=NORMAL syncs at checkpoints, not at each commit: a commit survives the process
    // being killed (it is in the OS's page cache), not a power cut of the machine (docs/store.md,
    // "Durability").
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal')
      throw new StoreError('cannot-open', `${describe(path)}: cannot use WAL mode (got ${mode})`);
    db.pragma(`wal_autocheckpoint = ${tuning.checkpointPages}`);
    // After a checkpoint the log is cut back to this size, so it does not keep its peak size on disk.
    db.pragma(`journal_size_limit = ${tuning.checkpointPages * 4096}`);
  }
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${tuning.cacheKiB}`);
  // PRAGMA optimize (run by retention) analyses at most this many rows per index: bounded time.
  db.pragma('analysis_limit = 1000');
}

function checkAndMigrate(db: Database.Database, path: string): void {
  const what = describe(path);
  db.transaction(() => {
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId === 0) {
      const tables = db
        .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
        .get() as {
        n: number;
      };
      if (tables.n > 0)
        throw new StoreError(
          'not-a-store',
          `${what} is not a podwire store: it is an SQLite database of another application`,
        );
      db.exec(SCHEMA);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.prepare('INSERT INTO schema_version VALUES (?, ?)').run(SCHEMA_VERSION, Date.now());
      return;
    }
    if (appId !== APPLICATION_ID)
      throw new StoreError(
        'not-a-store',
        `${what} is not a podwire store: its application id is 0x${(appId >>> 0).toString(16)}`,
      );
    const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
    const version = row.v ?? 0;
    if (version > SCHEMA_VERSION)
      throw new StoreError(
        'newer-schema',
        `${what} has schema version ${version}, written by a newer podwire (this one knows up to ${SCHEMA_VERSION})`,
      );
    for (let v = version; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v - 1];
      if (step === undefined)
        throw new StoreError('not-a-store', `${what}: no migration from schema version ${v}`);
      db.exec(step);
      db.prepare('INSERT INTO schema_version VALUES (?, ?)').run(v + 1, Date.now());
    }
  }).immediate();
}
