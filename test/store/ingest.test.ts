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
import { invalidEntry } from '../../src/store/entry-rows.js';
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

describe('the detail JSON keeps what the columns do not', async () => {
  const { entries } = await realRecords();
  /** The whole entry as the query compiler's JSON expression (sqlTarget.json) gives it, by hub id. */
  const sqlJson = (store: Store, id: string) =>
    JSON.parse(
      (
        store.db
          .prepare(
            `SELECT ${store.sqlTarget.json} AS j FROM entries e LEFT JOIN entry_details d ON d.id = e.id WHERE e.id = ?`,
          )
          .get(Number(id)) as { j: string }
      ).j,
    ) as unknown;
  /** The keys of the detail JSON as stored (in the detail log), the id of a whole one included. */
  const detailKeys = (store: Store, id: string) =>
    Object.keys(
      JSON.parse(
        (
          store.db
            .prepare(
              'SELECT podwire_detail(detail_seg, detail_off, detail_len, detail_whole, id) AS json FROM entries WHERE id = ?',
            )
            .get(Number(id)) as { json: string }
        ).json,
      ) as object,
    ).sort();

  test('an ordinary entry: request and response only; sqlTarget.json is still the whole entry', () => {
    const store = fresh();
    store.ingest(null, entries, []);
    entries.forEach((e, i) => {
      const id = String(i + 1);
      assert.deepEqual(detailKeys(store, id), ['request', 'response'], e.id);
      assert.deepEqual(sqlJson(store, id), expected(e, id), e.id);
    });
    store.close();
  });

  test('an entry the columns cannot give back exactly keeps its whole JSON, and comes back as sent', () => {
    const store = fresh();
    const odd: Entry[] = [
      // An endpoint with fields of its own (GeoIP of an outside address), another with a null name.
      makeEntry(1, {
        id: 'o-1',
        dst: { ip: '203.0.113.9', port: 443, name: 'example.org', kind: 'external', country: 'NL' } as never,
        src: { ip: '10.0.0.1', port: 4000, name: null } as never,
      }),
      // A null node (absent and null differ in JSON).
      { ...makeEntry(2, { id: 'o-2' }), node: null } as never,
      // A field no column holds: the detail keeps it, and stays slim.
      { ...makeEntry(3, { id: 'o-3', node: 'node-1' }), streaming: 'unary' } as never,
      // A node, and an endpoint with every name.
      makeEntry(4, {
        id: 'o-4',
        src: { ip: '10.0.0.3', port: 1, name: 'p', namespace: 'ns', kind: 'pod', workload: 'w', node: 'n' },
      }),
    ];
    store.ingest(null, odd, []);
    const whole = store.db
      .prepare('SELECT detail_whole AS w FROM entries ORDER BY id')
      .all()
      .map((r) => (r as { w: number }).w);
    assert.deepEqual(whole, [1, 1, 0, 0]);
    assert.deepEqual(detailKeys(store, '2'), Object.keys(expected(odd[1]!, '2')).sort());
    assert.deepEqual(detailKeys(store, '3'), ['request', 'response', 'streaming']);
    assert.deepEqual(detailKeys(store, '4'), ['request', 'response']);
    odd.forEach((e, i) => {
      const id = String(i + 1);
      assert.deepEqual(store.entry(id), expected(e, id), e.id);
      assert.deepEqual(sqlJson(store, id), expected(e, id), e.id);
    });
    // The query compiler's paths into the JSON reach them.
    const pick = (path: string) =>
      store.db
        .prepare(
          `SELECT CAST(e.id AS TEXT) AS id FROM entries e LEFT JOIN entry_details d ON d.id = e.id
           WHERE json_type(${store.sqlTarget.json}, ?) IS NOT NULL ORDER BY e.id`,
        )
        .all(path)
        .map((r) => (r as { id: string }).id);
    assert.deepEqual(pick('$.dst.country'), ['1']);
    assert.deepEqual(pick('$.streaming'), ['3']);
    assert.deepEqual(pick('$.node'), ['2', '3'], 'node: null is there, an absent node is not');
    assert.deepEqual(pick('$.src.name'), ['1', '4']);
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
      // Every name column of either endpoint is held to text.
      { ...makeEntry(12), src: { ip: '10.0.0.1', port: 1, namespace: 5 } },
      { ...makeEntry(13), src: { ip: '10.0.0.1', port: 1, kind: false } },
      { ...makeEntry(14), dst: { ip: '10.0.0.2', port: 80, workload: {} } },
      { ...makeEntry(15), dst: { ip: '10.0.0.2', port: 80, node: ['n'] } },
    ] as unknown as Entry[];
    assert.equal(store.ingest(null, [makeEntry(10), ...bad, makeEntry(11)], [{ id: 'x' } as never]), true);
    assert.equal(store.stats().entries, 2);
    assert.equal(store.stats().rejected, 14);
    store.close();
  });

  test('why an entry is refused names the field', () => {
    const why = (e: unknown) => invalidEntry(e as Entry);
    assert.equal(why(makeEntry(1)), null);
    assert.equal(
      why({ ...makeEntry(1), src: { ip: '10.0.0.1', port: 1, kind: 3 } }),
      'src.kind is not a string',
    );
    assert.equal(
      why({ ...makeEntry(1), dst: { ip: '10.0.0.1', port: 1, node: 3 } }),
      'dst.node is not a string',
    );
    assert.equal(why({ ...makeEntry(1), dst: { ip: 1, port: 1 } }), 'dst is not an endpoint {ip, port}');
    // null and absent names are both fine (a null name makes the detail whole, tested above).
    assert.equal(why({ ...makeEntry(1), src: { ip: '10.0.0.1', port: 1, name: null } }), null);
  });

  test('an integral status is stored as an integer, small or large, and a fraction as a real', () => {
    const store = fresh();
    const statuses = [0, 200, 1023, 1024, 2 ** 40, -1, 2.5];
    store.ingest(
      null,
      statuses.map((status, i) => makeEntry(i + 1, { status })),
      [],
    );
    const rows = store.db.prepare('SELECT status, typeof(status) AS t FROM entries ORDER BY id').all();
    assert.deepEqual(
      rows,
      statuses.map((status) => ({ status, t: Number.isInteger(status) ? 'integer' : 'real' })),
    );
    store.close();
  });

  test('a failing batch rolls back whole and leaves no gap in what is counted', () => {
    const store = fresh();
    store.ingest(null, [makeEntry(1)], []);
    // A value JSON cannot carry: the detail JSON throws after the summary row was written.
    const cyclic = makeEntry(2) as Entry & { self?: unknown };
    cyclic.self = cyclic;
    const ids: (string | null)[] = ['stale'];
    assert.throws(() => store.ingest({ agent: 'a', seq: 1 }, [makeEntry(3), cyclic], [], ids), TypeError);
    assert.deepEqual(ids, []);
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

  test('ingestBatches: several agents in one transaction, each batch as ingest() would store it', () => {
    const store = fresh();
    store.ingest({ agent: 'b', seq: 4 }, [makeEntry(1)], []);
    const ids = [[], [], [], [], []] as (string | null)[][];
    const results = store.ingestBatches([
      {
        source: { agent: 'a', seq: 1 },
        entries: [makeEntry(10), makeEntry(11)],
        connections: [],
        ids: ids[0],
      },
      // A replay (b is at 4): nothing of it is written, its ids stay empty.
      { source: { agent: 'b', seq: 4 }, entries: [makeEntry(12)], connections: [], ids: ids[1] },
      {
        source: { agent: 'b', seq: 5 },
        entries: [makeEntry(13)],
        connections: [makeConnection(1, 1, 2)],
        ids: ids[2],
      },
      // The same agent twice in one call: in order, the second sees the first's watermark.
      {
        source: { agent: 'a', seq: 2 },
        entries: [{ ...makeEntry(14), timestamp: 'x' } as never, makeEntry(15)],
        connections: [],
        ids: ids[3],
      },
      { source: { agent: 'a', seq: 2 }, entries: [makeEntry(16)], connections: [], ids: ids[4] },
    ]);
    assert.deepEqual(results, [true, false, true, true, false]);
    assert.deepEqual(ids, [['2', '3'], [], ['4'], [null, '5'], []]);
    assert.equal(store.watermark('a'), 2);
    assert.equal(store.watermark('b'), 5);
    assert.deepEqual(
      store.entries({}).entries.map((e) => [e.id, e.timestamp]),
      [
        ['5', 15],
        ['4', 13],
        ['3', 11],
        ['2', 10],
        ['1', 1],
      ],
    );
    assert.equal(store.stats().rejected, 1);
    assert.equal(store.stats().connections, 1);
    assert.deepEqual(store.ingestBatches([]), []);
    store.close();
  });

  test('ingestBatches: a failing batch rolls back every batch of the call; their ids are emptied', () => {
    const store = fresh();
    const cyclic = makeEntry(2) as Entry & { self?: unknown };
    cyclic.self = cyclic;
    const first: (string | null)[] = [];
    const second: (string | null)[] = [];
    assert.throws(
      () =>
        store.ingestBatches([
          {
            source: { agent: 'a', seq: 1 },
            entries: [makeEntry(1)],
            connections: [makeConnection(1, 1, 2)],
            ids: first,
          },
          { source: { agent: 'b', seq: 1 }, entries: [makeEntry(3), cyclic], connections: [], ids: second },
        ]),
      TypeError,
    );
    assert.deepEqual([first, second], [[], []]);
    assert.equal(store.watermark('a'), 0);
    assert.equal(store.watermark('b'), 0);
    assert.deepEqual(store.stats(), { ...store.stats(), entries: 0, connections: 0, rejected: 0 });
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM entry_details').get() as { n: number }).n, 0);
    // A bad source anywhere refuses the call before anything is written.
    assert.throws(
      () =>
        store.ingestBatches([
          { source: { agent: 'a', seq: 1 }, entries: [makeEntry(1)], connections: [] },
          { source: { agent: 'a', seq: 0 }, entries: [], connections: [] },
        ]),
      { code: 'bad-argument' },
    );
    assert.equal(store.watermark('a'), 0);
    // Afterwards ids continue from where they were.
    const ids: (string | null)[] = [];
    store.ingest(null, [makeEntry(5)], [], ids);
    assert.deepEqual(ids, ['1']);
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
