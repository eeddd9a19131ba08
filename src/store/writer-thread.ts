/**
 * The store's writer thread (started by WriterThread, src/store/writer.ts): its own connection to
 * the store, through which it stores prepared batches and runs retention, in the order asked. Writes
 * queued when it gets to them go in one transaction: under load, batches of several agents share a
 * commit, and each index page they touch is written once for all of them. While writes keep coming,
 * the queued ones wait up to a few ms for more (group commit: writer.ts groupWait).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Checkpoints } from './checkpoints.js';
import { DetailFiles } from './detail-log.js';
import { failedReply, type ThreadReply } from './errors.js';
import { Retention } from './retention.js';
import { DEFAULT_TUNING, openConnection } from './schema.js';
import {
  type BatchResult,
  BatchWriter,
  groupWait,
  type WriterNotice,
  type WriterRequest,
  type WriterThreadData,
} from './writer.js';

const port = parentPort;
if (!port) throw new Error('writer-thread.js runs as a worker thread (src/store/writer.ts)');
const { path, groupCommit } = workerData as WriterThreadData;
const db = openConnection(path);
const writer = new BatchWriter(db);
const retention = new Retention(db);
// The checkpoints' figures go to the store's owner as they change (Store.stats().checkpoints).
const checkpoints = new Checkpoints(db, path, {
  resetPages: DEFAULT_TUNING.checkpointPages,
  onStats: (stats) => port.postMessage({ checkpoints: stats } satisfies WriterNotice),
});
const queue: WriterRequest[] = [];
let scheduled = false;
/** When the last write transaction ended, and when the oldest write now queued arrived (NaN: none). */
let lastCommit = Number.NEGATIVE_INFINITY;
let oldestWrite = Number.NaN;
let waiting: NodeJS.Timeout | null = null;

function reply(r: ThreadReply): void {
  port!.postMessage(r);
}

/** The writes at the head of the queue, in one transaction; then the next request, and so on. */
function drain(): void {
  scheduled = false;
  if (waiting) {
    clearTimeout(waiting);
    waiting = null;
  }
  while (queue.length > 0) {
    const head = queue[0] as WriterRequest;
    if (head.kind === 'write') {
      const wait = groupWait(queue, performance.now(), lastCommit, oldestWrite, groupCommit);
      if (wait > 0) {
        waiting = setTimeout(drain, wait);
        return;
      }
      let k = 0;
      while (k < queue.length && (queue[k] as WriterRequest).kind === 'write') k++;
      const writes = queue.splice(0, k) as Extract<WriterRequest, { kind: 'write' }>[];
      // Writes that arrive from now on are delivered after this drain, and start the next wait.
      oldestWrite = Number.NaN;
      let results: BatchResult[];
      checkpoints.beforeTransaction();
      try {
        results = writer.write(writes.flatMap((w) => w.batches));
      } catch (err) {
        for (const w of writes) reply(failedReply(w.n, err));
        continue;
      }
      checkpoints.afterCommit();
      lastCommit = performance.now();
      port!.postMessage({ transactions: writer.transactions } satisfies WriterNotice);
      let at = 0;
      for (const w of writes) {
        reply({ n: w.n, ok: true, value: results.slice(at, at + w.batches.length) });
        at += w.batches.length;
      }
      continue;
    }
    queue.shift();
    if (head.kind === 'retention') {
      checkpoints.beforeTransaction();
      try {
        const r = retention.run(head.limits, head.nowUs, new DetailFiles(path, head.keepSegmentsFrom));
        reply({ n: head.n, ok: true, value: r });
        checkpoints.afterCommit();
      } catch (err) {
        reply(failedReply(head.n, err));
      }
      continue;
    }
    // close: the checkpointer thread first, then this connection, which checkpoints the WAL into the
    // file. Nothing is asked after a close.
    const n = head.n;
    void checkpoints.close().then(() => {
      db.close();
      reply({ n, ok: true, value: null });
    });
    return;
  }
}

port.on('message', (r: WriterRequest) => {
  if (r.kind === 'write' && Number.isNaN(oldestWrite)) oldestWrite = performance.now();
  queue.push(r);
  // Every message already delivered joins the queue before the drain: they share a transaction.
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
});
