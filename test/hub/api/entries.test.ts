/**
 * `/api/entries` over a real store holding real entries (HTTP/1, Redis, DNS captures). What the API
 * returns is checked against the jsonl records filtered here by plain JavaScript, written from
 * DESIGN.md's field table, not by the query language.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { get, type Json, type TestHub, testHub } from './fixture.js';

let hub: TestHub;
before(async () => {
  hub = await testHub();
});
after(async () => {
  await hub.close();
});

/** Every page of `url` (which has no `cursor`), following the cursors. */
async function walk(url: string): Promise<{ entries: Json[]; pages: number }> {
  const entries: Json[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const r = await get(hub.app, cursor ? `${url}${sep}cursor=${encodeURIComponent(cursor)}` : url);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(Array.isArray(r.body.entries));
    assert.ok(r.body.cursor === null || typeof r.body.cursor === 'string');
    entries.push(...r.body.entries);
    cursor = r.body.cursor;
    pages++;
    assert.ok(pages < 10_000, 'the cursors loop');
  } while (cursor !== null);
  return { entries, pages };
}

/** The store's order: newest first, ties by ingest order, later first. */
function newestFirst(list: readonly Entry[]): Entry[] {
  const order = new Map(hub.records.entries.map((e, i) => [e.id, i]));
  return [...list].sort((a, b) => b.timestamp - a.timestamp || order.get(b.id)! - order.get(a.id)!);
}

const ids = (list: readonly { localId?: string; id: string }[]): string[] =>
  list.map((e) => (e.localId !== undefined ? e.localId : e.id));

describe('pagination', () => {
  test('limit=7 walks every stored entry exactly once, newest first', async () => {
    const { entries, pages } = await walk('/api/entries?limit=7');
    const total = hub.records.entries.length;
    assert.ok(total > 250, `${total} entries`);
    assert.equal(pages, Math.ceil(total / 7));
    assert.equal(new Set(entries.map((e) => e.id)).size, total, 'no entry twice');
    assert.deepEqual(ids(entries), ids(newestFirst(hub.records.entries)));
  });

  test('the default page is 100; limit is checked against 1..1000', async () => {
    assert.equal((await get(hub.app, '/api/entries')).body.entries.length, 100);
    for (const bad of ['0', '1001', 'ten', '-1', '2.5']) {
      const r = await get(hub.app, `/api/entries?limit=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'hub.bad_parameter');
      assert.match(r.body.error.message, /limit/);
    }
  });

  test('summaries carry no request or response; the entry by id has them as captured', async () => {
    const r = await get(hub.app, '/api/entries?limit=1000');
    const byLocal = new Map(hub.records.entries.map((e) => [e.id, e]));
    for (const s of r.body.entries) {
      assert.equal('request' in s, false);
      assert.equal('response' in s, false);
    }
    for (const s of r.body.entries.filter((_: unknown, i: number) => i % 17 === 0)) {
      const full = await get(hub.app, `/api/entries/${encodeURIComponent(s.id)}`);
      assert.equal(full.status, 200);
      const original = byLocal.get(s.localId)!;
      assert.deepEqual(
        { ...full.body, id: original.id, localId: undefined },
        { ...original, localId: undefined },
      );
    }
  });
});

describe('filters agree with the records filtered in JavaScript', () => {
  const num = (v: unknown): v is number => typeof v === 'number';
  const cases: [string, (e: Entry) => boolean][] = [
    ['redis and method == "GET"', (e) => e.protocol === 'redis' && e.method === 'GET'],
    ['dns && path.endsWith(".net")', (e) => e.protocol === 'dns' && e.path.endsWith('.net')],
    [
      'http and dst.port == 41547 and path startsWith "/W"',
      (e) => e.protocol === 'http' && e.dst.port === 41547 && e.path.startsWith('/W'),
    ],
    [
      'http and status >= 204 and status < 300',
      (e) => e.protocol === 'http' && num(e.status) && e.status >= 204 && e.status < 300,
    ],
    [
      'redis or (http and method == "HEAD")',
      (e) => e.protocol === 'redis' || (e.protocol === 'http' && e.method === 'HEAD'),
    ],
    ['not dns and elapsedMs > 20', (e) => e.protocol !== 'dns' && num(e.elapsedMs) && e.elapsedMs > 20],
    ['http && path.matches("^/(WAN|L3F)")', (e) => e.protocol === 'http' && /^\/(WAN|L3F)/.test(e.path)],
    ['node == "node-dns" and src.ip contains ":"', (e) => e.node === 'node-dns' && e.src.ip.includes(':')],
  ];
  for (const [query, reference] of cases)
    test(query, async () => {
      const expected = newestFirst(hub.records.entries.filter(reference));
      assert.ok(expected.length > 0, 'the reference selects something');
      assert.ok(expected.length < hub.records.entries.length, 'the reference leaves something out');
      const { entries } = await walk(`/api/entries?limit=9&q=${encodeURIComponent(query)}`);
      assert.deepEqual(ids(entries), ids(expected));
    });

  test('an empty q is every entry', async () => {
    const r = await get(hub.app, '/api/entries?q=&limit=1000');
    assert.equal(r.body.entries.length, hub.records.entries.length);
  });
});

describe('time window', () => {
  test('epoch ms: from and to inclusive, to the millisecond', async () => {
    const sorted = [...hub.records.entries].sort((a, b) => a.timestamp - b.timestamp);
    const fromMs = Math.floor(sorted[40]!.timestamp / 1000);
    const toMs = Math.floor(sorted[200]!.timestamp / 1000);
    const expected = newestFirst(
      hub.records.entries.filter((e) => e.timestamp >= fromMs * 1000 && e.timestamp <= toMs * 1000),
    );
    const { entries } = await walk(`/api/entries?limit=50&from=${fromMs}&to=${toMs}`);
    assert.deepEqual(ids(entries), ids(expected));
  });

  test('RFC 3339 to the microsecond: from = an entry’s timestamp includes it, one µs later excludes it', async () => {
    const e = hub.records.entries.find((x) => x.protocol === 'redis')!;
    const rfc = (us: number): string =>
      `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
    const at = await walk(
      `/api/entries?limit=1000&from=${encodeURIComponent(rfc(e.timestamp))}&to=${encodeURIComponent(rfc(e.timestamp))}`,
    );
    assert.ok(ids(at.entries).includes(e.id));
    assert.ok(at.entries.every((x) => x.timestamp === e.timestamp));
    const later = await walk(
      `/api/entries?limit=1000&from=${encodeURIComponent(rfc(e.timestamp + 1))}&to=${encodeURIComponent(rfc(e.timestamp + 1))}`,
    );
    assert.ok(!ids(later.entries).includes(e.id));
  });

  test('a filter and a window together', async () => {
    const sorted = [...hub.records.entries].sort((a, b) => a.timestamp - b.timestamp);
    const fromMs = Math.floor(sorted[10]!.timestamp / 1000);
    const expected = newestFirst(
      hub.records.entries.filter((e) => e.protocol === 'dns' && e.timestamp >= fromMs * 1000),
    );
    const { entries } = await walk(`/api/entries?limit=6&q=dns&from=${fromMs}`);
    assert.deepEqual(ids(entries), ids(expected));
  });
});

describe('errors', () => {
  test('a bad query is 400 with the query language’s code, message and span (pointing at the text)', async () => {
    const q = 'http and dst.nmae == "web"';
    const r = await get(hub.app, `/api/entries?q=${encodeURIComponent(q)}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'query.unknown-field');
    assert.match(r.body.error.message, /dst\.name/, 'names the closest field');
    assert.equal(q.slice(r.body.error.span.start, r.body.error.span.end), 'dst.nmae');

    const syntax = 'http and (status >= 500';
    const s = await get(hub.app, `/api/entries?q=${encodeURIComponent(syntax)}`);
    assert.equal(s.status, 400);
    assert.equal(s.body.error.code, 'query.syntax');
    // The missing `)` is blamed where it should be: at the end of the text.
    assert.equal(s.body.error.span.start, syntax.length);
    assert.match(s.body.error.message, /\)/);
  });

  test('unknown ids are 404 hub.entry_not_found', async () => {
    for (const id of ['999999', 'node-http%2F1-1', 'abc', '0']) {
      const r = await get(hub.app, `/api/entries/${id}`);
      assert.equal(r.status, 404, id);
      assert.equal(r.body.error.code, 'hub.entry_not_found');
    }
  });

  test('bad times, windows and cursors', async () => {
    const cases: [string, string][] = [
      ['/api/entries?from=yesterday', 'hub.bad_time'],
      ['/api/entries?to=2026-02-30T00:00:00Z', 'hub.bad_time'],
      ['/api/entries?from=1764752400000000', 'hub.bad_time'],
      ['/api/entries?from=2000&to=1000', 'hub.bad_window'],
      ['/api/entries?cursor=nonsense', 'hub.bad_cursor'],
      ['/api/entries?q=a&q=b', 'hub.bad_parameter'],
    ];
    for (const [url, code] of cases) {
      const r = await get(hub.app, url);
      assert.equal(r.status, 400, url);
      assert.equal(r.body.error.code, code, url);
      assert.equal(typeof r.body.error.message, 'string');
    }
    // A connections cursor is not an entries cursor.
    const c = await get(hub.app, '/api/connections?limit=1');
    const r = await get(hub.app, `/api/entries?cursor=${encodeURIComponent(c.body.cursor)}`);
    assert.equal(r.body.error.code, 'hub.bad_cursor');
  });

  test('unknown routes under /api answer the catalogue’s JSON', async () => {
    const r = await get(hub.app, '/api/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'hub.not_found');
    const del = await hub.app.inject({ method: 'DELETE', url: '/api/entries' });
    assert.equal(del.statusCode, 404);
    assert.equal(JSON.parse(del.body).error.code, 'hub.not_found');
  });

  test('a plain GET of the stream is 426 hub.upgrade_required', async () => {
    const r = await hub.app.inject({ method: 'GET', url: '/api/stream' });
    assert.equal(r.statusCode, 426);
    assert.equal(r.headers.upgrade, 'websocket');
    assert.equal(JSON.parse(r.body).error.code, 'hub.upgrade_required');
  });
});
