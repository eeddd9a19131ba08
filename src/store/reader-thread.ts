/**
 * The store's reader thread (started by ReaderThread, src/store/reader.ts): its own connection to
 * the store, on which it runs the reads that take a client's filter (queries.ts), one at a time. A
 * read that runs too long is abandoned by ending this thread: the hub's own thread never waits on it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DetailLog, registerDetailFunction } from './detail-log.js';
import { DETAIL_FUNCTION } from './entry-rows.js';
import { failedReply, type ThreadReply } from './errors.js';
import { entriesPage, StatementCache, serviceMapOf } from './queries.js';
import type { ReaderRequest, ReaderThreadData } from './reader.js';
import { openConnection } from './schema.js';

const port = parentPort;
if (!port) throw new Error('reader-thread.js runs as a worker thread (src/store/reader.ts)');
const { path, setup } = workerData as ReaderThreadData;
const db = openConnection(path);
registerDetailFunction(db, DETAIL_FUNCTION, new DetailLog(path, { readOnly: true }));
// The SQL functions the caller's filters use (the query compiler's regexp()).
if (setup) ((await import(setup.module)) as Record<string, (d: typeof db) => void>)[setup.export]?.(db);
const cache = new StatementCache(db);

port.on('message', (r: ReaderRequest) => {
  let reply: ThreadReply;
  try {
    reply = {
      n: r.n,
      ok: true,
      value: r.kind === 'entries' ? entriesPage(cache, r.q) : serviceMapOf(cache, r.q),
    };
  } catch (err) {
    reply = failedReply(r.n, err);
  }
  port.postMessage(reply);
});
