/**
 * Checkpoints off the writer thread. A checkpoint copies the WAL's pages into the database file
 * and syncs it; run by SQLite at a commit (wal_autocheckpoint), it held the writer thread's
 * transaction up to half a second every 256 MiB of WAL, while the batches queued behind it waited.
 * Here a third thread (checkpointer-thread.ts) runs them with PASSIVE checkpoints on its own
 * connection, beside the writer's commits.
 *
 * A PASSIVE checkpoint never blocks the writer, but the WAL only starts again from its beginning
 * (instead of growing) when a write transaction begins while every frame in it has been copied. Under
 * steady load the writer commits during every round, so that moment never comes by itself: once
 * the WAL holds `resetPages`, the writer thread copies the little left over by the last round
 * itself, before its next transaction, which then restarts the WAL. Should the checkpointer thread
 * fail, the writer's connection goes back to checkpointing at its commits.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { threadFailure } from './errors.js';

/** What the writer thread asks of the checkpointer thread. */
export type CheckpointerRequest = { kind: 'round' } | { kind: 'close' };

/** The checkpointer thread's answers: after a round, the WAL's frames and how many are copied. */
export type CheckpointerReply = { kind: 'round'; log: number; checkpointed: number; ms: number };

export interface CheckpointerThreadData {
  path: string;
  resetPages: number;
}

export interface CheckpointStats {
  /** Rounds the checkpointer thread ran. */
  rounds: number;
  /** Times the writer copied a round's remainder itself so that the WAL starts again. */
  restarts: number;
  /** The largest WAL a round found, in pages. */
  maxLogPages: number;
  /** Why the checkpointer thread stopped (the writer then checkpoints at its commits), or null. */
  failed: string | null;
}

/**
 * Least time from the end of a round to the start of the next. At 50,000 entries/s a round then
 * finds 20,000 to 30,000 new pages; rounds further apart copy fewer pages in all (a page rewritten
 * twice is copied once) but keep more of the file's pages waiting in the WAL.
 */
const ROUND_INTERVAL_MS = 500;

export class Checkpoints {
  private readonly worker: Worker;
  private readonly passive: Database.Statement;
  private running = false;
  private lastRoundEnd = 0;
  private restartDue = false;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  readonly stats: CheckpointStats = { rounds: 0, restarts: 0, maxLogPages: 0, failed: null };

  private readonly resetPages: number;
  private readonly intervalMs: number;
  private readonly onStats: (stats: CheckpointStats) => void;

  /**
   * `db` is the writer thread's connection to the store at `path` (its automatic checkpoints are
   * turned off while the checkpointer thread runs); `resetPages` the WAL's size, in pages, at which it
   * is started again; `intervalMs` the least time between rounds (default 500 ms); `onStats` is
   * called with the stats after each round, at each restart, and when the thread fails.
   */
  constructor(
    private readonly db: Database.Database,
    path: string,
    opts: { resetPages: number; intervalMs?: number; onStats?: (stats: CheckpointStats) => void },
  ) {
    this.resetPages = opts.resetPages;
    this.intervalMs = opts.intervalMs ?? ROUND_INTERVAL_MS;
    this.onStats = opts.onStats ?? (() => {});
    this.passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
    db.pragma('wal_autocheckpoint = 0');
    const data: CheckpointerThreadData = { path, resetPages: this.resetPages };
    this.worker = new Worker(new URL('./checkpointer-thread.js', import.meta.url), { workerData: data });
    // The writer thread decides when it ends (close() ends this one first).
    this.worker.unref();
    this.worker.on('message', (m: CheckpointerReply) => {
      this.running = false;
      this.lastRoundEnd = performance.now();
      this.stats.rounds++;
      this.stats.maxLogPages = Math.max(this.stats.maxLogPages, m.log);
      if (m.log >= this.resetPages) this.restartDue = true;
      this.onStats({ ...this.stats });
    });
    this.worker.on('error', (err) => this.fail(threadFailure(err)));
    this.worker.on('exit', (code) => this.fail(`the checkpointer thread exited (code ${code})`));
  }

  /**
   * Before a write transaction: when the WAL is due to start again, copies what is left of it. A
   * failure here is left to the transaction to meet (the WAL then only grows for longer).
   */
  beforeTransaction(): void {
    if (!this.restartDue || this.running) return;
    this.restartDue = false;
    this.stats.restarts++;
    this.onStats({ ...this.stats });
    try {
      this.passive.get();
    } catch {}
  }

  /**
   * After a commit: a round, unless one is running or the last ended less than an interval ago. Also
   * when the WAL is due to start again: should no transaction come to do it, the round still copies
   * (and syncs) the last commits.
   */
  afterCommit(): void {
    if (this.running || this.closing || this.stats.failed !== null) return;
    const wait = this.lastRoundEnd + this.intervalMs - performance.now();
    if (wait > 0) {
      // The commits may stop here: a round then still comes, so the WAL does not keep them for long.
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.afterCommit();
      }, wait);
      return;
    }
    this.running = true;
    this.worker.postMessage({ kind: 'round' } satisfies CheckpointerRequest);
  }

  /** Ends the checkpointer thread once its round, if one is running, is over. Closing again answers the same. */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.closed =
      this.stats.failed !== null
        ? Promise.resolve()
        : new Promise((resolve) => {
            // The thread closes its connection and its port, and so ends; until then it holds the loop.
            this.worker.ref();
            this.worker.once('exit', () => resolve());
            this.worker.postMessage({ kind: 'close' } satisfies CheckpointerRequest);
          });
    return this.closed;
  }

  private fail(reason: string): void {
    if (this.closing || this.stats.failed !== null) return;
    this.stats.failed = reason;
    this.running = false;
    this.restartDue = false;
    if (this.timer) clearTimeout(this.timer);
    // Back to SQLite's own: a checkpoint at the commit that takes the WAL past the threshold.
    this.db.pragma(`wal_autocheckpoint = ${this.resetPages}`);
    this.onStats({ ...this.stats });
  }
}
