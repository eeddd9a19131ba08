/**
 * Retention: entries and connections older than the age limit go, then, while the store's data
 * is over the size limit, the oldest of both go in proportion. Deletion runs in chunks of
 * CHUNK rows, one transaction each, so the write lock (and the WAL) never holds one huge delete.
 *
 * Size is the pages in use (page_count - freelist_count) times the page size, plus the detail log's
 * segments that rows still point into. SQLite reuses freed pages for new rows but does not give
 * them back to the file system, so the file itself stays at its high-water mark (plus the WAL, at
 * most its journal_size_limit after a checkpoint); giving space back would mean VACUUM, which
 * rewrites the whole file: that is left to an operator. The detail log's segments are removed
 * whole once no row points into them, and that space is given back.
 */
import type Database from 'better-sqlite3';
import type { DetailSpace } from './detail-log.js';

/**
 * Where the oldest row with its detail in the log points. Ids grow with the log's segments, so the
 * oldest such row's segment is the first one still needed. A store migrated from version 2 starts at
 * `meta.first_log_id` (schema.ts): its older rows keep their details in SQLite, and reading past
 * them at every call (each stats(), each scrape of the hub's /metrics) would cost a scan.
 */
export const FIRST_DETAIL_SQL =
  'SELECT detail_seg AS s, detail_off AS o FROM entries ' +
  "WHERE id >= coalesce((SELECT value FROM meta WHERE key = 'first_log_id'), 0) AND detail_seg IS NOT NULL " +
  'ORDER BY id LIMIT 1';

/** Rows per delete transaction. */
const CHUNK = 5_000;
/** Size retention deletes down to this fraction of the limit, so it does not run on every call. */
const LOW_WATER = 0.9;
/** Passes of size retention per call (each re-measures after deleting its estimate). */
const SIZE_PASSES = 8;

export interface RetentionLimits {
  maxAgeMs?: number | undefined;
  maxBytes?: number | undefined;
}

export interface RetentionResult {
  entries: number;
  connections: number;
}

export class Retention {
  private readonly oldEntries: Database.Statement;
  private readonly oldDetails: Database.Statement;
  private readonly oldConnections: Database.Statement;
  private readonly countEntries: Database.Statement;
  private readonly countConnections: Database.Statement;
  private readonly firstDetail: Database.Statement;

  constructor(private readonly db: Database.Database) {
    // The subquery walks the ts index from the oldest: the same rows for both deletes of a chunk.
    const oldest = 'SELECT id FROM entries WHERE ts < ? ORDER BY ts, id LIMIT ?';
    this.oldDetails = db.prepare(`DELETE FROM entry_details WHERE id IN (${oldest})`);
    this.oldEntries = db.prepare(`DELETE FROM entries WHERE id IN (${oldest})`);
    this.oldConnections = db.prepare(
      'DELETE FROM connections WHERE id IN (SELECT id FROM connections WHERE end < ? ORDER BY end, id LIMIT ?)',
    );
    this.countEntries = db.prepare('SELECT count(*) AS n FROM entries');
    this.firstDetail = db.prepare(FIRST_DETAIL_SQL);
    this.countConnections = db.prepare('SELECT count(*) AS n FROM connections');
  }

  /** Bytes of the database's pages in use. */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Deletes up to `max` entries older than `beforeUs` (all ages when +Infinity), oldest first. */
  private deleteEntries(beforeUs: number, max: number): number {
    let done = 0;
    const bound = Number.isFinite(beforeUs) ? beforeUs : Number.MAX_SAFE_INTEGER;
    while (done < max) {
      const n = Math.min(CHUNK, max - done);
      const deleted = this.db.transaction(() => {
        this.oldDetails.run(bound, n);
        return this.oldEntries.run(bound, n).changes;
      })();
      done += deleted;
      if (deleted < n) break;
    }
    return done;
  }

  private deleteConnections(beforeUs: number, max: number): number {
    let done = 0;
    const bound = Number.isFinite(beforeUs) ? beforeUs : Number.MAX_SAFE_INTEGER;
    while (done < max) {
      const n = Math.min(CHUNK, max - done);
      const deleted = this.oldConnections.run(bound, n).changes;
      done += deleted;
      if (deleted < n) break;
    }
    return done;
  }

  /**
   * Where the oldest detail a row points at is in the detail log: what is before it is free (all
   * of it when no row has a detail there).
   */
  private neededFrom(): { s: number; o: number } {
    return (
      (this.firstDetail.get() as { s: number; o: number } | undefined) ?? { s: Number.MAX_SAFE_INTEGER, o: 0 }
    );
  }

  /**
   * The data retention keeps under maxBytes: SQLite's pages in use and the detail log from the
   * oldest detail a row points at. (A segment's space goes back to the file system when the last
   * row pointing into it goes: segments are a sixteenth of maxBytes.)
   */
  dataBytes(details: DetailSpace): number {
    const from = this.neededFrom();
    return this.usedBytes() + details.bytes(from.s, from.o);
  }

  /**
   * Deletes what the limits no longer allow, then the detail log's segments no row points into any
   * more (`details`: the log, or its files seen from the writer thread); then PRAGMA optimize.
   */
  run(limits: RetentionLimits, nowUs: number, details: DetailSpace): RetentionResult {
    const result = this.deleteRows(limits, nowUs, details);
    details.dropBefore(this.neededFrom().s);
    // Keeps the planner's statistics current as the data changes (bounded by analysis_limit).
    this.db.pragma('optimize');
    return result;
  }

  private deleteRows(limits: RetentionLimits, nowUs: number, details: DetailSpace): RetentionResult {
    const result: RetentionResult = { entries: 0, connections: 0 };
    if (limits.maxAgeMs !== undefined) {
      const cutoff = nowUs - limits.maxAgeMs * 1000;
      result.entries += this.deleteEntries(cutoff, Number.POSITIVE_INFINITY);
      result.connections += this.deleteConnections(cutoff, Number.POSITIVE_INFINITY);
    }
    if (limits.maxBytes !== undefined) {
      const target = limits.maxBytes * LOW_WATER;
      for (let pass = 0; pass < SIZE_PASSES; pass++) {
        const used = this.dataBytes(details);
        if (used <= (pass === 0 ? limits.maxBytes : target)) break;
        // Rows take space in proportion to their count (an estimate: re-measured next pass).
        const fraction = Math.min(1, (used - target) / used);
        const entries = (this.countEntries.get() as { n: number }).n;
        const connections = (this.countConnections.get() as { n: number }).n;
        if (entries + connections === 0) break;
        result.entries += this.deleteEntries(Number.POSITIVE_INFINITY, Math.ceil(entries * fraction));
        result.connections += this.deleteConnections(
          Number.POSITIVE_INFINITY,
          Math.ceil(connections * fraction),
        );
      }
    }
    return result;
  }
}
