/**
 * The store's write side, in two halves that can run on two threads. `prepareBatch` (the caller's
 * thread) turns an agent batch into plain rows: validation, the detail JSON (appended to the detail
 * log, detail-log.ts), the summary column values pointing at it, the connection records' JSON.
 * `BatchWriter` (the thread that owns the write connection) stores prepared batches in one
 * transaction: ids, the summary rows, the connection upserts, the agents' watermarks. Prepared batches are plain data, so they cross to a worker
 * thread (writer-thread.ts) as they are; the JavaScript half of an ingest then runs beside
 * SQLite's half instead of before it (docs/store.md, "Writer thread").
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';
import type { CheckpointStats } from './checkpoints.js';
import type { DetailLog } from './detail-log.js';
import {
  detailJson,
  invalidEntry,
  type SqlValue,
  SUMMARY_COLUMNS,
  slimDetail,
  summaryValues,
} from './entry-rows.js';
import { replyError, StoreError, type ThreadReply, threadFailure } from './errors.js';
import type { RetentionLimits, RetentionResult } from './retention.js';

/** Which agent sent a batch, and the batch's sequence number in that agent's stream (from 1). */
export interface BatchSource {
  agent: string;
  seq: number;
}

/** A batch as BatchWriter stores it: plain data (structured-cloneable). */
export interface PreparedBatch {
  source: BatchSource | null;
  /**
   * Per stored entry, the summary columns in SUMMARY_COLUMNS order; [0] (the id) is set by the
   * writer. The detail is in the detail log already, where the last three columns point.
   */
  rows: SqlValue[][];
  /** Per connection record: node, conn_id, start, end, json. */
  connections: [string, number, number, number, string][];
}

/** What storing one prepared batch did. */
export interface BatchResult {
  /** False for a replay (seq not above the agent's watermark): nothing was written. */
  stored: boolean;
  /** The id of the batch's first entry; the others follow one by one (0 when none was stored). */
  firstId: number;
  /** Connection records inserted (not updates of one already stored). */
  newConnections: number;
}

/**
 * `entries` and `connections` as rows, and the records refused as malformed (`valid[i]` says
 * whether entries[i] got a row, so the caller can hand out ids). The details are appended to `log`:
 * flush it before the rows are committed.
 */
export function prepareBatch(
  source: BatchSource | null,
  entries: readonly Entry[],
  connections: readonly ConnectionRecord[],
  bodyCap: number,
  log: DetailLog,
): { batch: PreparedBatch; valid: boolean[]; rejected: number } {
  const rows: SqlValue[][] = [];
  const valid: boolean[] = [];
  let rejected = 0;
  for (const e of entries) {
    if (invalidEntry(e) !== null) {
      rejected++;
      valid.push(false);
      continue;
    }
    valid.push(true);
    const slim = slimDetail(e);
    // A whole detail is the entry as handed out but for the hub's id, which the readers put in front:
    // the agent's id as localId.
    const detail = detailJson(slim ?? { ...e, id: undefined, localId: e.id }, e, bodyCap);
    rows.push(summaryValues(e, slim === null, log.append(detail)));
  }
  const conns: PreparedBatch['connections'] = [];
  for (const c of connections) {
    if (
      c === null ||
      typeof c !== 'object' ||
      !Number.isSafeInteger(c.id) ||
      !Number.isSafeInteger(c.start) ||
      !Number.isSafeInteger(c.end)
    ) {
      rejected++;
      continue;
    }
    conns.push([typeof c.node === 'string' ? c.node : '', c.id, c.start, c.end, JSON.stringify(c)]);
  }
  return { batch: { source, rows, connections: conns }, valid, rejected };
}

/**
 * Stores prepared batches through one connection. The last id handed out is read from `meta` in
 * each transaction, so ids stay unique whichever connection wrote last.
 */
export class BatchWriter {
  private readonly s: ReturnType<typeof prepareWrites>;
  private readonly tx: Database.Transaction<(batches: readonly PreparedBatch[]) => BatchResult[]>;

  constructor(readonly db: Database.Database) {
    this.s = prepareWrites(db);
    this.tx = db.transaction((batches: readonly PreparedBatch[]) => {
      const meta = this.s.getLastId.get() as { value: number } | undefined;
      const max = (this.s.maxId.get() as { id: number | null }).id ?? 0;
      const last = { id: Math.max(meta?.value ?? 0, max) };
      const results = batches.map((b) => this.writeOne(b, last));
      this.s.setLastId.run(last.id);
      return results;
    });
  }

  /** Transactions committed. */
  transactions = 0;

  /** One transaction for all of `batches`; durable when it returns; on a throw nothing was stored. */
  write(batches: readonly PreparedBatch[]): BatchResult[] {
    const results = this.tx.immediate(batches);
    this.transactions++;
    return results;
  }

  private writeOne(b: PreparedBatch, last: { id: number }): BatchResult {
    const s = this.s;
    if (b.source !== null) {
      const wm = s.getWatermark.get(b.source.agent) as { seq: number } | undefined;
      if (wm !== undefined && b.source.seq <= wm.seq) return { stored: false, firstId: 0, newConnections: 0 };
    }
    const firstId = b.rows.length > 0 ? last.id + 1 : 0;
    for (const row of b.rows) {
      row[0] = ++last.id;
      s.insertSummary.run(...row);
    }
    let newConnections = 0;
    for (const [node, connId, start, end, json] of b.connections) {
      if (s.insertConnection.run(node, connId, start, end, json).changes > 0) newConnections++;
      // A snapshot older than what is stored (by last-seen time) does not replace it.
      else s.updateConnection.run(end, json, node, connId, start, end);
    }
    if (b.source !== null) s.setWatermark.run(b.source.agent, b.source.seq, Date.now());
    return { stored: true, firstId, newConnections };
  }
}

function prepareWrites(db: Database.Database) {
  return {
    insertSummary: db.prepare(
      `INSERT INTO entries (${SUMMARY_COLUMNS.join(', ')}) VALUES (${SUMMARY_COLUMNS.map(() => '?').join(', ')})`,
    ),
    getLastId: db.prepare("SELECT value FROM meta WHERE key = 'last_entry_id'"),
    maxId: db.prepare('SELECT max(id) AS id FROM entries'),
    setLastId: db.prepare(
      "INSERT INTO meta (key, value) VALUES ('last_entry_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    getWatermark: db.prepare('SELECT seq FROM agents WHERE name = ?'),
    setWatermark: db.prepare(
      'INSERT INTO agents (name, seq, updated_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at',
    ),
    insertConnection: db.prepare(
      'INSERT INTO connections (node, conn_id, start, end, json) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (node, conn_id, start) DO NOTHING',
    ),
    updateConnection: db.prepare(
      'UPDATE connections SET end = ?, json = ? WHERE node = ? AND conn_id = ? AND start = ? AND end <= ?',
    ),
  };
}

/** What the main thread asks of the writer thread (writer-thread.ts). */
export type WriterRequest =
  | { n: number; kind: 'write'; batches: PreparedBatch[] }
  | { n: number; kind: 'retention'; limits: RetentionLimits; nowUs: number; keepSegmentsFrom: number }
  | { n: number; kind: 'close' };

/** What the writer thread tells unasked: its checkpoints' figures as they change, its commits. */
export type WriterNotice = { checkpoints: CheckpointStats } | { transactions: number };

/**
 * Group commit (writer-thread.ts). A transaction costs per page it dirties, and each row dirties a
 * page of every index, so the more rows share a commit, the fewer pages each pays for: on the
 * store's schema, transactions of 1,000 rows cost 29-31 µs of CPU per row, of 4,000 rows 18, of
 * 16,000 rows 13.5 (docs/store.md, "Group commit"). So while writes keep coming, the writes at the
 * head of the queue wait a little for more to share their transaction.
 */
export interface GroupCommit {
  /** Rows that make a transaction big enough to start at once. */
  rows: number;
  /** The longest a write waits for others (0: never); also what "keep coming" means: the last
   * commit ended less than this ago. */
  lingerMs: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommit = { rows: 4000, lingerMs: 15 };

/**
 * How many ms the writes at the head of `queue` wait for more before their transaction (0: none):
 * only under load (the last commit ended less than `lingerMs` before `now`), only until `lingerMs`
 * after the oldest of them arrived, only while they hold fewer than `rows` rows, and never in
 * front of a retention or a close.
 */
export function groupWait(
  queue: readonly WriterRequest[],
  now: number,
  lastCommit: number,
  oldestWrite: number,
  g: GroupCommit,
): number {
  if (g.lingerMs <= 0 || !(now - lastCommit < g.lingerMs)) return 0;
  const left = g.lingerMs - (now - oldestWrite);
  if (!(left > 0)) return 0;
  let rows = 0;
  for (const r of queue) {
    if (r.kind !== 'write') return 0;
    for (const b of r.batches) rows += b.rows.length;
    if (rows >= g.rows) return 0;
  }
  return left;
}

/** The options the writer thread opens its connection with (its workerData). */
export interface WriterThreadData {
  path: string;
  groupCommit: GroupCommit;
}

/**
 * The main thread's handle on a writer thread: requests go in order, answers come back as promises.
 * The thread stores whatever writes are queued when it gets to them in one transaction (group
 * commit), so batches that arrive while one is being stored cost one commit together.
 */
export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private next = 1;
  private failure: Error | null = null;
  /** The thread was told to end: its exit is not a failure. */
  private closing = false;
  /** The checkpointer's figures as the thread last told them. */
  private checkpointStats: CheckpointStats = { rounds: 0, restarts: 0, maxLogPages: 0, failed: null };

  /** Write transactions committed, as the thread last told. */
  transactions = 0;

  constructor(path: string, groupCommit: GroupCommit = DEFAULT_GROUP_COMMIT) {
    const data: WriterThreadData = { path, groupCommit };
    this.worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: data });
    // The store's owner decides when the process ends (close() ends the thread).
    this.worker.unref();
    this.worker.on('message', (m: ThreadReply | WriterNotice) => {
      if ('checkpoints' in m) {
        this.checkpointStats = m.checkpoints;
        return;
      }
      if ('transactions' in m) {
        this.transactions = m.transactions;
        return;
      }
      const p = this.pending.get(m.n);
      if (!p) return;
      this.pending.delete(m.n);
      if (m.ok) p.resolve(m.value);
      else p.reject(replyError(m));
    });
    this.worker.on('error', (err) => this.fail(err, threadFailure(err)));
    this.worker.on('exit', (code) => this.fail(null, `exited (code ${code})`));
  }

  /** Why the thread stopped (every write fails from then on), or null while it runs. */
  get failed(): Error | null {
    return this.failure;
  }

  /** The checkpoints run beside the thread's commits (checkpoints.ts), as last told. */
  get checkpoints(): CheckpointStats {
    return this.checkpointStats;
  }

  write(batches: PreparedBatch[]): Promise<BatchResult[]> {
    return this.request({ n: 0, kind: 'write', batches }) as Promise<BatchResult[]>;
  }

  /** Retention on the thread; the detail log's segments before `keepSegmentsFrom` may go. */
  retention(limits: RetentionLimits, nowUs: number, keepSegmentsFrom: number): Promise<RetentionResult> {
    return this.request({
      n: 0,
      kind: 'retention',
      limits,
      nowUs,
      keepSegmentsFrom,
    }) as Promise<RetentionResult>;
  }

  /** Answers what was asked before, closes the thread's connection and ends the thread. */
  async close(): Promise<void> {
    if (this.failure) return;
    await this.request({ n: 0, kind: 'close' });
    this.closing = true;
    await this.worker.terminate();
  }

  private request(r: WriterRequest): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    r.n = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(r.n, { resolve, reject });
      this.worker.postMessage(r);
    });
  }

  private fail(cause: unknown, why: string): void {
    if (this.closing) return;
    this.failure ??= new StoreError('writer-failed', `the store's writer thread failed: ${why}`, { cause });
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}
