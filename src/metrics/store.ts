/**
 * The hub's own series about taking records in and storing them (docs/metrics.md, "The hub's
 * intake and store"): what an operator watches to see a hub keep up. The figures are read at each
 * scrape (once for all the series); the time a batch waits for its commit is observed as it goes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the hub and its store report (Hub.intake, Store.stats(), Store.writeFailure). */
export interface StoreFigures {
  entries: number;
  connections: number;
  fileBytes: number;
  dataBytes: number;
  /** The store can no longer write (its writer thread stopped). */
  writeFailed: boolean;
  /** Write transactions committed (group commit puts many batches in one). */
  transactions: number;
  /** The checkpointer beside the writer thread; null for a store that writes inline. */
  checkpoints: { rounds: number; restarts: number; failed: string | null } | null;
  intake: { entries: number; connections: number; batches: number; replays: number; lost: number };
}

/** Seconds from a batch handed to the store to its commit: a disk that cannot keep up shows here first. */
const WRITE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Registers the series; returns what observes a write's time. */
export function registerStoreMetrics(
  registry: Registry,
  read: () => StoreFigures | null,
): { observeWrite(seconds: number): void } {
  // One read per scrape for every series below: prom-client collects them one after another.
  let cached: { at: number; figures: StoreFigures | null } = { at: -1, figures: null };
  const figures = (): StoreFigures | null => {
    const now = performance.now();
    if (now - cached.at > 100) cached = { at: now, figures: read() };
    return cached.figures;
  };
  const registers = [registry];
  const gauge = (name: string, help: string, value: (f: StoreFigures) => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const f = figures();
        const v = f === null ? null : value(f);
        if (v === null) this.reset();
        else this.set(v);
      },
    });
  const counter = (name: string, help: string, value: (f: StoreFigures) => number | null) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const f = figures();
        const v = f === null ? null : value(f);
        this.reset();
        if (v !== null) this.inc(v);
      },
    });

  const labelledCounter = (
    name: string,
    help: string,
    label: string,
    values: (f: StoreFigures) => Record<string, number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        const f = figures();
        this.reset();
        if (f === null) return;
        for (const [value, n] of Object.entries(values(f))) this.inc({ [label]: value }, n);
      },
    });

  gauge('podwire_store_entries', 'Entries in the store', (f) => f.entries);
  gauge('podwire_store_connections', 'Connection records in the store', (f) => f.connections);
  gauge(
    'podwire_store_file_bytes',
    'Bytes of the store on disk: database, WAL and detail log',
    (f) => f.fileBytes,
  );
  gauge(
    'podwire_store_data_bytes',
    'Bytes of stored data as retention measures them against --retention-size',
    (f) => f.dataBytes,
  );
  gauge(
    'podwire_store_write_failed',
    '1 when the store can no longer write (its writer thread stopped)',
    (f) => (f.writeFailed ? 1 : 0),
  );
  counter(
    'podwire_store_transactions_total',
    'Write transactions committed; entries stored per transaction show how well writes are grouped',
    (f) => f.transactions,
  );
  counter(
    'podwire_store_checkpoint_rounds_total',
    'Checkpoints run beside the writer thread (0 for a store that writes inline: SQLite checkpoints at its commits)',
    (f) => f.checkpoints?.rounds ?? null,
  );
  counter(
    'podwire_store_wal_restarts_total',
    'Times the WAL was started again from its beginning after a checkpoint caught up',
    (f) => f.checkpoints?.restarts ?? null,
  );
  gauge(
    'podwire_store_checkpointer_failed',
    "1 when the checkpointer thread stopped (SQLite then checkpoints at the writer's commits)",
    (f) => (f.checkpoints === null ? null : f.checkpoints.failed === null ? 0 : 1),
  );
  labelledCounter(
    'podwire_hub_records_total',
    'Records taken in from agents and the embedded agent, by type (entry, connection)',
    'type',
    (f) => ({ entry: f.intake.entries, connection: f.intake.connections }),
  );
  labelledCounter(
    'podwire_hub_batches_total',
    'Batches stored, and replays of batches the store already had (an agent sending again after a reconnect)',
    'result',
    (f) => ({ stored: f.intake.batches, replay: f.intake.replays }),
  );
  counter(
    'podwire_hub_records_lost_total',
    'Records of the embedded agent not stored: the store failed, or was too far behind',
    (f) => f.intake.lost,
  );
  const writes = new Histogram({
    name: 'podwire_store_write_seconds',
    help: 'Seconds from a batch handed to the store to its commit',
    buckets: WRITE_BUCKETS,
    registers,
  });
  return { observeWrite: (seconds) => writes.observe(seconds) };
}
