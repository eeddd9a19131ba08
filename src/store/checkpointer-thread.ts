/**
 * The store's checkpointer thread (started by the writer thread through Checkpoints,
 * checkpoints.ts): copies the WAL's committed pages into the database file, and syncs it, through a
 * connection of its own, while the writer thread goes on committing (docs/store.md, "Checkpoints").
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointerReply, CheckpointerRequest, CheckpointerThreadData } from './checkpoints.js';
import { openConnection } from './schema.js';

const port = parentPort;
if (!port) throw new Error('checkpointer-thread.js runs as a worker thread (src/store/checkpoints.ts)');
const { path, resetPages } = workerData as CheckpointerThreadData;
const db = openConnection(path);
// This connection never writes, so it never checkpoints on its own account either.
db.pragma('wal_autocheckpoint = 0');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

function checkpoint(): { log: number; checkpointed: number } {
  const r = passive.get() as { busy: number; log: number; checkpointed: number };
  return { log: r.log, checkpointed: r.checkpointed };
}

port.on('message', (m: CheckpointerRequest) => {
  if (m.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  const t0 = performance.now();
  let r = checkpoint();
  // A WAL due to be started again: while this round copied, the writer committed more. Copy that too
  // (a shorter round each time), so that what the writer has to copy itself before the restart is
  // little (Checkpoints.beforeTransaction).
  for (let i = 0; i < 2 && r.log >= resetPages && r.checkpointed < r.log; i++) r = checkpoint();
  port.postMessage({ kind: 'round', ...r, ms: performance.now() - t0 } satisfies CheckpointerReply);
});
