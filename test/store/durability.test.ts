/**
 * Nothing acknowledged is lost when the hub is killed: a child process (kill-child.ts) ingests
 * numbered batches and prints `ack <seq>` after each ingest() returns; it is SIGKILLed mid-stream
 * (most kills land inside a transaction), the store is reopened, and every acknowledged batch must
 * be there whole, each entry's detail readable, with the agent's watermark at the last committed
 * batch and no part of any batch after it. Five rounds, the child resuming after the watermark each
 * time, as an agent replays; in one of them it stores three batches per transaction
 * (ingestBatches), in another it writes on the store's writer thread with four batches waiting at
 * a time (write()).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/store/index.js';
import { tempDir } from './fixtures.js';

const CHILD = fileURLToPath(new URL('./kill-child.js', import.meta.url));
const PER_BATCH = 60;
const AGENT = 'node-k';

/** Runs the child until it has acknowledged `acks` more batches, kills it, returns the last ack seen. */
async function runAndKill(
  path: string,
  acks: number,
  group: number,
  mode: 'inline' | 'thread',
): Promise<{ first: number; lastAck: number }> {
  const child = spawn(process.execPath, [CHILD, path, AGENT, String(PER_BATCH), String(group), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let first = -1;
  let lastAck = -1;
  let count = 0;
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('close', (_code, signal) => resolve(signal)),
  );
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const m = /^(ready|ack) (\d+)$/.exec(line);
      if (m?.[1] === 'ready') first = Number(m[2]) + 1;
      if (m?.[1] === 'ack') {
        lastAck = Number(m[2]);
        if (++count === acks) child.kill('SIGKILL');
      }
      nl = out.indexOf('\n');
    }
  });
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `the child ended on its own: ${err}`);
  assert.ok(lastAck >= first && first > 0, `acks ${first}..${lastAck}`);
  return { first, lastAck };
}

test('batches acknowledged before a SIGKILL are all there, whole; nothing after the watermark', async () => {
  const path = join(tempDir(), 'killed.db');
  let expectedFirst = 1;
  for (const [acks, group, mode] of [
    [7, 1, 'inline'],
    [19, 1, 'inline'],
    [14, 3, 'inline'],
    [23, 4, 'thread'],
    [3, 1, 'inline'],
  ] as const) {
    const { first, lastAck } = await runAndKill(path, acks, group, mode);
    // The child resumed right after what the store had (the agent's replay point).
    assert.equal(first, expectedFirst);

    const store = Store.open({ path });
    const wm = store.watermark(AGENT);
    // Acknowledged means durable. Unacknowledged but stored: at most the transaction committed as the
    // kill came, and the rest of the one whose acks were being read.
    assert.ok(wm >= lastAck && wm <= lastAck + 2 * group - 1, `watermark ${wm}, last ack ${lastAck}`);
    const perSeq = new Map(
      (
        store.db
          .prepare(
            "SELECT CAST(substr(local_id, 1, instr(local_id, '-') - 1) AS INTEGER) AS seq, count(*) AS n FROM entries GROUP BY seq",
          )
          .all() as { seq: number; n: number }[]
      ).map((r) => [r.seq, r.n]),
    );
    for (let seq = 1; seq <= wm; seq++) assert.equal(perSeq.get(seq), PER_BATCH, `batch ${seq}`);
    // Every stored entry's detail (in the detail log, written before its row was committed) is whole.
    const ids = store.db.prepare('SELECT id, local_id FROM entries').all() as {
      id: number;
      local_id: string;
    }[];
    for (const { id, local_id } of ids) {
      const request = store.entry(String(id))?.request as { body?: string; seq?: number } | undefined;
      assert.equal(request?.seq, Number(local_id.split('-')[0]), `entry ${local_id}`);
      assert.equal(request?.body?.length, 1500, `entry ${local_id}`);
    }
    assert.equal(perSeq.size, wm, 'no part of a batch past the watermark');
    assert.equal(store.stats().entries, wm * PER_BATCH);
    assert.equal(store.stats().connections, wm);
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    // The agent replays what it was not acknowledged: a batch at or below the watermark is refused.
    assert.equal(store.ingest({ agent: AGENT, seq: wm }, [], []), false);
    store.close();
    expectedFirst = wm + 1;
  }
});
