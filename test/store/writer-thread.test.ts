/**
 * The store with its writer thread (`writer: 'thread'`): what it stores is what an inline store
 * stores from the same batches (ids, summaries, whole entries, the query compiler's JSON, counts),
 * however the batches' writes were grouped into transactions; retention runs there; close() stores
 * what was asked before it; a thread that dies fails the writes with a coded error; the lock keeps a
 * second opener out. Killing the process mid-stream is in durability.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/dissect/entry.js';
import { type IngestBatch, Store } from '../../src/store/index.js';
import { realRecords, tempDir } from './fixtures.js';
import { makeConnection, makeEntry } from './records.js';

const dir = tempDir();
let n = 0;
const path = () => join(dir, `w${++n}.db`);

/** Everything a reader can see of a store, by hub id. */
function contents(store: Store) {
  const all = [];
  let cursor: string | undefined;
  do {
    const page = store.entries({ limit: 1000, ...(cursor ? { cursor } : {}) });
    all.push(...page.entries);
    cursor = page.cursor ?? undefined;
  } while (cursor);
  const json = store.db.prepare(
    `SELECT ${store.sqlTarget.json} AS j FROM entries e LEFT JOIN entry_details d ON d.id = e.id WHERE e.id = ?`,
  );
  // The checkpoints are the writer thread's own (null inline): not part of what was stored.
  // So is how the writes were grouped into transactions.
  const {
    fileBytes: _bytes,
    checkpoints: _checkpoints,
    transactions: _transactions,
    ...stats
  } = store.stats();
  return {
    summaries: all,
    whole: all.map((s) => store.entry(s.id)),
    json: all.map((s) => JSON.parse((json.get(Number(s.id)) as { j: string }).j) as unknown),
    connections: store.connections({ limit: 1000 }).connections,
    stats,
  };
}

describe('the writer thread', async () => {
  const { entries } = await realRecords();
  // Odd entries too: a whole detail (an endpoint with a field of its own), a malformed one.
  const odd = [
    makeEntry(7, { id: 'o-1', dst: { ip: '203.0.113.9', port: 443, country: 'NL' } as never }),
    { ...makeEntry(8), timestamp: Number.NaN },
  ] as Entry[];
  const agents = ['node-a', 'node-b', 'node-c'];
  const batches = (): IngestBatch[] => {
    const out: IngestBatch[] = [];
    const seq = new Map<string, number>();
    const all = [...entries, ...odd];
    for (let i = 0, k = 0; i < all.length; i += 37, k++) {
      const agent = agents[k % agents.length] as string;
      const s = (seq.get(agent) ?? 0) + 1;
      seq.set(agent, s);
      out.push({
        source: { agent, seq: s },
        entries: all.slice(i, i + 37),
        connections: [makeConnection(k, k, k + 1, { node: agent } as never)],
        ids: [],
      });
      // A replay now and then: an agent sending again what was stored (refused, false).
      if (k % 5 === 4)
        out.push({ source: { agent, seq: s }, entries: all.slice(i, i + 3), connections: [], ids: [] });
    }
    return out;
  };

  test('stores what an inline store stores, with writes grouped as they come', async () => {
    const inline = Store.open({ path: path() });
    const wantResults = batches().map((b) => {
      const r = inline.ingestBatches([b]);
      return { stored: r[0], ids: b.ids };
    });
    const want = contents(inline);
    await inline.close();

    const threaded = Store.open({ path: path(), writer: 'thread' });
    assert.equal(threaded.threaded, true);
    const bs = batches();
    // All asked at once, one agent's after another's: the thread groups whatever is waiting.
    const results = await Promise.all(bs.map((b) => threaded.write([b])));
    assert.deepEqual(
      results.map((r, i) => ({ stored: r[0], ids: bs[i]!.ids })),
      wantResults,
    );
    assert.deepEqual(contents(threaded), want);
    assert.ok(want.stats.rejected > 0 && want.summaries.length > 100);
    await threaded.close();
  });

  test('inline-only calls refuse; retention runs on the thread through maintain()', async () => {
    const store = Store.open({ path: path(), writer: 'thread', maxAgeMs: 1000 });
    assert.throws(() => store.ingest(null, [makeEntry(1)], []), { code: 'bad-argument' });
    assert.throws(() => store.retention(), { code: 'bad-argument' });
    const now = 10_000_000_000;
    await store.write([
      {
        source: null,
        entries: [makeEntry(now - 3_000_000), makeEntry(now - 2_000_000), makeEntry(now - 10)],
        connections: [makeConnection(1, now - 5_000_000, now - 4_000_000), makeConnection(2, now - 10, now)],
      },
    ]);
    assert.deepEqual(await store.maintain(now), { entries: 2, connections: 1 });
    assert.equal(store.stats().entries, 1);
    assert.equal(store.stats().connections, 1);
    assert.deepEqual(
      store.entries({}).entries.map((e) => e.timestamp),
      [now - 10],
    );
    await store.close();
  });

  test('close() stores the writes asked for before it', async () => {
    const p = path();
    const store = Store.open({ path: p, writer: 'thread' });
    const asked = Array.from({ length: 20 }, (_, i) =>
      store.write([{ source: { agent: 'a', seq: i + 1 }, entries: [makeEntry(i)], connections: [] }]),
    );
    await store.close();
    assert.deepEqual(await Promise.all(asked), Array(20).fill([true]));
    const again = Store.open({ path: p });
    assert.equal(again.stats().entries, 20);
    assert.equal(again.watermark('a'), 20);
    await again.close();
  });

  test('a writer thread that died fails the writes with writer-failed; nothing is half stored', async () => {
    const store = Store.open({ path: path(), writer: 'thread' });
    await store.write([{ source: { agent: 'a', seq: 1 }, entries: [makeEntry(1)], connections: [] }]);
    // The thread is gone (as if it crashed): a write fails, and says why.
    await (
      store as unknown as { thread: { worker: { terminate(): Promise<number> } } }
    ).thread.worker.terminate();
    const ids: (string | null)[] = ['x'];
    await assert.rejects(
      store.write([{ source: { agent: 'a', seq: 2 }, entries: [makeEntry(2)], connections: [], ids }]),
      { code: 'writer-failed' },
    );
    assert.deepEqual(ids, []);
    assert.equal(store.stats().entries, 1);
    assert.equal(store.watermark('a'), 1);
    await store.close();
  });

  test('a batch that cannot be stored (a value JSON cannot carry) fails whole; the next one is stored', async () => {
    const store = Store.open({ path: path(), writer: 'thread' });
    const cyclic = makeEntry(2) as Entry & { self?: unknown };
    cyclic.self = cyclic;
    const ids: (string | null)[] = ['stale'];
    await assert.rejects(
      store.write([
        { source: { agent: 'a', seq: 1 }, entries: [makeEntry(1), cyclic], connections: [], ids },
      ]),
      TypeError,
    );
    assert.deepEqual(ids, []);
    assert.equal(store.watermark('a'), 0);
    assert.deepEqual(
      await store.write([{ source: { agent: 'a', seq: 1 }, entries: [makeEntry(3)], connections: [], ids }]),
      [true],
    );
    assert.deepEqual(ids, ['1']);
    await store.close();
  });

  test('one store, one opener: a second open is refused as locked until the first closes', async () => {
    const p = path();
    const first = Store.open({ path: p, writer: 'thread' });
    assert.throws(() => Store.open({ path: p }), { code: 'locked' });
    assert.throws(() => Store.open({ path: p, writer: 'thread' }), { code: 'locked' });
    await first.close();
    const second = Store.open({ path: p });
    await second.close();
  });

  test('group commit: while writes keep coming they share transactions; a lone write does not wait', async () => {
    const linger = 1000;
    const store = Store.open({
      path: path(),
      writer: 'thread',
      groupCommit: { rows: 1000, lingerMs: linger },
    });
    // 64 writes of 100 entries, one every 5 ms, each answered in its own time, as agents' batches
    // reach a hub: each would find the thread idle and commit alone (64 transactions).
    const write = (k: number) =>
      store.write([
        {
          source: { agent: 'a', seq: k + 1 },
          entries: Array.from({ length: 100 }, (_, i) => makeEntry(k * 100 + i)),
          connections: [],
        },
      ]);
    const asked = [];
    for (let k = 0; k < 64; k++) {
      asked.push(write(k));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(asked);
    assert.equal(store.stats().entries, 6400);
    // The first is stored at once; then they wait, 1,000 rows (10 writes) at a time.
    const tx = store.stats().transactions;
    assert.ok(tx >= 2 && tx <= 16, `${tx} transactions for 64 writes`);

    // Idle for longer than the linger: a write is stored at once, not held for company.
    await new Promise((r) => setTimeout(r, linger + 200));
    const t0 = performance.now();
    await write(64);
    assert.ok(performance.now() - t0 < linger / 2, `a lone write took ${performance.now() - t0} ms`);
    assert.equal(store.stats().transactions, tx + 1);
    await store.close();
  });

  test('an in-memory store has no writer thread', () => {
    assert.throws(() => Store.open({ path: ':memory:', writer: 'thread' }), { code: 'bad-argument' });
    assert.throws(() => Store.open({ path: path(), writer: 'fast' as never }), { code: 'bad-argument' });
  });
});
