/**
 * Retention: by age, exactly the entries older than the limit go (by timestamp) and the
 * connections last seen before it (by end); by size, the oldest go first until the data fits
 * under the limit again. Counts returned match what is gone.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Store } from '../../src/store/index.js';
import { tempDir } from './fixtures.js';
import { makeConnection, makeEntry } from './records.js';

const dir = tempDir();
const MINUTE = 60_000_000;
const T0 = 1_700_000_000_000_000;

describe('retention', () => {
  test('by age: entries before now - maxAge and connections last seen before it go, oldest first', () => {
    const store = Store.open({ path: join(dir, 'age.db'), maxAgeMs: 5 * 60_000 });
    // 12,000 entries over 10 minutes (more than two delete chunks), shuffled into batches.
    const ts = Array.from({ length: 12_000 }, (_, i) => T0 + Math.floor((i * 10 * MINUTE) / 12_000));
    const shuffled = ts.map((t, i) => ({ t, k: (i * 7919) % 12_000 })).sort((a, b) => a.k - b.k);
    for (let i = 0; i < shuffled.length; i += 1000)
      store.ingest(
        null,
        shuffled.slice(i, i + 1000).map((s) => makeEntry(s.t)),
        [],
      );
    const conns = Array.from({ length: 100 }, (_, i) => makeConnection(i + 1, T0, T0 + i * 6 * 1_000_000));
    store.ingest(null, [], conns);

    const now = T0 + 10 * MINUTE;
    const cutoff = now - 5 * MINUTE;
    const wantEntries = ts.filter((t) => t < cutoff).length;
    const wantConns = conns.filter((c) => c.end < cutoff).length;
    assert.ok(wantEntries > 5000 && wantConns > 0);

    assert.deepEqual(store.retention(now), { entries: wantEntries, connections: wantConns });
    assert.equal(store.stats().entries, 12_000 - wantEntries);
    assert.equal(store.stats().connections, 100 - wantConns);
    const oldest = store.db.prepare('SELECT min(ts) AS t FROM entries').get() as { t: number };
    assert.ok(oldest.t >= cutoff);
    assert.ok(store.connectionsSeen(0, Number.MAX_SAFE_INTEGER).every((c) => c.end >= cutoff));
    // Nothing more to do.
    assert.deepEqual(store.retention(now), { entries: 0, connections: 0 });
    // Detail rows went with their summaries.
    const orphans = store.db
      .prepare(
        'SELECT count(*) AS n FROM entry_details d WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = d.id)',
      )
      .get() as { n: number };
    assert.equal(orphans.n, 0);
    store.close();
  });

  test('by size: the oldest go until the data is under the limit', () => {
    const path = join(dir, 'size.db');
    const filler = 'y'.repeat(2000);
    const store = Store.open({ path });
    for (let b = 0; b < 10; b++)
      store.ingest(
        null,
        Array.from({ length: 500 }, (_, i) =>
          makeEntry(T0 + (b * 500 + i) * 1000, { request: { body: filler, n: b * 500 + i } }),
        ),
        [makeConnection(b + 1, T0, T0 + b * 500_000)],
      );
    const usedBefore = usedBytes(store);
    store.close();
    assert.ok(usedBefore > 10_000_000, `${usedBefore}`);

    const maxBytes = 4_000_000;
    const limited = Store.open({ path, maxBytes });
    const r = limited.retention();
    const used = usedBytes(limited);
    assert.ok(used <= maxBytes, `${used} > ${maxBytes}`);
    assert.ok(r.entries > 0 && r.entries < 5000, `${r.entries}`);
    assert.equal(limited.stats().entries, 5000 - r.entries);
    // Oldest first: what is left is the newest.
    const left = limited.db.prepare('SELECT ts FROM entries ORDER BY ts').all() as { ts: number }[];
    assert.equal(left[0]!.ts, T0 + r.entries * 1000);
    assert.equal(left[left.length - 1]!.ts, T0 + 4999 * 1000);
    // Under the limit: a second call deletes nothing.
    assert.deepEqual(limited.retention(), { entries: 0, connections: 0 });
    limited.close();
  });

  test('without limits retention deletes nothing', () => {
    const store = Store.open({ path: join(dir, 'none.db') });
    store.ingest(null, [makeEntry(1)], [makeConnection(1, 1, 2)]);
    assert.deepEqual(store.retention(Number.MAX_SAFE_INTEGER), { entries: 0, connections: 0 });
    store.close();
  });

  test('limits must be positive numbers', () => {
    assert.throws(() => Store.open({ path: join(dir, 'bad.db'), maxAgeMs: 0 }), { code: 'bad-argument' });
    assert.throws(() => Store.open({ path: join(dir, 'bad.db'), maxBytes: -1 }), { code: 'bad-argument' });
    // The store refused does not stay locked.
    Store.open({ path: join(dir, 'bad.db') }).close();
  });
});

/** What retention keeps under maxBytes: SQLite's pages in use and the detail log rows point into. */
function usedBytes(store: Store): number {
  return store.stats().dataBytes;
}
