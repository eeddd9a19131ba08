/**
 * Writing to the store and reading back: real entries of the captures come back field for field
 * (summaries from the narrow table, the whole entry from the detail JSON), the query compiler's
 * view (`sqlTarget`) agrees with the JSON on every column, a replayed batch is refused by the
 * agent's watermark, connection records are upserted to their latest version, and ids are never
 * reused.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/dissect/entry.js';
import { Store, StoreError } from '../../src/store/index.js';
import { realRecords, tempDir } from './fixtures.js';
import { asJson, makeConnection, makeEntry } from './records.js';

const dir = tempDir();
let n = 0;
const fresh = (opts: { bodyCap?: number } = {}) => Store.open({ path: join(dir, `s${n++}.db`), ...opts });

/** What the store promises to hand back for `e` stored under hub id `id`. */
function expected(e: Entry, id: string) {
  return { ...asJson(e), id, localId: e.id };
}

describe('round trip of real entries', async () => {
  const { entries, connections } = await realRecords();

  test('the captures give entries of many protocols to work with', () => {
    const protocols = new Set(entries.map((e) => e.protocol));
    for (const p of ['http', 'redis', 'tls', 'dns', 'postgres', 'grpc', 'mqtt'])
      assert.ok(protocols.has(p as never), p);
    assert.ok(entries.length > 100);
  });

  test('entry(id) is the entry, with the hub id and the agent id as localId', () => {
    const store = fresh();
    assert.equal(store.ingest({ agent: 'node-a', seq: 1 }, entries, connections), true);
    const page = store.entries({ limit: 1000 });
    assert.equal(page.entries.length, entries.length);
    // Ids are handed out in batch order from 1: the ith entry is id i+1.
    entries.forEach((e, i) => {
      assert.deepEqual(store.entry(String(i + 1)), expected(e, String(i + 1)));
    });
    store.close();
  });

  test('entries() summaries are the entries without request and response', () => {
    const store = fresh();
    store.ingest(null, entries, []);
    const byId = new Map(store.entries({ limit: 1000 }).entries.map((s) => [s.id, s]));
    entries.forEach((e, i) => {
      const { request: _q, response: _r, ...summary } = expected(e, String(i + 1));
      assert.deepEqual(byId.get(String(i + 1)), summary);
    });
    store.close();
  });

  test('sqlTarget: every column equals json_extract of the JSON, with the same JSON type', () => {
    const store = fresh();
    store.ingest(null, entries, []);
    const t = store.sqlTarget;
    const paths = [
      ['id'],
      ['protocol'],
      ['timestamp'],
      ['elapsedMs'],
      ['method'],
      ['path'],
      ['status'],
      ['requestSize'],
      ['responseSize'],
      ['connectionId'],
      ['node'],
      ['error'],
      ['localId'],
      ['src', 'ip'],
      ['src', 'port'],
      ['src', 'name'],
      ['dst', 'ip'],
      ['dst', 'port'],
      ['dst', 'namespace'],
    ];
    const kind = (t: string) => (t === 'integer' || t === 'real' ? 'number' : t);
    for (const p of paths) {
      const col = t.column(p);
      assert.ok(col, p.join('.'));
      const rows = store.db
        .prepare(
          `SELECT ${col} AS a, typeof(${col}) AS ta, json_extract(${t.json}, '$.${p.join('.')}') AS b,
             json_type(${t.json}, '$.${p.join('.')}') AS tb
           FROM entries e LEFT JOIN entry_details d ON d.id = e.id`,
        )
        .all() as { a: unknown; ta: string; b: unknown; tb: string | null }[];
      assert.equal(rows.length, entries.length);
      for (const r of rows) {
        assert.equal(r.a, r.b, p.join('.'));
        const jsonKind =
          r.tb === null || r.tb === 'null' ? 'null' : r.tb === 'integer' || r.tb === 'real' ? 'number' : r.tb;
        assert.equal(kind(r.ta), jsonKind, `${p.join('.')}: ${r.ta} vs ${r.tb}`);
      }
    }
    assert.equal(t.column(['request', 'headers']), null);
    assert.equal(t.column(['constructor']), null);
    store.close();
  });

  test('a where clause on the JSON reaches request fields', () => {
    const store = fresh();
    store.ingest(null, entries, []);
    const want = entries.filter((e) => e.protocol === 'redis' && e.request.command === 'GET').length;
    assert.ok(want > 0);
    const got = store.entries({
      where: {
        sql: `${store.sqlTarget.column(['protocol'])} = ? AND json_extract(${store.sqlTarget.json}, '$.request.command') = ?`,
        params: ['redis', 'GET'],
      },
      limit: 1000,
    });
    assert.equal(got.entries.length, want);
    store.close();
  });
});

describe('batches', () => {
  test('a replayed batch (seq <= watermark) writes nothing and returns false', () => {
    const store = fresh();
    assert.equal(store.watermark('node-a'), 0);
    assert.equal(store.ingest({ agent: 'node-a', seq: 1 }, [makeEntry(1)], [makeConnection(1, 1, 2)]), true);
    assert.equal(store.ingest({ agent: 'node-a', seq: 2 }, [makeEntry(2), makeEntry(3)], []), true);
    assert.equal(store.watermark('node-a'), 2);
    assert.equal(store.ingest({ agent: 'node-a', seq: 2 }, [makeEntry(4)], [makeConnection(9, 1, 2)]), false);
    assert.equal(store.ingest({ agent: 'node-a', seq: 1 }, [makeEntry(5)], []), false);
    assert.deepEqual(
      store.entries({}).entries.map((e) => e.timestamp),
      [3, 2, 1],
    );
    assert.equal(store.stats().connections, 1);
    // Another agent has its own sequence; a gap in seq is accepted (the agent numbers, the hub follows).
    assert.equal(store.ingest({ agent: 'node-b', seq: 1 }, [makeEntry(6)], []), true);
    assert.equal(store.ingest({ agent: 'node-a', seq: 7 }, [makeEntry(7)], []), true);
    assert.equal(store.watermark('node-a'), 7);
    assert.equal(store.watermark('node-b'), 1);
    assert.deepEqual(store.stats().agents, 2);
    assert.throws(() => store.ingest({ agent: 'node-a', seq: 0 }, [], []), { code: 'bad-argument' });
    assert.throws(() => store.ingest({ agent: '', seq: 1 }, [], []), { code: 'bad-argument' });
    store.close();
  });

  test('the watermark survives reopening', () => {
    const path = join(dir, 'wm.db');
    const a = Store.open({ path });
    a.ingest({ agent: 'node-a', seq: 41 }, [makeEntry(1)], []);
    a.close();
    const b = Store.open({ path });
    assert.equal(b.watermark('node-a'), 41);
    assert.equal(b.ingest({ agent: 'node-a', seq: 41 }, [makeEntry(2)], []), false);
    assert.equal(b.stats().entries, 1);
    b.close();
  });

  test('malformed records are skipped and counted; the rest of the batch is stored', () => {
    const store = fresh();
    const bad = [
      { ...makeEntry(1), timestamp: Number.NaN },
      { ...makeEntry(2), src: null },
      { ...makeEntry(3), protocol: undefined },
      null,
      // Each would make a column disagree with the JSON, or a STRICT column refuse the batch.
      { ...makeEntry(4), requestSize: 1.5 },
      { ...makeEntry(5), status: true },
      { ...makeEntry(6), dst: { ip: '10.0.0.2', port: 80, name: 7 } },
      { ...makeEntry(7), connectionId: '3' },
      { ...makeEntry(8), elapsedMs: Number.POSITIVE_INFINITY },
    ] as unknown as Entry[];
    assert.equal(store.ingest(null, [makeEntry(10), ...bad, makeEntry(11)], [{ id: 'x' } as never]), true);
    assert.equal(store.stats().entries, 2);
    assert.equal(store.stats().rejected, 10);
    store.close();
  });

  test('a failing batch rolls back whole and leaves no gap in what is counted', () => {
    const store = fresh();
    store.ingest(null, [makeEntry(1)], []);
    // A value JSON cannot carry: the detail JSON throws after the summary row was written.
    const cyclic = makeEntry(2) as Entry & { self?: unknown };
    cyclic.self = cyclic;
    assert.throws(() => store.ingest({ agent: 'a', seq: 1 }, [makeEntry(3), cyclic], []), TypeError);
    assert.equal(store.watermark('a'), 0);
    assert.equal(store.stats().entries, 1);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n, 1);
    store.ingest(null, [makeEntry(4)], []);
    assert.deepEqual(
      store.entries({}).entries.map((e) => [e.id, e.timestamp]),
      [
        ['2', 4],
        ['1', 1],
      ],
    );
    store.close();
  });

  test('bodyCap cuts long strings under request/response and says so; the caller keeps its entry', () => {
    const store = fresh({ bodyCap: 1000 });
    const body = 'x'.repeat(5000);
    const b64 = 'QUJD'.repeat(500);
    const e = makeEntry(1, {
      response: { status: 200, body, bodyEncoding: 'utf8', bodyTruncated: false, parts: ['y'.repeat(3000)] },
      request: { body: b64, bodyEncoding: 'base64', note: 'short' },
    });
    store.ingest(null, [e], []);
    const got = store.entry('1')!;
    assert.equal((got.response!.body as string).length, 1000);
    assert.equal(got.response!.bodyTruncated, true);
    assert.equal((got.response!.parts as string[])[0]!.length, 1000);
    // 1000 bytes of base64 are 1332 characters (333 groups of 4, decodable).
    assert.equal((got.request.body as string).length, 1332);
    assert.equal(Buffer.from(got.request.body as string, 'base64').toString(), 'ABC'.repeat(333));
    assert.equal(got.request.bodyTruncated, true);
    assert.equal(got.request.note, 'short');
    assert.equal(e.response!.body, body);
    assert.equal(e.response!.bodyTruncated, false);
    store.close();
  });
});

describe('connections', () => {
  test('a record sent again (open snapshots, then the final one) is one row, the latest', () => {
    const store = fresh();
    store.ingest(null, [], [makeConnection(7, 100, 200, { node: 'n1' })]);
    store.ingest(null, [], [makeConnection(7, 100, 300, { node: 'n1' })]);
    store.ingest(
      null,
      [],
      [makeConnection(7, 100, 400, { node: 'n1', closeReason: 'fin', closedBy: 'src' })],
    );
    // A stale snapshot arriving late does not undo the final record.
    store.ingest(null, [], [makeConnection(7, 100, 250, { node: 'n1' })]);
    // The same connection id on another node, or a later connection reusing the id, is another record.
    store.ingest(
      null,
      [],
      [makeConnection(7, 100, 150, { node: 'n2' }), makeConnection(7, 500, 600, { node: 'n1' })],
    );
    assert.equal(store.stats().connections, 3);
    const all = store.connections({}).connections;
    assert.deepEqual(
      all.map((c) => [c.node, c.id, c.start, c.end, c.closeReason]),
      [
        ['n1', 7, 500, 600, 'open'],
        ['n2', 7, 100, 150, 'open'],
        ['n1', 7, 100, 400, 'fin'],
      ],
    );
    assert.deepEqual(
      store.connections({ node: 'n1' }).connections.map((c) => c.start),
      [500, 100],
    );
    // Lifetime overlap with [from, to].
    assert.deepEqual(
      store.connections({ from: 350, to: 450 }).connections.map((c) => c.end),
      [400],
    );
    assert.deepEqual(
      store.connectionsSeen(150, 400).map((c) => c.end),
      [400, 150],
    );
    assert.deepEqual(
      store.connectionsSeen(0, 1000, 1).map((c) => c.end),
      [600],
    );
    store.close();
  });

  test('connections() pages by cursor without repeats', () => {
    const store = fresh();
    const recs = Array.from({ length: 250 }, (_, i) => makeConnection(i + 1, 1000 + (i % 37), 5000));
    store.ingest(null, [], recs);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = store.connections({ limit: 40, ...(cursor ? { cursor } : {}) });
      seen.push(...page.connections.map((c) => c.id));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    assert.equal(seen.length, 250);
    assert.equal(new Set(seen).size, 250);
    store.close();
  });
});

describe('ids and saved queries', () => {
  test('ids are never reused, even when retention emptied the store', () => {
    const path = join(dir, 'ids.db');
    const a = Store.open({ path, maxAgeMs: 1 });
    a.ingest(null, [makeEntry(1), makeEntry(2)], []);
    assert.deepEqual(a.retention(1_000_000_000), { entries: 2, connections: 0 });
    a.ingest(null, [makeEntry(3)], []);
    assert.deepEqual(
      a.entries({}).entries.map((e) => e.id),
      ['3'],
    );
    a.retention(1_000_000_000);
    a.close();
    const b = Store.open({ path });
    b.ingest(null, [makeEntry(4)], []);
    assert.deepEqual(
      b.entries({}).entries.map((e) => e.id),
      ['4'],
    );
    assert.equal(b.entry('1'), null);
    assert.equal(b.entry('x'), null);
    assert.equal(b.entry('04'), null);
    b.close();
  });

  test('saved queries are kept by name, replaced, listed and deleted', () => {
    const store = fresh();
    store.saveQuery('errors', 'http and status >= 500');
    store.saveQuery('dns', 'dns');
    store.saveQuery('errors', 'status >= 500');
    const list = store.savedQueries();
    assert.deepEqual(
      list.map((q) => [q.name, q.text]),
      [
        ['dns', 'dns'],
        ['errors', 'status >= 500'],
      ],
    );
    assert.ok(list.every((q) => Math.abs(q.savedAt - Date.now()) < 60_000));
    assert.equal(store.deleteQuery('dns'), true);
    assert.equal(store.deleteQuery('dns'), false);
    assert.throws(() => store.saveQuery('', 'x'), StoreError);
    assert.throws(() => store.saveQuery('big', 'x'.repeat(10_001)), { code: 'bad-argument' });
    store.close();
    assert.throws(() => store.savedQueries(), /closed/);
  });
});
