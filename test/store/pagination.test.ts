/**
 * Listing entries: newest first by (timestamp, id), pages joined by cursors that neither repeat nor
 * skip an entry while others are being inserted (newer ones, late ones older than the cursor, ties
 * on the cursor's timestamp), time windows inclusive at both ends, filters served by their index.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/dissect/entry.js';
import { Store } from '../../src/store/index.js';
import { tempDir } from './fixtures.js';
import { makeEntry } from './records.js';

const dir = tempDir();
let n = 0;
const fresh = () => Store.open({ path: join(dir, `p${n++}.db`) });

// Deterministic shuffling.
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const PROTOCOLS = ['http', 'redis', 'dns'] as const;

/** 3,000 entries, 7 per timestamp, sent in shuffled batches of 250. */
function seed3000(store: Store): void {
  const entries: Entry[] = Array.from({ length: 3000 }, (_, i) =>
    makeEntry(1_000_000 + Math.floor(i / 7) * 10, { protocol: PROTOCOLS[i % 3]!, id: `c-${i}` }),
  );
  entries.sort(() => rand() - 0.5);
  for (let i = 0; i < entries.length; i += 250) store.ingest(null, entries.slice(i, i + 250), []);
}

describe('cursor pagination', () => {
  test('pages cover what was there exactly once, in (timestamp, id) descending order, while inserts go on', () => {
    const store = fresh();
    seed3000(store);
    const before = store.db.prepare('SELECT id, ts FROM entries').all() as { id: number; ts: number }[];
    // The independent order: sort by the contract's key.
    before.sort((a, b) => b.ts - a.ts || b.id - a.id);

    const got: { id: number; ts: number }[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = store.entries({ limit: 97, ...(cursor ? { cursor } : {}) });
      got.push(...page.entries.map((e) => ({ id: Number(e.id), ts: e.timestamp })));
      cursor = page.cursor ?? undefined;
      pages++;
      if (cursor) {
        const lastTs = got[got.length - 1]!.ts;
        // Newer than everything, older than the cursor (late arrivals), and a tie on the cursor's time.
        store.ingest(null, [makeEntry(9_000_000 + pages), makeEntry(lastTs - 5), makeEntry(lastTs)], []);
      }
    } while (cursor);

    assert.equal(pages, Math.ceil(got.length / 97));
    const ids = got.map((g) => g.id);
    assert.equal(new Set(ids).size, ids.length, 'no entry twice');
    for (let i = 1; i < got.length; i++) {
      const a = got[i - 1]!;
      const b = got[i]!;
      assert.ok(a.ts > b.ts || (a.ts === b.ts && a.id > b.id), `order at ${i}`);
    }
    // Everything that existed before paging started, in the contract's order (late arrivals may be
    // interleaved, in order, as they sort after the cursor).
    const gotSet = new Set(ids);
    assert.ok(
      before.every((b) => gotSet.has(b.id)),
      'no entry missed',
    );
    const beforeIds = new Set(before.map((b) => b.id));
    assert.deepEqual(
      got.filter((g) => beforeIds.has(g.id)),
      before,
    );
    // Newer entries inserted during paging never show up in later pages.
    assert.ok(got.every((g) => g.ts < 9_000_000));
    store.close();
  });

  test('a filtered listing pages through exactly the matching entries', () => {
    const store = fresh();
    seed3000(store);
    const where = { sql: `${store.sqlTarget.column(['protocol'])} = ?`, params: ['redis'] };
    const want = (
      store.db.prepare("SELECT id FROM entries WHERE protocol = 'redis' ORDER BY ts DESC, id DESC").all() as {
        id: number;
      }[]
    ).map((r) => String(r.id));
    assert.equal(want.length, 1000);
    const got: string[] = [];
    let cursor: string | undefined;
    do {
      const page = store.entries({ where, limit: 333, ...(cursor ? { cursor } : {}) });
      got.push(...page.entries.map((e) => e.id));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    assert.deepEqual(got, want);
    store.close();
  });

  test('from and to are inclusive microsecond bounds', () => {
    const store = fresh();
    store.ingest(
      null,
      [10, 20, 30, 40, 50].map((t) => makeEntry(t)),
      [],
    );
    assert.deepEqual(
      store.entries({ from: 20, to: 40 }).entries.map((e) => e.timestamp),
      [40, 30, 20],
    );
    assert.deepEqual(
      store.entries({ from: 41 }).entries.map((e) => e.timestamp),
      [50],
    );
    assert.deepEqual(
      store.entries({ to: 9 }).entries.map((e) => e.timestamp),
      [],
    );
    store.close();
  });

  test('limit: 100 by default, at most 1000, and a page that ends the list has no cursor', () => {
    const store = fresh();
    store.ingest(
      null,
      Array.from({ length: 1200 }, (_, i) => makeEntry(i)),
      [],
    );
    assert.equal(store.entries({}).entries.length, 100);
    const big = store.entries({ limit: 5000 });
    assert.equal(big.entries.length, 1000);
    assert.ok(big.cursor);
    const rest = store.entries({ limit: 1000, cursor: big.cursor });
    assert.equal(rest.entries.length, 200);
    assert.equal(rest.cursor, null);
    assert.throws(() => store.entries({ limit: 0 }), { code: 'bad-argument' });
    store.close();
  });

  test('a cursor the store did not hand out is refused', () => {
    const store = fresh();
    store.ingest(null, [makeEntry(1), makeEntry(2)], [makeConnectionLike()]);
    const connCursor = store.connections({ limit: 1 }).cursor;
    assert.ok(connCursor === null || typeof connCursor === 'string');
    for (const bad of [
      'nope',
      '',
      Buffer.from('e:1:x').toString('base64url'),
      Buffer.from('c:1:1').toString('base64url'),
    ])
      assert.throws(() => store.entries({ cursor: bad }), { code: 'bad-cursor' });
    store.close();
  });
});

function makeConnectionLike() {
  return {
    type: 'connection' as const,
    id: 1,
    src: { ip: '10.0.0.1', port: 1 },
    dst: { ip: '10.0.0.2', port: 2 },
    ipVersion: 4,
    start: 1,
    end: 2,
    durationMs: 0,
    closeReason: 'open' as const,
    closedBy: null,
    midstream: false,
    handshake: null,
    sent: { packets: 0, bytes: 0, wireBytes: 0, retransmissions: 0, outOfOrder: 0, gaps: 0, gapBytes: 0 },
    received: { packets: 0, bytes: 0, wireBytes: 0, retransmissions: 0, outOfOrder: 0, gaps: 0, gapBytes: 0 },
  };
}

describe('query plans', () => {
  const plan = (store: Store, sql: string, params: unknown[]) =>
    (
      store.db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT e.* FROM entries e LEFT JOIN entry_details d ON d.id = e.id WHERE ${sql} ORDER BY e.ts DESC, e.id DESC LIMIT 101`,
        )
        .all(...params) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join(' | ');

  test('an indexed filter reads its index in time order and never the detail table', () => {
    const store = fresh();
    seed3000(store);
    const t = store.sqlTarget;
    for (const [path, index] of [
      [['protocol'], 'entries_protocol'],
      [['src', 'name'], 'entries_src_name'],
      [['dst', 'name'], 'entries_dst_name'],
      [['src', 'namespace'], 'entries_src_ns'],
      [['dst', 'namespace'], 'entries_dst_ns'],
      [['status'], 'entries_status'],
    ] as const) {
      const p = plan(store, `${t.column(path)} = ?`, ['x']);
      assert.match(p, new RegExp(`SEARCH e USING INDEX ${index}`), p);
      assert.doesNotMatch(p, /entry_details|TEMP B-TREE/, p);
    }
    // Not indexed since schema version 2: walks the time index newest first, still with no sort.
    const method = plan(store, `${t.column(['method'])} = ?`, ['DELETE']);
    assert.match(method, /SCAN e USING INDEX entries_ts/, method);
    assert.doesNotMatch(method, /entry_details|TEMP B-TREE/, method);
    const window = plan(store, 'e.ts >= ? AND e.ts <= ?', [1, 2]);
    assert.match(window, /USING INDEX entries_ts/);
    const json = plan(store, `json_extract(${t.json}, '$.request.method') = ?`, ['GET']);
    assert.match(json, /SEARCH d USING INTEGER PRIMARY KEY/);
    store.close();
  });
});
