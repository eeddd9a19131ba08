/**
 * The process durability.test.ts kills: opens the store, resumes after the agent's watermark, and
 * ingests numbered batches as fast as it can, writing `ack <seq>` to stdout after each ingest()
 * returned (as a hub acknowledges a batch to its agent) until it is SIGKILLed. With a group size
 * above 1, that many batches go in each ingestBatches() call, acknowledged after it returned. With
 * `thread`, the store writes on its writer thread: that many write() calls are kept waiting at a time
 * (the thread stores them together), each acknowledged when its promise resolves, in order.
 *
 * Usage: node kill-child.js <store path> <agent> <entries per batch> [batches per call] [thread]
 */
import { writeSync } from 'node:fs';
import { Store } from '../../src/store/index.js';
import { makeConnection, makeEntry } from './records.js';

const [path, agent, perBatch, perCall, mode] = process.argv.slice(2);
// `node --test dist/test/` runs every file under test/ once on its own: without arguments this
// is that run, not durability.test.ts's child, and there is nothing to do.
if (path === undefined || agent === undefined || perBatch === undefined) process.exit(0);
const store = Store.open({ path: path!, writer: mode === 'thread' ? 'thread' : 'inline' });
const size = Number(perBatch);
const group = Number(perCall ?? 1);
let seq = store.watermark(agent!);
writeSync(1, `ready ${seq}\n`);
const batch = (seq: number) => ({
  source: { agent: agent!, seq },
  entries: Array.from({ length: size }, (_, k) =>
    makeEntry(seq * 1000 + k, {
      id: `${seq}-${k}`,
      // Big enough that a batch spans many pages and the kill lands inside a commit now and then.
      request: { body: 'z'.repeat(1500), seq },
    }),
  ),
  connections: [makeConnection(seq, seq * 1000, seq * 1000 + 1)],
});
if (mode === 'thread') {
  // A window of `group` writes: the oldest is awaited (and acknowledged) before the next goes.
  const waiting: Promise<void>[] = [];
  for (;;) {
    const b = batch(++seq);
    const n = b.source.seq;
    const done = store.write([b]).then(() => {
      writeSync(1, `ack ${n}\n`);
    });
    waiting.push(done);
    if (waiting.length >= group) await waiting.shift();
  }
}
for (;;) {
  const batches = Array.from({ length: group }, (_, k) => batch(seq + 1 + k));
  if (group === 1) store.ingest(batches[0]!.source, batches[0]!.entries, batches[0]!.connections);
  else store.ingestBatches(batches);
  for (const b of batches) writeSync(1, `ack ${b.source.seq}\n`);
  seq += group;
}
