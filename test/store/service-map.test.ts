/**
 * The service map against numbers computed here, independently, from the same jsonl that
 * `bin/podwire analyze --format jsonl` prints: nodes keyed as docs/store.md says, per-edge counts,
 * errors by the per-protocol rules as docs/store.md states them (written out again below, not
 * imported), bytes, and latency percentiles within 1% of the exact nearest-rank value.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry, EntryEndpoint } from '../../src/dissect/entry.js';
import { isErrorEntry, Store } from '../../src/store/index.js';
import { buildServiceMap, LatencyHistogram, type ServiceMapRow } from '../../src/store/service-map.js';
import { jsonlRecords, tempDir } from './fixtures.js';

const CAPTURES = [
  'amqp/deepflow__amqp-error.pcap',
  'postgresql/suricata-verify__pgsql-simple-query-rollback.pcap',
  'postgresql/nDPI__pgsql.pcap',
  'mysql/zeek__caching_sha2_password.pcap',
  'dns/nDPI__dns_fragmented.pcap',
  'nats/deepflow__nats-err.pcap',
  'http1/zeek__bro.org.pcap',
  'redis/zeek__django-cloud.pcapng',
  'websocket/zeek__reply-ping-coalesced.pcap',
  'mqtt/suricata-verify__mqtt5-pub-mosquittoprops.pcap',
  'grpc/gRPC-Go-for-Professionals__Unary.pcapng',
  'tls/ja4__tls3.pcapng',
];

/** docs/store.md's error rules, as a reader of that table would write them. */
function referenceError(e: Entry): boolean {
  const s = e.status;
  switch (e.protocol) {
    case 'http':
    case 'graphql':
      return typeof s === 'number' && s >= 500;
    case 'grpc':
      return typeof s === 'number' && s !== 0;
    case 'websocket':
      return (
        typeof s === 'number' &&
        [1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015].includes(s)
      );
    case 'tls':
      return (e.response?.alert as { level?: string } | undefined)?.level === 'fatal';
    case 'dns':
      return typeof s === 'string' && !['NOERROR', 'NXDOMAIN'].includes(s);
    case 'redis':
      return s === 'ERROR';
    case 'postgres':
      return typeof s === 'string' && s.length === 5 && !['00', '01', '02'].includes(s.slice(0, 2));
    case 'mysql':
      return typeof s === 'number';
    case 'kafka':
      return typeof s === 'string' && s !== 'NONE';
    case 'amqp':
      return typeof s === 'number' && s >= 300;
    case 'mqtt':
      return typeof s === 'number' && (s >= 128 || (e.method === 'CONNECT' && s !== 0));
    case 'nats':
      return s === '-ERR';
  }
  return false;
}

function key(ep: EntryEndpoint): string {
  if (ep.name === undefined) return ep.ip;
  return `${ep.kind ?? 'unknown'}/${ep.namespace !== undefined ? `${ep.namespace}/` : ''}${ep.workload ?? ep.name}`;
}

function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/** Names some endpoints (as enrichment would) and turns some HTTP answers into 5xx. */
function dress(entries: Entry[]): Entry[] {
  let http = 0;
  return entries.map((e) => {
    const out = { ...e, src: { ...e.src }, dst: { ...e.dst } };
    if (e.protocol === 'redis') {
      Object.assign(out.src, { name: 'web-7d9f-x2k4p', namespace: 'shop', kind: 'pod', workload: 'web' });
      Object.assign(out.dst, { name: 'redis-0', namespace: 'cache', kind: 'pod', workload: 'redis' });
    }
    if (e.protocol === 'postgres') Object.assign(out.dst, { name: 'pg', namespace: 'db', kind: 'service' });
    if (e.protocol === 'dns') Object.assign(out.src, { name: 'node-1', kind: 'node' });
    if (e.protocol === 'http' && http++ % 4 === 0) out.status = 503;
    return out;
  });
}

interface RefEdge {
  count: number;
  errors: number;
  req: number;
  resp: number;
  lat: number[];
}

function reference(entries: Entry[]) {
  const edges = new Map<string, RefEdge>();
  const nodes = new Map<string, { client: number; server: number }>();
  for (const e of entries) {
    const k = `${key(e.src)} -> ${key(e.dst)} (${e.protocol})`;
    let r = edges.get(k);
    if (!r) {
      r = { count: 0, errors: 0, req: 0, resp: 0, lat: [] };
      edges.set(k, r);
    }
    r.count++;
    if (referenceError(e)) r.errors++;
    r.req += e.requestSize;
    r.resp += e.responseSize;
    if (e.elapsedMs !== null) r.lat.push(e.elapsedMs);
    for (const [id, role] of [
      [key(e.src), 'client'],
      [key(e.dst), 'server'],
    ] as const) {
      const n = nodes.get(id) ?? { client: 0, server: 0 };
      n[role]++;
      nodes.set(id, n);
    }
  }
  return { edges, nodes };
}

function assertMatches(store: Store, entries: Entry[], q: Parameters<Store['serviceMap']>[0]): void {
  const ref = reference(entries);
  const map = store.serviceMap(q);
  assert.equal(map.edges.length, ref.edges.size);
  assert.equal(map.droppedEdges, 0);
  for (const edge of map.edges) {
    const r = ref.edges.get(edge.id);
    assert.ok(r, `unexpected edge ${edge.id}`);
    assert.equal(edge.id, `${edge.source} -> ${edge.target} (${edge.protocol})`);
    assert.equal(edge.count, r.count, edge.id);
    assert.equal(edge.errors, r.errors, edge.id);
    assert.equal(edge.errorRate, r.errors / r.count, edge.id);
    assert.equal(edge.requestBytes, r.req, edge.id);
    assert.equal(edge.responseBytes, r.resp, edge.id);
    assert.equal(edge.latency.samples, r.lat.length, edge.id);
    if (r.lat.length === 0) {
      assert.deepEqual(edge.latency, { p50: null, p95: null, p99: null, samples: 0 });
      continue;
    }
    const sorted = [...r.lat].sort((a, b) => a - b);
    for (const p of [50, 95, 99] as const) {
      const exact = nearestRank(sorted, p);
      const got = edge.latency[`p${p}`]!;
      assert.ok(Math.abs(got - exact) <= exact * 0.01 + 0.0005, `${edge.id} p${p}: ${got} vs exact ${exact}`);
    }
  }
  assert.equal(map.nodes.length, ref.nodes.size);
  for (const n of map.nodes) assert.deepEqual(n.entries, ref.nodes.get(n.id), n.id);
}

describe('service map', () => {
  const raw = jsonlRecords(CAPTURES);
  const entries = dress(raw.entries);
  const store = Store.open({ path: join(tempDir(), 'map.db') });
  store.ingest(null, entries, raw.connections);

  test('the captures give errors of several protocols, named and unnamed endpoints', () => {
    const errorProtocols = new Set(entries.filter(referenceError).map((e) => e.protocol));
    for (const p of ['http', 'amqp', 'postgres', 'mysql', 'dns', 'nats'])
      assert.ok(errorProtocols.has(p as never), p);
    assert.ok(entries.some((e) => e.protocol === 'mqtt' && e.status === 16));
  });

  test('the whole store: nodes, edges, counts, errors, bytes and percentiles', () => {
    assertMatches(store, entries, {});
  });

  test('node ids and properties follow the documented form', () => {
    const map = store.serviceMap({});
    const byId = new Map(map.nodes.map((n) => [n.id, n]));
    assert.deepEqual(byId.get('pod/shop/web'), {
      id: 'pod/shop/web',
      name: 'web',
      namespace: 'shop',
      kind: 'pod',
      entries: byId.get('pod/shop/web')!.entries,
    });
    assert.equal(byId.get('pod/cache/redis')?.name, 'redis');
    assert.equal(byId.get('service/db/pg')?.kind, 'service');
    assert.equal(byId.get('node/node-1')?.namespace, null);
    const unnamed = map.nodes.find((n) => n.kind === null);
    assert.ok(unnamed && unnamed.id === unnamed.name && /^[\d.:a-f]+$/.test(unnamed.id));
  });

  test('a time window and a filter select the entries they say', () => {
    const times = entries.map((e) => e.timestamp).sort((a, b) => a - b);
    const from = times[Math.floor(times.length / 4)]!;
    const to = times[Math.floor((times.length * 3) / 4)]!;
    assertMatches(
      store,
      entries.filter((e) => e.timestamp >= from && e.timestamp <= to),
      { from, to },
    );
    const where = { sql: `${store.sqlTarget.column(['protocol'])} IN (?, ?)`, params: ['redis', 'postgres'] };
    assertMatches(
      store,
      entries.filter((e) => e.protocol === 'redis' || e.protocol === 'postgres'),
      { where },
    );
    assert.deepEqual(store.serviceMap({ from: 0, to: 1 }), {
      nodes: [],
      edges: [],
      droppedEdges: 0,
      droppedEntries: 0,
      partial: null,
    });
  });

  test('a window of more entries than maxEntries: the map of the newest ones, and `partial` says so', () => {
    // Newest first as the store orders them: by time, then by the order they were stored.
    const newestFirst = entries
      .map((e, i) => ({ e, i }))
      .sort((a, b) => b.e.timestamp - a.e.timestamp || b.i - a.i)
      .map((x) => x.e);
    for (const k of [1, 7, Math.floor(entries.length / 2)]) {
      const newest = newestFirst.slice(0, k);
      assertMatches(store, newest, { maxEntries: k });
      assert.deepEqual(store.serviceMap({ maxEntries: k }).partial, {
        entries: k,
        from: newest[k - 1]!.timestamp,
      });
    }
    assert.equal(store.serviceMap({ maxEntries: entries.length }).partial, null, 'exactly all: complete');
    assert.equal(store.serviceMap({}).partial, null, 'the default covers these');
    assert.throws(() => store.serviceMap({ maxEntries: 0 }), /must be a number >= 1/);
  });

  test('isErrorEntry agrees with the documented rules on every entry', () => {
    for (const e of entries)
      assert.equal(isErrorEntry(e), referenceError(e), `${e.protocol} ${JSON.stringify(e.status)}`);
  });
});

describe('error rules', () => {
  const cases: [Entry['protocol'], Entry['status'], boolean, Partial<Entry>?][] = [
    ['http', 503, true],
    ['http', 404, false],
    ['http', null, false],
    ['graphql', 500, true],
    ['grpc', 0, false],
    ['grpc', 14, true],
    ['grpc', null, false],
    ['websocket', 1000, false, { method: 'close' }],
    ['websocket', 1011, true, { method: 'close' }],
    ['websocket', 1005, false, { method: 'close' }],
    ['dns', 'NXDOMAIN', false],
    ['dns', 'SERVFAIL', true],
    ['dns', 'REFUSED', true],
    ['redis', 'ERROR', true],
    ['redis', 'NIL', false],
    ['postgres', '22012', true],
    ['postgres', '01000', false],
    ['postgres', 'G', false],
    ['postgres', 'OK', false],
    ['mysql', 1158, true],
    ['mysql', 'OK', false],
    ['kafka', 'NONE', false],
    ['kafka', 'UNKNOWN_TOPIC_OR_PARTITION', true],
    ['amqp', 200, false],
    ['amqp', 312, true],
    ['mqtt', 16, false],
    ['mqtt', 0x87, true],
    ['mqtt', 5, true, { method: 'CONNECT' }],
    ['mqtt', 0, false, { method: 'CONNECT' }],
    ['nats', '-ERR', true],
    ['nats', '+OK', false],
    ['tls', '1.3', false],
    [
      'tls',
      null,
      true,
      { response: { alert: { from: 'server', level: 'fatal', description: 'handshake_failure' } } },
    ],
    [
      'tls',
      null,
      false,
      { response: { alert: { from: 'server', level: 'warning', description: 'close_notify' } } },
    ],
  ];
  for (const [protocol, status, want, extra] of cases)
    test(`${protocol} ${JSON.stringify(status)}${extra?.method ? ` ${extra.method}` : ''} is ${want ? '' : 'not '}an error`, () => {
      assert.equal(isErrorEntry({ protocol, status, method: 'X', response: null, ...extra }), want);
    });
});

describe('buildServiceMap', () => {
  const row = (src: string, dst: string, elapsedMs: number | null = 1): ServiceMapRow => [
    src,
    null,
    null,
    null,
    null,
    dst,
    null,
    null,
    null,
    null,
    'http',
    elapsedMs,
    0,
    10,
    20,
    1_700_000_000_000_000,
  ];

  test('edges past the cap are counted, not kept', () => {
    const rows = [row('a', 'b'), row('a', 'c'), row('a', 'b'), row('b', 'c'), row('b', 'c'), row('c', 'a')];
    const map = buildServiceMap(rows, 2);
    assert.deepEqual(
      map.edges.map((e) => [e.id, e.count, e.requestBytes]),
      [
        ['a -> b (http)', 2, 20],
        ['a -> c (http)', 1, 10],
      ],
    );
    assert.equal(map.droppedEdges, 2);
    assert.equal(map.droppedEntries, 3);
    assert.deepEqual(
      map.nodes.map((n) => [n.id, n.entries.client, n.entries.server]),
      [
        ['a', 3, 0],
        ['b', 0, 2],
        ['c', 0, 1],
      ],
    );
  });
});

describe('latency histogram', () => {
  test('percentiles are within 1% of the exact nearest rank, from 1 µs to an hour', () => {
    const h = new LatencyHistogram();
    const values: number[] = [];
    // Spread over nine decades, in an order that makes the bucket range grow both ways.
    for (let i = 0; i < 5000; i++) {
      const v = Math.round(10 ** ((((i * 7919) % 5000) / 5000) * 9.5 - 3) * 1000) / 1000;
      values.push(v);
      h.add(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 95, 99, 99.9, 100]) {
      const exact = values[Math.max(1, Math.ceil((p / 100) * values.length)) - 1]!;
      const got = h.percentile(p)!;
      const want = Math.min(Math.max(exact, 0.001), 3_600_000);
      assert.ok(Math.abs(got - want) <= want * 0.01 + 0.0005, `p${p}: ${got} vs ${exact}`);
    }
    assert.equal(h.samples, 5000);
  });

  test('zero latencies read as 0; no samples read as null', () => {
    const h = new LatencyHistogram();
    assert.equal(h.percentile(50), null);
    for (let i = 0; i < 50; i++) h.add(0);
    h.add(12.5);
    assert.equal(h.percentile(50), 0);
    assert.ok(Math.abs(h.percentile(99)! - 12.5) <= 0.125);
  });
});
