/**
 * k8spacket's node-graph API (CONTRACTS.md) through fastify's inject(), on records `podwire analyze
 * --format jsonl` made of two captures: traffic of a known cluster written here and named with
 * `--k8s` (test/enrich/fixtures/cluster.json), and a real HTTP capture (test/captures/http1,
 * FoxIO ja4 http1.pcapng). Expected values come from support.ts's reference, written from the
 * contract, and from literal values of the scenario.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ConnectionRecord } from '../../../src/flows/connection.js';
import { goFixed2 } from '../../../src/hub/nodegraph/format.js';
import { registerNodeGraphRoutes } from '../../../src/hub/nodegraph/routes.js';
import type { GraphSource } from '../../../src/hub/nodegraph/source.js';
import { CAPTURES } from '../../support/paths.js';
import {
  analyzeJsonl,
  CLUSTER,
  latestEndpoints,
  listSource,
  type Records,
  type RefFilters,
  type RefNode,
  refGraph,
  refItems,
  writeClusterCapture,
} from './support.js';

const MODES = ['connection', 'bytes', 'duration'] as const;

let cluster: Records;
let http: Records;

before(async () => {
  cluster = await analyzeJsonl([writeClusterCapture()], ['--k8s', CLUSTER, '--no-reverse-dns']);
  http = await analyzeJsonl([join(CAPTURES, 'http1', 'ja4__http1.pcapng')]);
});

async function appWith(source: GraphSource): Promise<FastifyInstance> {
  const app = Fastify();
  registerNodeGraphRoutes(app, source);
  await app.ready();
  return app;
}

async function get(
  app: FastifyInstance,
  url: string,
): Promise<{ status: number; body: string; json: unknown }> {
  const r = await app.inject({ method: 'GET', url });
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, body: r.body, json };
}

function qs(o: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined) p.set(k, String(v));
  return p.toString();
}

/** The dashboard's query string (k8spacket's node-graph dashboard `queryText`). */
function dashboardQuery(o: {
  namespace?: string;
  include?: string;
  exclude?: string;
  mode?: string;
  from?: number;
  to?: number;
}) {
  return qs({
    namespace: o.namespace ?? '',
    include: o.include ?? '',
    exclude: o.exclude ?? '',
    'stats-type': o.mode ?? 'connection',
    from: o.from,
    to: o.to,
  });
}

type Graph = {
  nodes: RefNode[];
  edges: { id: string; source: string; target: string; mainStat: string; secondaryStat: string }[];
};

/** Field by field; arcs to 1e-12 (they are ratios); edges in any order. */
function assertGraph(actual: unknown, expected: Graph, what: string): void {
  const a = actual as Graph;
  assert.ok(Array.isArray(a.nodes) && Array.isArray(a.edges), `${what}: arrays`);
  const strip = (n: RefNode) => ({ ...n, arc__1: 0, arc__2: 0, arc__3: 0 });
  assert.deepEqual(a.nodes.map(strip), expected.nodes.map(strip), `${what}: nodes`);
  a.nodes.forEach((n, i) => {
    const e = expected.nodes[i]!;
    for (const k of ['arc__1', 'arc__2', 'arc__3'] as const)
      assert.ok(Math.abs(n[k] - e[k]) < 1e-12, `${what}: ${n.id} ${k} ${n[k]} != ${e[k]}`);
    assert.ok(Math.abs(n.arc__1 + n.arc__2 + n.arc__3 - 1) < 1e-12, `${what}: ${n.id} arcs sum to 1`);
  });
  const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : 1);
  assert.deepEqual([...a.edges].sort(byId), [...expected.edges].sort(byId), `${what}: edges`);
}

function expectedGraph(
  records: ConnectionRecord[],
  mode: (typeof MODES)[number],
  o: Parameters<typeof refItems>[1] = {},
) {
  const items = refItems(records, o);
  return refGraph(items, latestEndpoints(records), mode, goFixed2);
}

describe('the records analyze made of the cluster capture', () => {
  test('every exchange is one connection, named as the fixture cluster says', () => {
    assert.equal(cluster.connections.length, 10);
    const title = (ip: string) => {
      const c = cluster.connections.find((x) => x.src.ip === ip || x.dst.ip === ip)!;
      const ep = c.src.ip === ip ? c.src : c.dst;
      return `${ep.kind ?? '-'} ${ep.namespace ?? '-'} ${ep.name ?? '-'}`;
    };
    assert.equal(title('10.244.2.50'), 'pod default toolbox');
    assert.equal(title('10.96.12.34'), 'service shop checkout');
    assert.equal(title('10.0.0.11'), 'pod kube-system kube-proxy-8xq2w');
    assert.equal(title('10.0.0.12'), 'node - node-b');
    assert.equal(title('192.0.2.80'), 'external - -');
  });
});

describe('/nodegraph/api/health and fields', () => {
  test('health: 200, empty body', async () => {
    const app = await appWith(listSource(cluster));
    const r = await app.inject({ method: 'GET', url: '/nodegraph/api/health' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '');
  });

  // CONTRACTS.md's fields table, and k8spacket's fields.json order.
  const looks = {
    connection: [
      'All connections ',
      'Persistent connections ',
      'green',
      'Persistent connections',
      'red',
      'Short-lived connections',
    ],
    bytes: ['Bytes received ', 'Bytes responded ', 'blue', 'Bytes received', 'yellow', 'Bytes responded'],
    duration: ['Average duration ', 'Max duration ', 'purple', 'Average duration', 'white', 'Max duration'],
  };
  for (const mode of MODES)
    test(`fields, stats-type=${mode}`, async () => {
      const app = await appWith(listSource(cluster));
      const r = await get(app, `/nodegraph/api/graph/fields?${dashboardQuery({ mode })}`);
      assert.equal(r.status, 200);
      const [main, secondary, c1, n1, c2, n2] = looks[mode];
      assert.deepEqual(r.json, {
        edges_fields: [
          { field_name: 'id', type: 'string' },
          { field_name: 'source', type: 'string' },
          { field_name: 'target', type: 'string' },
          { field_name: 'mainStat', type: 'string' },
          { field_name: 'secondaryStat', type: 'string' },
        ],
        nodes_fields: [
          { field_name: 'id', type: 'string' },
          { field_name: 'title', type: 'string' },
          { field_name: 'subTitle', type: 'string' },
          { field_name: 'mainStat', displayName: main, type: 'string' },
          { field_name: 'secondaryStat', displayName: secondary, type: 'string' },
          { color: c1, field_name: 'arc__1', type: 'number', displayName: n1 },
          { color: c2, field_name: 'arc__2', type: 'number', displayName: n2 },
          { color: 'gray', field_name: 'arc__3', type: 'number', displayName: 'No data' },
          { field_name: 'detail__namespace', type: 'string', displayName: 'Namespace' },
          { field_name: 'detail__kind', type: 'string', displayName: 'Kind' },
          { field_name: 'detail__workload', type: 'string', displayName: 'Workload' },
        ],
      });
    });

  test('fields: no or empty stats-type is connection; an unknown one is a 400 naming the choices', async () => {
    const app = await appWith(listSource(cluster));
    const none = await get(app, '/nodegraph/api/graph/fields');
    const empty = await get(app, '/nodegraph/api/graph/fields?stats-type=');
    const conn = await get(app, '/nodegraph/api/graph/fields?stats-type=connection');
    assert.deepEqual(none.json, conn.json);
    assert.deepEqual(empty.json, conn.json);
    const bad = await get(app, '/nodegraph/api/graph/fields?stats-type=byte');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, {
      error: {
        code: 'hub.bad_parameter',
        message: '`stats-type` must be one of connection, bytes, duration, not "byte"',
      },
    });
  });
});

describe('/nodegraph/api/graph/data on the cluster capture', () => {
  for (const mode of MODES)
    test(`stats-type=${mode}: every node and edge, field by field`, async () => {
      const app = await appWith(listSource(cluster));
      const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode })}`);
      assert.equal(r.status, 200);
      assertGraph(r.json, expectedGraph(cluster.connections, mode), mode);
    });

  test('literal values of the scenario (support.ts EXCHANGES)', async () => {
    const app = await appWith(listSource(cluster));
    const node = async (mode: string, id: string) =>
      ((await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode })}`)).json as Graph).nodes.find(
        (n) => n.id === id,
      )!;
    const edge = async (mode: string, id: string) =>
      ((await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode })}`)).json as Graph).edges.find(
        (n) => n.id === id,
      )!;
    // The checkout Service served three connections, one of them 12 s long.
    const svc = await node('connection', '10.96.12.34');
    assert.equal(svc.title, 'svc.checkout');
    assert.equal(svc.subTitle, '10.96.12.34');
    assert.equal(svc.mainStat, 'all: 3');
    assert.equal(svc.secondaryStat, 'persistent: 1');
    assert.ok(
      Math.abs(svc.arc__1 - 1 / 3) < 1e-12 && Math.abs(svc.arc__2 - 2 / 3) < 1e-12 && svc.arc__3 === 0,
    );
    assert.equal(svc.detail__namespace, 'shop');
    assert.equal(svc.detail__kind, 'service');
    // toolbox only opened connections: nothing served.
    const toolbox = await node('connection', '10.244.2.50');
    assert.equal(toolbox.title, 'pod.toolbox');
    assert.deepEqual(
      [toolbox.mainStat, toolbox.secondaryStat, toolbox.arc__1, toolbox.arc__2, toolbox.arc__3],
      ['all: N/A', 'persistent: N/A', 0, 0, 1],
    );
    assert.equal((await node('duration', '10.244.2.50')).mainStat, 'avg: N/A');
    assert.equal((await node('connection', '10.0.0.12')).title, 'node.node-b');
    assert.equal((await node('connection', '10.0.0.11')).title, 'pod.kube-proxy-8xq2w');
    assert.equal((await node('connection', '192.0.2.80')).title, 'N/A');
    // postgres-0: one connection of 30 s.
    const pg = await node('duration', '10.244.1.20');
    assert.deepEqual([pg.mainStat, pg.secondaryStat, pg.arc__1, pg.arc__2], ['avg: 30s', 'max: 30s', 1, 0]);
    // Two connections of 8 ms and 16 ms to the checkout pod: avg 12ms.
    const e = await edge('duration', '10.244.2.5-10.244.2.11');
    assert.deepEqual([e.mainStat, e.secondaryStat], ['avg: 12ms', 'max: 16ms']);
    assert.deepEqual(
      [
        (await edge('connection', '10.244.2.50-10.96.12.34')).mainStat,
        (await edge('connection', '10.244.2.50-10.96.12.34')).secondaryStat,
      ],
      ['all: 3', 'persistent: 1'],
    );
    // kube-proxy's metrics: 3 ms, the client sent the request, the server 4000 bytes of body and its head.
    const m = cluster.connections.find((c) => c.dst.port === 10249)!;
    const b = await edge('bytes', '10.244.1.2-10.0.0.11');
    const kb = (n: number) => `${goFixed2(n / 0.003 / 1024)}KB/s`;
    assert.deepEqual(
      [b.mainStat, b.secondaryStat],
      [`sent: ${kb(m.sent.bytes)}`, `recv: ${goFixed2(m.received.bytes / 0.003 / 1024 / 1024)}MB/s`],
    );
  });

  const filterCases: {
    name: string;
    q: { namespace?: string; include?: string; exclude?: string };
    f: RefFilters;
    edges: string[];
  }[] = [
    {
      name: 'namespace=^kube-system$ (either end)',
      q: { namespace: '^kube-system$' },
      f: { namespace: /^kube-system$/ },
      edges: ['10.244.1.2-10.0.0.11', '10.244.1.40-10.96.0.10'],
    },
    {
      name: 'include=postgres (a name)',
      q: { include: 'postgres' },
      f: { include: /postgres/ },
      edges: ['10.244.1.10-10.244.1.20'],
    },
    {
      name: 'include=^10\\.96\\. (an address)',
      q: { include: '^10\\.96\\.' },
      f: { include: /^10\.96\./ },
      edges: ['10.244.1.40-10.96.0.10', '10.244.2.50-10.96.12.34'],
    },
    {
      name: 'include=(?i)^SVC\\.CHECKOUT$ (RE2 flag group)',
      q: { include: '(?i)^SVC\\.CHECKOUT$' },
      f: { include: /^SVC\.CHECKOUT$/i },
      edges: ['10.244.2.50-10.96.12.34'],
    },
    {
      name: 'exclude=kube (any end, names)',
      q: { exclude: 'kube' },
      f: { exclude: /kube/ },
      edges: [
        '10.244.1.10-10.244.1.20',
        '10.244.2.30-192.0.2.80',
        '10.244.2.5-10.244.2.11',
        '10.244.2.50-10.0.0.12',
        '10.244.2.50-10.96.12.34',
      ],
    },
    {
      name: 'namespace=shop, include=toolbox, exclude=N/A (together)',
      q: { namespace: 'shop', include: 'toolbox', exclude: 'N/A' },
      f: { namespace: /shop/, include: /toolbox/, exclude: /N\/A/ },
      edges: ['10.244.2.50-10.96.12.34'],
    },
    {
      name: 'namespace=^$ (outside addresses and nodes have none)',
      q: { namespace: '^$' },
      f: { namespace: /^$/ },
      edges: ['10.244.2.30-192.0.2.80', '10.244.2.50-10.0.0.12'],
    },
  ];
  for (const c of filterCases)
    test(`filter ${c.name}`, async () => {
      const app = await appWith(listSource(cluster));
      for (const mode of MODES) {
        const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ ...c.q, mode })}`);
        assert.equal(r.status, 200);
        assertGraph(r.json, expectedGraph(cluster.connections, mode, { filters: c.f }), `${c.name} ${mode}`);
        assert.deepEqual(((r.json as Graph).edges.map((e) => e.id) as string[]).sort(), [...c.edges].sort());
      }
    });

  test('a bad regular expression is a 400 naming the parameter; the next request is served', async () => {
    const app = await appWith(listSource(cluster));
    for (const [param, pattern] of [
      ['include', '('],
      ['exclude', '[a-'],
      ['namespace', '*x'],
      ['include', '(a+)+$'],
      ['exclude', '(?U)x'],
    ] as const) {
      const r = await get(
        app,
        `/nodegraph/api/graph/data?${qs({ [param]: pattern, 'stats-type': 'bytes' })}`,
      );
      assert.equal(r.status, 400, `${param}=${pattern}`);
      const err = (r.json as { error: { code: string; message: string } }).error;
      assert.equal(err.code, 'hub.bad_parameter');
      assert.ok(
        err.message.startsWith(
          `\`${param}\` is not a valid regular expression (${JSON.stringify(pattern)}): `,
        ),
        err.message,
      );
    }
    const conn = await get(app, `/nodegraph/connections?${qs({ include: '(' })}`);
    assert.equal(conn.status, 400);
    const ok = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({})}`);
    assert.equal(ok.status, 200);
    assert.equal((ok.json as Graph).edges.length, 7);
  });

  test('an empty graph is [] and [], never null', async () => {
    const app = await appWith(listSource(cluster));
    const r = await get(
      app,
      `/nodegraph/api/graph/data?${dashboardQuery({ include: 'nothing-has-this-name' })}`,
    );
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"nodes":[],"edges":[]}');
    const empty = await appWith(listSource({ connections: [], entries: [] }));
    assert.equal((await get(empty, '/nodegraph/api/graph/data')).body, '{"nodes":[],"edges":[]}');
    assert.equal((await get(empty, '/nodegraph/connections')).body, '[]');
  });

  test('from/to in epoch milliseconds: a record counts when its last-seen time is inside', async () => {
    const app = await appWith(listSource(cluster));
    const from = Date.parse('2024-05-01T09:30:30Z');
    const to = Date.parse('2024-05-01T09:32:00Z');
    for (const mode of MODES) {
      const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode, from, to })}`);
      assertGraph(
        r.json,
        expectedGraph(cluster.connections, mode, { fromUs: from * 1000, toUs: to * 1000 }),
        `window ${mode}`,
      );
    }
    // Ends at 09:30:32 (12 s from 09:30:20), 09:31:00.04, and postgres' at 09:30:31.
    const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ from, to })}`);
    assert.deepEqual((r.json as Graph).edges.map((e) => `${e.id} ${e.mainStat}`).sort(), [
      '10.244.1.10-10.244.1.20 all: 1',
      '10.244.2.50-10.96.12.34 all: 2',
    ]);
    const bad = await get(app, '/nodegraph/api/graph/data?from=yesterday');
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { code: string } }).error.code, 'hub.bad_time');
    const reversed = await get(app, `/nodegraph/api/graph/data?from=${to}&to=${from}`);
    assert.equal((reversed.json as { error: { code: string } }).error.code, 'hub.bad_window');
  });

  test('a source that fails answers 500 hub.internal, without its message', async () => {
    const app = await appWith({
      connections: () => {
        throw new Error('SQLITE_CORRUPT: /var/lib/podwire/hub.db');
      },
      tlsEntries: () => [],
    });
    const r = await get(app, '/nodegraph/api/graph/data');
    assert.equal(r.status, 500);
    assert.equal((r.json as { error: { code: string } }).error.code, 'hub.internal');
    assert.ok(!r.body.includes('SQLITE'));
  });
});

describe('/nodegraph/connections', () => {
  test("k8spacket's connection records, field by field", async () => {
    const app = await appWith(listSource(cluster));
    const r = await get(app, `/nodegraph/connections?${dashboardQuery({})}`);
    assert.equal(r.status, 200);
    const items = r.json as Record<string, unknown>[];
    const ref = refItems(cluster.connections);
    assert.equal(items.length, ref.length);
    const keyOf = (x: { src?: unknown; dst?: unknown }) => `${x.src}-${x.dst}`;
    for (const want of ref) {
      const got = items.find((i) => keyOf(i) === keyOf(want))!;
      assert.deepEqual(Object.keys(got), [
        'src',
        'srcName',
        'srcNamespace',
        'dst',
        'dstName',
        'dstNamespace',
        'connCount',
        'connPersistent',
        'bytesSent',
        'bytesReceived',
        'duration',
        'maxDuration',
        'lastSeen',
      ]);
      assert.deepEqual(got, {
        src: want.src,
        srcName: want.srcName,
        srcNamespace: want.srcNamespace,
        dst: want.dst,
        dstName: want.dstName,
        dstNamespace: want.dstNamespace,
        connCount: want.connCount,
        connPersistent: want.connPersistent,
        bytesSent: want.bytesSent,
        bytesReceived: want.bytesReceived,
        duration: want.durationUs / 1000,
        maxDuration: want.maxDurationUs / 1000,
        lastSeen: got.lastSeen,
      });
      // RFC 3339 to the microsecond.
      const ls = got.lastSeen as string;
      assert.match(ls, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
      const frac = (ls.split('.')[1] ?? 'Z').replace('Z', '').padEnd(6, '0');
      assert.equal(Date.parse(ls.replace(/\.\d+Z$/, 'Z')) * 1000 + Number(frac), want.lastSeenUs);
    }
    const svc = items.find((i) => i.dst === '10.96.12.34')!;
    assert.deepEqual(
      [svc.srcName, svc.srcNamespace, svc.dstName, svc.dstNamespace, svc.connCount, svc.connPersistent],
      ['pod.toolbox', 'default', 'svc.checkout', 'shop', 3, 1],
    );
    assert.equal(svc.duration, 12045);
    assert.equal(svc.maxDuration, 12000);
  });

  test("only this node's records (and records without a node); every node's on /api/graph/data", async () => {
    const half = (i: number) => (i % 2 === 0 ? 'node-a' : 'node-b');
    const connections = cluster.connections.map((c, i) => ({
      ...c,
      node: i === 3 ? undefined : half(i),
    })) as ConnectionRecord[];
    const app = await appWith(listSource({ connections, entries: [] }, { localNode: 'node-a' }));
    const mine = connections.filter((c) => c.node === 'node-a' || c.node === undefined);
    const r = await get(app, '/nodegraph/connections');
    const ref = refItems(mine);
    assert.deepEqual(
      (r.json as { src: string; dst: string; connCount: number }[])
        .map((i) => `${i.src}-${i.dst} ${i.connCount}`)
        .sort(),
      ref.map((i) => `${i.src}-${i.dst} ${i.connCount}`).sort(),
    );
    const all = await get(app, '/nodegraph/api/graph/data');
    assertGraph(all.json, expectedGraph(cluster.connections, 'connection'), 'all nodes');
  });
});

describe('many agents', () => {
  test('the copies two agents made of one connection count once', async () => {
    const copies = cluster.connections.flatMap((c) => [
      { ...c, node: 'node-a' },
      { ...c, node: 'node-b' },
    ]) as ConnectionRecord[];
    const app = await appWith(listSource({ connections: copies, entries: [] }));
    for (const mode of MODES) {
      const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode })}`);
      assertGraph(r.json, expectedGraph(cluster.connections, mode), `copies ${mode}`);
    }
    const items = (await get(app, '/nodegraph/connections')).json as { connCount: number }[];
    assert.equal(
      items.reduce((n, i) => n + i.connCount, 0),
      10,
    );
  });

  test('a copy picked up mid-stream with the opener guessed the other way still counts once, the right way', async () => {
    const reversed = cluster.connections.map((c) => ({
      ...c,
      src: c.dst,
      dst: c.src,
      sent: c.received,
      received: c.sent,
      midstream: true,
      // Listed first, from the same moment: the merge must not take the first copy's word for the opener.
      node: 'node-b',
    }));
    const app = await appWith(
      listSource({
        connections: [...reversed, ...cluster.connections.map((c) => ({ ...c, node: 'node-a' }))],
        entries: [],
      }),
    );
    for (const mode of MODES) {
      const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode })}`);
      assertGraph(r.json, expectedGraph(cluster.connections, mode), `reversed ${mode}`);
    }
  });

  test("different connections from different agents add up (k8spacket's merge kept only the last)", async () => {
    // Each connection seen by one agent only; the three checkout-Service connections by three.
    const spread = cluster.connections.map((c, i) => ({ ...c, node: `node-${i % 3}` })) as ConnectionRecord[];
    const app = await appWith(listSource({ connections: spread, entries: [] }));
    const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({})}`);
    assertGraph(r.json, expectedGraph(cluster.connections, 'connection'), 'spread');
    assert.equal((r.json as Graph).edges.find((e) => e.id === '10.244.2.50-10.96.12.34')!.mainStat, 'all: 3');
  });

  test('the same 4-tuple reused after the first connection ended is a second connection', async () => {
    const c = cluster.connections.find((x) => x.dst.port === 5432)!;
    const later = {
      ...c,
      start: c.end + 1_000_000,
      end: c.end + 2_000_000,
      durationMs: 1000,
      node: 'node-b',
    };
    const app = await appWith(listSource({ connections: [{ ...c, node: 'node-a' }, later], entries: [] }));
    const items = (await get(app, '/nodegraph/connections')).json as {
      connCount: number;
      duration: number;
    }[];
    assert.deepEqual(
      items.map((i) => [i.connCount, i.duration]),
      [[2, c.durationMs + 1000]],
    );
  });
});

describe('/nodegraph/api/graph/data on a real HTTP capture (ja4 http1.pcapng)', () => {
  for (const mode of MODES)
    test(`stats-type=${mode}`, async () => {
      const app = await appWith(listSource(http));
      const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ mode })}`);
      assertGraph(r.json, expectedGraph(http.connections, mode), mode);
      const g = r.json as Graph;
      assert.equal(g.edges.length, new Set(http.connections.map((c) => `${c.src.ip}-${c.dst.ip}`)).size);
      // Unnamed (no --k8s): every title is N/A, every subtitle the address.
      assert.ok(g.nodes.every((n) => n.title === 'N/A' && n.subTitle === n.id));
    });

  test('the router 192.168.1.1 served the connections the capture has to it', async () => {
    const app = await appWith(listSource(http));
    const g = (await get(app, '/nodegraph/api/graph/data')).json as Graph;
    const served = http.connections.filter((c) => c.dst.ip === '192.168.1.1').length;
    assert.ok(served > 1);
    assert.equal(g.nodes.find((n) => n.id === '192.168.1.1')!.mainStat, `all: ${served}`);
  });

  test('the window of the capture, and one outside it', async () => {
    const app = await appWith(listSource(http));
    const ends = http.connections.map((c) => c.end).sort((a, b) => a - b);
    const mid = ends[Math.floor(ends.length / 2)]!;
    const from = Math.ceil(mid / 1000);
    const r = await get(app, `/nodegraph/api/graph/data?${dashboardQuery({ from, to: from + 3_600_000 })}`);
    assertGraph(
      r.json,
      expectedGraph(http.connections, 'connection', { fromUs: from * 1000, toUs: (from + 3_600_000) * 1000 }),
      'half',
    );
    const before = await get(
      app,
      `/nodegraph/api/graph/data?${dashboardQuery({ from: 0, to: Math.floor(ends[0]! / 1000) - 1 })}`,
    );
    assert.equal(before.body, '{"nodes":[],"edges":[]}');
  });
});
