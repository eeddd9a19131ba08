/** `/api/connections` and `/api/servicemap` over a real store, against the records computed here. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionRecord } from '../../../src/flows/connection.js';
import { CAPTURE_NODES, get, type Json, type TestHub, testHub } from './fixture.js';

let hub: TestHub;
before(async () => {
  hub = await testHub();
});
after(async () => {
  await hub.close();
});

const key = (c: ConnectionRecord): string => `${c.node}|${c.id}|${c.start}`;

async function walk(url: string): Promise<ConnectionRecord[]> {
  const out: ConnectionRecord[] = [];
  let cursor: string | null = null;
  do {
    const r = await get(hub.app, cursor ? `${url}&cursor=${encodeURIComponent(cursor)}` : url);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.connections);
    cursor = r.body.cursor;
  } while (cursor !== null);
  return out;
}

describe('connections', () => {
  test('limit=4 walks every connection record exactly once, newest start first', async () => {
    const got = await walk('/api/connections?limit=4');
    assert.equal(got.length, hub.records.connections.length);
    assert.equal(new Set(got.map(key)).size, got.length);
    assert.deepEqual(new Set(got.map(key)), new Set(hub.records.connections.map(key)));
    for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]!.start >= got[i]!.start, 'newest first');
    // Records come back whole, as ingested.
    const byKey = new Map(hub.records.connections.map((c) => [key(c), c]));
    for (const c of got) assert.deepEqual(c, byKey.get(key(c)));
  });

  test('node selects one agent’s records', async () => {
    for (const node of Object.values(CAPTURE_NODES)) {
      const got = await walk(`/api/connections?limit=1000&node=${node}`);
      const expected = hub.records.connections.filter((c) => c.node === node);
      assert.ok(expected.length > 0);
      assert.deepEqual(got.map(key).sort(), expected.map(key).sort(), node);
    }
    assert.deepEqual((await get(hub.app, '/api/connections?node=nowhere')).body, {
      connections: [],
      cursor: null,
    });
  });

  test('a connection is in a window when its lifetime meets it', async () => {
    const starts = hub.records.connections.map((c) => c.start).sort((a, b) => a - b);
    const fromMs = Math.floor(starts[5]! / 1000);
    const toMs = Math.floor(starts[30]! / 1000);
    const got = await walk(`/api/connections?limit=7&from=${fromMs}&to=${toMs}`);
    const expected = hub.records.connections.filter((c) => c.end >= fromMs * 1000 && c.start <= toMs * 1000);
    assert.ok(expected.length > 0 && expected.length < hub.records.connections.length);
    assert.deepEqual(got.map(key).sort(), expected.map(key).sort());
  });

  test('an entries cursor is not a connections cursor', async () => {
    const e = await get(hub.app, '/api/entries?limit=1');
    const r = await get(hub.app, `/api/connections?cursor=${encodeURIComponent(e.body.cursor)}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'hub.bad_cursor');
  });
});

describe('service map', () => {
  /** Edge id -> entry count, from the records (no names here: nodes are IPs, DESIGN's fallback). */
  function edges(filter: (p: string) => boolean): Map<string, number> {
    const m = new Map<string, number>();
    for (const e of hub.records.entries) {
      if (!filter(e.protocol)) continue;
      const id = `${e.src.ip} -> ${e.dst.ip} (${e.protocol})`;
      m.set(id, (m.get(id) ?? 0) + 1);
    }
    return m;
  }

  test('every entry is counted on the edge of its client, server and protocol', async () => {
    const r = await get(hub.app, '/api/servicemap');
    assert.equal(r.status, 200);
    const got = new Map<string, number>(r.body.edges.map((e: Json) => [e.id, e.count]));
    assert.deepEqual(
      got,
      edges(() => true),
    );
    assert.equal(r.body.droppedEdges, 0);
    const served = new Map<string, number>(r.body.nodes.map((n: Json) => [n.id, n.entries.server]));
    for (const e of hub.records.entries) assert.ok((served.get(e.dst.ip) ?? 0) > 0, e.dst.ip);
  });

  test('q filters the entries the map is built from', async () => {
    const r = await get(hub.app, `/api/servicemap?q=${encodeURIComponent('redis or dns')}`);
    const got = new Map<string, number>(r.body.edges.map((e: Json) => [e.id, e.count]));
    assert.deepEqual(
      got,
      edges((p) => p === 'redis' || p === 'dns'),
    );
  });

  test('an empty window is empty lists, never null', async () => {
    const r = await get(hub.app, '/api/servicemap?from=0&to=1000');
    assert.deepEqual(r.body, { nodes: [], edges: [], droppedEdges: 0, droppedEntries: 0, partial: null });
  });

  test('maxEntries: the map of the newest entries, `partial` saying from when; out of range is 400', async () => {
    const newest = [...hub.records.entries].sort((a, b) => b.timestamp - a.timestamp);
    const r = await get(hub.app, '/api/servicemap?maxEntries=3');
    assert.equal(r.status, 200);
    assert.equal(r.body.partial.entries, 3);
    assert.equal(r.body.partial.from, newest[2]!.timestamp);
    const total = r.body.edges.reduce((n: number, e: Json) => n + (e.count as number), 0);
    assert.equal(total, 3);
    assert.equal((await get(hub.app, '/api/servicemap')).body.partial, null);
    assert.equal((await get(hub.app, '/api/servicemap?maxEntries=0')).status, 400);
    assert.equal((await get(hub.app, '/api/servicemap?maxEntries=99999999')).status, 400);
  });

  test('a bad query is 400 with its span', async () => {
    const q = 'redis and methd == "GET"';
    const r = await get(hub.app, `/api/servicemap?q=${encodeURIComponent(q)}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'query.unknown-field');
    assert.equal(q.slice(r.body.error.span.start, r.body.error.span.end), 'methd');
  });
});
