#!/usr/bin/env node
/**
 * The hub store's benchmark (`node bench/store.mjs` after `npx tsc -p tsconfig.json`): how fast
 * entries go in, and how fast the common filters come back once the store is large.
 *
 * 1. Entry templates are real dissector output: every capture of test/captures analysed in-process.
 * 2. N entries (default 1,000,000) are made from them as a cluster would send them: 20 agents
 *    (one per node), 30 namespaces of 10 workloads of 3 pods spread over the nodes, each workload
 *    calling three others; an hour of traffic; HTTP answers 2% 5xx and 5% 404. A batch comes from
 *    one node's agent and holds calls made by that node's pods (about 45 of the 900), as an agent
 *    ships what its node saw; UNIFORM=1 draws every entry's client from all 900 pods instead (the
 *    worst case for the name indexes: each entry of a batch then lands on its own index page). The mix (MIX) is `cluster` (by protocol:
 *    http 35%, dns 15%, grpc 10%, redis 10%, postgres 8%, tls 7%, mysql 5%, kafka 4%, amqp, mqtt,
 *    nats 2% each; templates drawn uniformly within a protocol, among those up to 4 KiB of JSON:
 *    API calls, not the corpus's page and image downloads) or `corpus` (every template alike,
 *    bodies of up to 64 KiB included). Entries keep their request/response detail: the mean JSON
 *    size is printed.
 * 3. They are ingested in batches of BATCH (default 500) entries, one transaction each, every batch
 *    with its agent's next sequence number. Only the time inside ingest() counts (making the
 *    entries does not): entries/s overall and per tenth, CPU µs per entry (process.cpuUsage(), all
 *    threads: the figure to compare on a machine shared with other jobs, where wall time depends on
 *    what else runs), and the slowest ingest() calls (those that ran a checkpoint). GROUP=k stores
 *    k batches (of as many agents) per transaction with ingestBatches(), as a hub can store the
 *    batches that arrived together.
 * 4. Queries over the full store, each run 5 times (median and slowest shown): newest 100 with the
 *    filters the UI sends most, written as the query compiler writes them (`typeof()` guards
 *    included), a deep page through cursors, one entry in full, the service map of the last five
 *    minutes and of the whole hour, and retention by age of the oldest 10%. Each filter's query plan
 *    is shown (the index SQLite reads, or SCAN when none serves it).
 *
 *    WRITER=thread opens the store with its writer thread (as the hub does): batches are made ROUND
 *    (default 600: 300,000 entries) at a time, not timed, then written through write() with INFLIGHT
 *    (default 16, the hub's bound on flushes in flight) waiting at a time, as agents keep a loaded hub
 *    busy; the time is from the first write to the last answer, the CPU all threads'. Between two
 *    rounds the writes all finish and the next round is made, a pause a loaded hub does not have:
 *    rounds of 40 batches (the default before 2026-12-03) cost a tenth of the rate. Each write()'s
 *    time to its answer (the acknowledgement an agent waits for) is shown.
 *
 * Environment: N, BATCH, GROUP, WRITER (inline|thread), INFLIGHT, ROUND, MIX (cluster|corpus), UNIFORM (0|1),
 * GROUP_COMMIT=ROWS/MS (the writer thread's group commit, src/store/writer.ts; 0/0 for none), QUERIES=0 (ingest only), STORE (the file; default a fresh one under /tmp/podwire-store-bench,
 * removed at the end with its WAL, lock and detail log unless KEEP=1).
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeFiles } from '../dist/src/cli/analyze.js';
import { Store } from '../dist/src/store/index.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const N = Number(process.env.N ?? 1_000_000);
const BATCH = Number(process.env.BATCH ?? 500);
const MIX = process.env.MIX ?? 'cluster';
const UNIFORM = process.env.UNIFORM === '1';
const GROUP = Number(process.env.GROUP ?? 1);
const THREAD = process.env.WRITER === 'thread';
const INFLIGHT = Number(process.env.INFLIGHT ?? 16);
/** With the writer thread, batches are made ROUND at a time (not timed), then written (timed). */
const ROUND = Number(process.env.ROUND ?? 600);
const GROUP_COMMIT = process.env.GROUP_COMMIT
  ? (([rows, lingerMs]) => ({ rows: Number(rows), lingerMs: Number(lingerMs) }))(
      process.env.GROUP_COMMIT.split('/'),
    )
  : null;
const DIR = '/tmp/podwire-store-bench';
const STORE = process.env.STORE ?? join(DIR, `store-${process.pid}.db`);
const GOALS = { ingestPerSecond: 50_000, queryMs: 200 };

// A deterministic generator (mulberry32), so two runs store the same entries.
let seed = 0x9e3779b9;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];

async function templates() {
  const dir = join(ROOT, 'test', 'captures');
  const files = [];
  for (const sub of readdirSync(dir, { withFileTypes: true })) {
    if (!sub.isDirectory() || sub.name.startsWith('_')) continue;
    for (const f of readdirSync(join(dir, sub.name))) files.push(join(dir, sub.name, f));
  }
  const entries = [];
  for (const f of files) {
    await analyzeFiles([f], { tracker: {}, progress: false, onEntry: (e) => entries.push(e) }, () => {});
  }
  return entries;
}

const WEIGHTS = {
  http: 35,
  dns: 15,
  grpc: 10,
  redis: 10,
  postgres: 8,
  tls: 7,
  mysql: 5,
  kafka: 4,
  amqp: 2,
  mqtt: 2,
  nats: 2,
};

function cluster() {
  const nodes = Array.from({ length: 20 }, (_, i) => `node-${i}`);
  const workloads = [];
  for (let n = 0; n < 30; n++)
    for (let w = 0; w < 10; w++) {
      const name = `app-${n}-${w}`;
      const pods = Array.from({ length: 3 }, (_, p) => ({
        ip: `10.${n}.${w}.${p + 10}`,
        name: `${name}-7d9f8c6b5-${(n * 31 + w * 7 + p).toString(36).padStart(5, 'x')}`,
        namespace: `team-${n}`,
        kind: 'pod',
        workload: name,
        node: nodes[(n * 10 + w * 3 + p) % nodes.length],
      }));
      const wl = { name, pods };
      for (const p of pods) p.of = wl;
      workloads.push(wl);
    }
  for (const w of workloads) w.calls = [pick(workloads), pick(workloads), pick(workloads)];
  const podsOn = new Map(nodes.map((n) => [n, workloads.flatMap((w) => w.pods).filter((p) => p.node === n)]));
  return { nodes, workloads, podsOn };
}

function generator(templates) {
  const all = MIX === 'corpus' ? templates : templates.filter((e) => JSON.stringify(e).length <= 4096);
  const byProto = new Map();
  for (const e of all) {
    if (!byProto.has(e.protocol)) byProto.set(e.protocol, []);
    byProto.get(e.protocol).push(e);
  }
  const wheel = [];
  for (const [p, w] of Object.entries(WEIGHTS)) if (byProto.has(p)) for (let i = 0; i < w; i++) wheel.push(p);
  const { nodes, workloads, podsOn } = cluster();
  const allPods = workloads.flatMap((w) => w.pods);
  const t0 = Date.UTC(2025, 0, 1) * 1000;
  const step = 3_600_000_000 / N;
  const seqs = new Map(nodes.map((n) => [n, 0]));
  let i = 0;
  const one = (node) => {
    const tpl = MIX === 'corpus' ? pick(all) : pick(byProto.get(pick(wheel)));
    // What the node's agent sees: calls its own pods make (UNIFORM=1: any pod's, as if one agent saw all).
    const { of: client, ...src } = pick(UNIFORM ? allPods : podsOn.get(node));
    const { of: _server, ...dst } = pick(pick(client.calls).pods);
    const e = {
      ...tpl,
      id: `${i}-1`,
      timestamp: Math.round(t0 + i * step + rand() * 1000),
      src: { ...src, port: 30000 + (i % 30000) },
      dst: { ...dst, port: tpl.dst.port },
      node,
    };
    if (e.protocol === 'http') {
      const r = rand();
      e.status = r < 0.02 ? 503 : r < 0.07 ? 404 : 200;
    }
    if (e.elapsedMs !== null) e.elapsedMs = Math.round(Math.exp(rand() * 6) * 100) / 1000;
    i++;
    return e;
  };
  return {
    batch() {
      const node = pick(nodes);
      const seq = seqs.get(node) + 1;
      seqs.set(node, seq);
      const entries = [];
      for (let k = 0; k < BATCH && i < N; k++) entries.push(one(node));
      return { source: { agent: node, seq }, entries };
    },
    get made() {
      return i;
    },
    workloads,
  };
}

function time(fn) {
  const t = process.hrtime.bigint();
  const r = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
}

async function timeAsync(fn) {
  const t = process.hrtime.bigint();
  const r = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
}

/** The batches through write(), at most INFLIGHT waiting at a time, as that many agents keep a hub busy. */
async function pipelined(store, batches, answerMs) {
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      const t = performance.now();
      await store.write([batches[next++]]);
      answerMs.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, lane));
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

async function main() {
  mkdirSync(DIR, { recursive: true });
  for (const s of ['', '-wal', '-shm', '-lock', '-details'])
    rmSync(STORE + s, { force: true, recursive: true });
  const all = await templates();
  const gen = generator(all);
  const store = Store.open({
    path: STORE,
    writer: THREAD ? 'thread' : 'inline',
    ...(GROUP_COMMIT ? { groupCommit: GROUP_COMMIT } : {}),
  });

  console.log(
    `store benchmark: ${fmt(N)} entries, batches of ${BATCH}${THREAD ? `, writer thread, ${INFLIGHT} batches in flight` : GROUP > 1 ? `, ${GROUP} batches per transaction` : ''}, mix ${MIX}, ${STORE}`,
  );
  let ingestMs = 0;
  let cpuUs = 0;
  let jsonBytes = 0;
  let sampled = 0;
  const tenth = Math.max(1, Math.floor(N / 10));
  let segMs = 0;
  let segN = 0;
  let segCpu = 0;
  const segments = [];
  const segmentsCpu = [];
  const callMs = [];
  while (gen.made < N) {
    const batches = [];
    let n = 0;
    for (let k = 0; k < (THREAD ? ROUND : GROUP) && gen.made < N; k++) {
      const { source, entries } = gen.batch();
      if (sampled < 20_000) {
        for (const e of entries) jsonBytes += JSON.stringify(e).length;
        sampled += entries.length;
      }
      batches.push({ source, entries, connections: [] });
      n += entries.length;
    }
    const c0 = process.cpuUsage();
    const { ms } = THREAD
      ? await timeAsync(() => pipelined(store, batches, callMs))
      : time(() =>
          GROUP > 1 ? store.ingestBatches(batches) : store.ingest(batches[0].source, batches[0].entries, []),
        );
    const c = process.cpuUsage(c0);
    if (!THREAD) callMs.push(ms);
    cpuUs += c.user + c.system;
    ingestMs += ms;
    segMs += ms;
    segCpu += c.user + c.system;
    segN += n;
    if (segN >= tenth) {
      segments.push((segN / segMs) * 1000);
      segmentsCpu.push(segCpu / segN);
      segMs = 0;
      segN = 0;
      segCpu = 0;
    }
  }
  const rate = (N / ingestMs) * 1000;
  const st = store.stats();
  console.log(
    `\ningest: ${fmt(rate)} entries/s (goal ${fmt(GOALS.ingestPerSecond)}), ${(cpuUs / N).toFixed(1)} µs CPU per entry`,
  );
  console.log(`  per tenth: ${segments.map(fmt).join(' ')} entries/s`);
  console.log(`  per tenth: ${segmentsCpu.map((c) => c.toFixed(1)).join(' ')} µs CPU per entry`);
  callMs.sort((a, b) => a - b);
  const q = (p) => callMs[Math.min(callMs.length - 1, Math.floor(p * callMs.length))];
  console.log(
    `  ${THREAD ? 'write() answer' : GROUP > 1 ? 'ingestBatches()' : 'ingest()'}: median ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, slowest ${callMs[callMs.length - 1].toFixed(0)} ms`,
  );
  console.log(
    `  mean entry JSON ${fmt(jsonBytes / sampled)} B; file ${(st.fileBytes / 1e6).toFixed(0)} MB (${fmt(st.fileBytes / st.entries)} B per entry)`,
  );
  console.log(`  ${fmt(st.transactions)} transactions, ${fmt(st.entries / st.transactions)} entries each`);

  if (process.env.QUERIES === '0') {
    await store.close();
    return;
  }
  const col = (p) => store.sqlTarget.column(p);
  const json = store.sqlTarget.json;
  const num = (c) => `typeof(${c}) IN ('integer', 'real')`;
  const w = gen.workloads;
  const someSrc = w[7].pods[1];
  const someDst = w[42];
  const last = st.entries > 0 ? store.entries({ limit: 1 }).entries[0].timestamp : 0;
  const queries = [
    ['newest 100', {}],
    [
      "protocol == 'http' and status >= 500",
      {
        where: {
          sql: `${col(['protocol'])} = ? AND (${num(col(['status']))} AND ${col(['status'])} >= ?)`,
          params: ['http', 500],
        },
      },
    ],
    [
      `src.name == '${someSrc.name}'`,
      { where: { sql: `${col(['src', 'name'])} = ?`, params: [someSrc.name] } },
    ],
    [
      `dst.namespace == '${someDst.pods[0].namespace}' and method == 'GET'`,
      {
        where: {
          sql: `${col(['dst', 'namespace'])} = ? AND ${col(['method'])} = ?`,
          params: [someDst.pods[0].namespace, 'GET'],
        },
      },
    ],
    [
      "status == 'ERROR' and redis (none stored)",
      { where: { sql: `${col(['status'])} = ? AND ${col(['protocol'])} = ?`, params: ['ERROR', 'redis'] } },
    ],
    ["method == 'DELETE' (not indexed)", { where: { sql: `${col(['method'])} = ?`, params: ['DELETE'] } }],
    [
      "method == 'PURGE' (not indexed; none stored: every row read)",
      { where: { sql: `${col(['method'])} = ?`, params: ['PURGE'] } },
    ],
    [
      `dst.workload == '${someDst.name}' (not indexed)`,
      { where: { sql: `${col(['dst', 'workload'])} = ?`, params: [someDst.name] } },
    ],
    [
      "request.headers['User-Agent'] exists (JSON)",
      { where: { sql: `json_type(${json}, '$.request.headers."User-Agent"') IS NOT NULL`, params: [] } },
    ],
    [
      "request.headers['X-None'] exists, last 5 minutes (JSON; none)",
      {
        from: last - 300_000_000,
        to: last,
        where: { sql: `json_type(${json}, '$.request.headers."X-None"') IS NOT NULL`, params: [] },
      },
    ],
    [
      "protocol == 'redis', last 5 minutes",
      { from: last - 300_000_000, to: last, where: { sql: `${col(['protocol'])} = ?`, params: ['redis'] } },
    ],
  ];
  console.log('\nqueries over the full store (newest 100; median / slowest of 5; the plan):');
  const results = [];
  // The plan of the SQL entries() runs (src/store/index.ts), shortened to the tables' access paths.
  const plan = (q) => {
    const conds = [];
    const params = [];
    if (q.from !== undefined) {
      conds.push('e.ts >= ?');
      params.push(q.from);
    }
    if (q.to !== undefined) {
      conds.push('e.ts <= ?');
      params.push(q.to);
    }
    if (q.where) {
      conds.push(`(${q.where.sql})`);
      params.push(...q.where.params);
    }
    const sql = `EXPLAIN QUERY PLAN SELECT e.* FROM entries e LEFT JOIN entry_details d ON d.id = e.id ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY e.ts DESC, e.id DESC LIMIT 101`;
    return store.db
      .prepare(sql)
      .all(...params)
      .map((r) =>
        r.detail
          .replace(/ \(.*\)$/, '')
          .replace('USING INDEX ', '')
          .replace('USING INTEGER PRIMARY KEY', 'by id'),
      )
      .join('; ');
  };
  for (const [label, q] of queries) {
    const runs = [];
    let n = 0;
    for (let k = 0; k < 5; k++) {
      const { ms, r } = time(() => store.entries({ ...q, limit: 100 }));
      runs.push(ms);
      n = r.entries.length;
    }
    results.push({ label, median: median(runs), max: Math.max(...runs), n });
    console.log(
      `  ${label.padEnd(58)} ${median(runs).toFixed(1).padStart(7)} ms ${Math.max(...runs)
        .toFixed(1)
        .padStart(7)} ms  (${n} rows)  ${plan(q)}`,
    );
  }
  {
    const runs = [];
    for (let k = 0; k < 5; k++) {
      let cursor;
      const { ms } = time(() => {
        for (let p = 0; p < 10; p++) cursor = store.entries({ limit: 1000, cursor }).cursor ?? undefined;
      });
      runs.push(ms / 10);
    }
    console.log(
      `  ${'a page of 1000 (10 pages by cursor), per page'.padEnd(58)} ${median(runs).toFixed(1).padStart(7)} ms`,
    );
  }
  {
    const ids = store.entries({ limit: 1000 }).entries.map((e) => e.id);
    const { ms } = time(() => {
      for (const id of ids) store.entry(id);
    });
    console.log(
      `  ${'one entry in full (entry(id)), each'.padEnd(58)} ${(ms / ids.length).toFixed(3).padStart(7)} ms`,
    );
  }
  for (const [label, q] of [
    ['service map, last 5 minutes', { from: last - 300_000_000, to: last }],
    ['service map, the whole hour', { maxEntries: 5_000_000 }],
    ['service map, the whole hour, default cut (newest 250,000)', {}],
  ]) {
    const { ms, r } = time(() => store.serviceMap(q));
    console.log(
      `  ${label.padEnd(58)} ${ms.toFixed(1).padStart(7)} ms  (${r.nodes.length} nodes, ${r.edges.length} edges)`,
    );
  }
  {
    // The store holds an hour ending at `last`: an age limit of 54 minutes deletes the oldest tenth.
    await store.close();
    const aged = Store.open({ path: STORE, maxAgeMs: 0.9 * 3_600_000 });
    const { ms, r } = time(() => aged.retention(last));
    console.log(
      `\nretention by age: ${fmt(r.entries)} entries in ${ms.toFixed(0)} ms (${fmt((r.entries / ms) * 1000)}/s)`,
    );
    aged.close();
  }

  const slow = results.filter(
    (r) => !r.label.includes('not indexed') && !r.label.includes('JSON') && r.median > GOALS.queryMs,
  );
  console.log(
    `\ngoals: ingest ${rate >= GOALS.ingestPerSecond ? 'met' : 'NOT met'}; indexed queries under ${GOALS.queryMs} ms ${slow.length === 0 ? 'met' : `NOT met (${slow.map((s) => s.label).join(', ')})`}`,
  );
  console.log(
    `load average during the run: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (process.env.KEEP === '1') console.log(`kept ${STORE} (${(statSync(STORE).size / 1e6).toFixed(0)} MB)`);
}

try {
  await main();
} finally {
  // Gigabytes: removed even when the run fails part-way.
  if (process.env.KEEP !== '1')
    for (const s of ['', '-wal', '-shm', '-lock', '-details'])
      rmSync(STORE + s, { force: true, recursive: true });
}
