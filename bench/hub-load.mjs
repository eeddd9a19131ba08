#!/usr/bin/env node
/**
 * Agents to hub under load, with the hub killed mid-way (issue 7's "done when"): N agent processes
 * stream synthetic entries (copies of the real entries `bin/podwire analyze` makes of the HTTP/1
 * captures) as fast as their window allows into one hub process with a durable store on loopback.
 * Half way the hub is killed with SIGKILL and started again on the same port; the agents keep
 * producing meanwhile (into memory, then their disk spool), reconnect and replay what was not
 * acknowledged. At the end the store is read back: every entry an agent saw acknowledged must be
 * there exactly once. Prints entries/s, the hub's peak RSS (VmHWM, per hub process), CPU per entry
 * on each side (the hub's split into the store's ingestBatches and the rest: transport, redaction, metrics...),
 * and how long the hub's event loop was held at worst (a turn: one batch parsed and stored).
 *
 *   node bench/hub-load.mjs [--agents 4] [--seconds 20] [--kill-at 0.5] [--down-ms 1000] [--json]
 *                           [--kind hub|store] [--writer thread|inline] [--profile DIR]
 *
 * Needs a build (`npx tsc -p tsconfig.json`). `--kind hub` (the default) runs podwire's hub
 * (src/hub: redaction, naming, metrics, live feed, the SQLite store); `--kind store` the agent
 * stream alone straight into the store (src/store), to see what the rest of the hub costs. Exit
 * status 1 when anything acknowledged is missing or stored twice.
 *
 * The same file is the hub and the agent processes (`hub-load.mjs hub ...`, `hub-load.mjs agent ...`);
 * test/transport/ runs a short version and uses its hub role as a process to kill.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const DIST = join(ROOT, 'dist');

const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    agents: { type: 'string', default: '4' },
    writer: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    'kill-at': { type: 'string', default: '0.5' },
    'down-ms': { type: 'string', default: '1000' },
    'batch-records': { type: 'string', default: '1000' },
    window: { type: 'string', default: '8' },
    'down-rate': { type: 'string', default: 'same' },
    'max-memory': { type: 'string', default: String(32 << 20) },
    'max-entry-bytes': { type: 'string', default: '16384' },
    store: { type: 'string' },
    kind: { type: 'string' },
    port: { type: 'string', default: '0' },
    url: { type: 'string' },
    agent: { type: 'string' },
    templates: { type: 'string' },
    spool: { type: 'string' },
    json: { type: 'boolean', default: false },
    profile: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const role = positionals[0] ?? 'main';
if (role === 'hub') await runHub();
else if (role === 'agent') await runAgent();
else await runMain();

// --- the hub process -----------------------------------------------------------------------------

/** CPU time of this process so far, ms (user and system). */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function runHub() {
  const kind = args.kind ?? 'hub';
  const log = (m) => process.stderr.write(`hub: ${m}\n`);
  let port = Number(args.port);
  let close;
  // CPU spent in the store (the rest of the hub's CPU is the transport, redaction, naming,
  // metrics, the live feed, and the kernel's TCP), and the entries it was given.
  // ingestBatches: every inline store write goes through it (ingest() too). A store with a writer
  // thread (the hub's, src/store/writer.ts) takes write(): timed is then its part on the main thread
  // (checking and preparing the rows; the thread's SQLite work runs beside it and is in the process's
  // CPU, not in this), and the batches per transaction are not seen from here.
  const ingest = { cpuMs: 0, entries: 0, calls: 0, batches: 0, thread: false };
  const timed = (store) => {
    if (store.threaded) {
      ingest.thread = true;
      const writeOf = store.write.bind(store);
      store.write = (batches) => {
        // Wall time of the synchronous part: the process's CPU would count the writer thread's too.
        const t = performance.now();
        try {
          return writeOf(batches);
        } finally {
          ingest.cpuMs += performance.now() - t;
          for (const b of batches) ingest.entries += b.entries.length;
        }
      };
      return;
    }
    const ingestOf = store.ingestBatches.bind(store);
    store.ingestBatches = (batches) => {
      const t = cpuMs();
      try {
        return ingestOf(batches);
      } finally {
        ingest.cpuMs += cpuMs() - t;
        ingest.calls++;
        ingest.batches += batches.length;
        for (const b of batches) ingest.entries += b.entries.length;
      }
    };
  };
  if (kind === 'hub') {
    const { Hub } = await import(pathToFileURL(join(DIST, 'src', 'hub', 'hub.js')).href);
    const store = { path: args.store, ...(args.writer ? { writer: args.writer } : {}) };
    const hub = await Hub.start({ store, host: '127.0.0.1', port, log });
    timed(hub.store);
    close = () => hub.close();
    port = Number(new URL(hub.url()).port);
  } else if (kind === 'store') {
    const { default: Fastify } = await import('fastify');
    const { default: fastifyWebsocket } = await import('@fastify/websocket');
    const { registerAgentStream } = await import(
      pathToFileURL(join(DIST, 'src', 'transport', 'index.js')).href
    );
    const { Store } = await import(pathToFileURL(join(DIST, 'src', 'store', 'index.js')).href);
    const store = Store.open({ path: args.store });
    timed(store);
    const app = Fastify({ logger: false });
    await app.register(fastifyWebsocket, { options: { maxPayload: 64 << 20 } });
    registerAgentStream(app, { target: store, log });
    await app.listen({ host: '127.0.0.1', port });
    port = app.server.address().port;
    close = async () => {
      await app.close();
      store.close();
    };
  } else if (kind === 'noop') {
    // The stream alone: batches parsed, checked and acknowledged, nothing stored (watermarks in
    // memory only), to see what the transport costs on each side.
    const { default: Fastify } = await import('fastify');
    const { default: fastifyWebsocket } = await import('@fastify/websocket');
    const { registerAgentStream } = await import(
      pathToFileURL(join(DIST, 'src', 'transport', 'index.js')).href
    );
    const watermarks = new Map();
    const target = {
      ingest: (source) => {
        watermarks.set(source.agent, source.seq);
        return true;
      },
      watermark: (agent) => watermarks.get(agent) ?? 0,
    };
    timed(target);
    const app = Fastify({ logger: false });
    await app.register(fastifyWebsocket, { options: { maxPayload: 64 << 20 } });
    registerAgentStream(app, { target, log });
    await app.listen({ host: '127.0.0.1', port });
    port = app.server.address().port;
    close = () => app.close();
  } else throw new Error(`--kind is hub, store or noop, not '${kind}'`);
  // The event loop's delays (ms): how long a turn (a batch parsed and stored) held it, plus the
  // time the OS gave the cores to the agents. Reported often: this process is killed with SIGKILL.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = cpuMs();
  const report = () =>
    process.stdout.write(
      `${JSON.stringify({
        event: 'cpu',
        cpuMs: cpuMs() - started,
        ingestCpuMs: ingest.cpuMs,
        ingestEntries: ingest.entries,
        ingestCalls: ingest.calls,
        ingestBatches: ingest.batches,
        storeThread: ingest.thread,
        loopP50Ms: delay.percentile(50) / 1e6,
        loopP99Ms: delay.percentile(99) / 1e6,
        loopMaxMs: delay.max / 1e6,
      })}\n`,
    );
  setInterval(report, 200).unref();
  process.stdout.write(`${JSON.stringify({ event: 'listening', port, kind })}\n`);
  process.on('SIGTERM', async () => {
    report();
    await close();
    process.exit(0);
  });
}

// --- an agent process ------------------------------------------------------------------------------

async function runAgent() {
  const { HubClient } = await import(pathToFileURL(join(DIST, 'src', 'transport', 'index.js')).href);
  const agent = args.agent;
  const seconds = Number(args.seconds);
  const batchRecords = Number(args['batch-records']);
  const window = Number(args.window);
  const { entries: tplEntries, connections: tplConnections } = JSON.parse(
    readFileSync(args.templates, 'utf8'),
  );
  const client = new HubClient({
    url: args.url,
    agent,
    node: agent,
    spoolDir: args.spool,
    batchRecords,
    window,
    maxMemoryBytes: Number(args['max-memory']),
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    log: (m) => process.stderr.write(`${agent}: ${m}\n`),
  });
  client.start();
  let n = 0;
  let connections = 0;
  let peakSpool = 0;
  let peakMemory = 0;
  const entry = (i) => {
    const t = tplEntries[i % tplEntries.length];
    return { ...t, id: `${agent}:${i}`, timestamp: t.timestamp + i, connectionId: i, node: agent };
  };
  const connection = (i) => {
    const t = tplConnections[i % tplConnections.length];
    return { ...t, id: i, node: agent };
  };
  const produce = (count) => {
    for (let k = 0; k < count; k++) {
      client.sendEntry(entry(n));
      // One connection record per five entries, as on a keep-alive HTTP service.
      if (n % 5 === 0) {
        client.sendConnection(connection(n));
        connections++;
      }
      n++;
    }
  };
  const started = Date.now();
  const cpuStarted = cpuMs();
  const end = started + seconds * 1000;
  // Connected: produce while the queue in memory has room and nothing waits in the spool, i.e. as
  // fast as acks come back (the window) and no faster. Not connected: the traffic a real agent sees
  // does not stop, so go on at the rate acks came at before (--down-rate: that many entries/s
  // instead), into memory, then the spool. A full queue is looked at again 10 ms later (it holds
  // 24 MiB, thousands of entries): waking every millisecond cost the agents as much CPU as the
  // stream itself, on cores the hub shares.
  const room = Number(args['max-memory']) * 0.75;
  const fixedRate = args['down-rate'] === 'same' ? null : Number(args['down-rate']);
  let rate = 0;
  let lastDown = Date.now();
  let owed = 0;
  let sample = { t: Date.now(), acked: 0 };
  const progress = setInterval(() => {
    const s = client.status();
    const now = Date.now();
    if (s.connected && now > sample.t)
      rate = (0.5 * (s.acked - sample.acked) * 1000) / (now - sample.t) + 0.5 * rate;
    sample = { t: now, acked: s.acked };
    process.stdout.write(`${JSON.stringify({ event: 'progress', agent, entries: n, acked: s.acked })}\n`);
  }, 250);
  await new Promise((resolve) => {
    const step = () => {
      const now = Date.now();
      if (now >= end) return resolve();
      const s = client.status();
      peakSpool = Math.max(peakSpool, s.spooledBytes);
      peakMemory = Math.max(peakMemory, s.memoryBytes);
      if (s.connected) {
        lastDown = now;
        if (s.spooledBytes === 0 && s.memoryBytes < room) {
          produce(200);
          setImmediate(step);
        } else setTimeout(step, 10);
      } else {
        // Acks count connection records too: one per five entries.
        owed += ((now - lastDown) * (fixedRate ?? (rate * 5) / 6)) / 1000;
        lastDown = now;
        const k = Math.floor(owed);
        owed -= k;
        produce(k);
        setTimeout(step, 5);
      }
    };
    step();
  });
  clearInterval(progress);
  const generatedMs = Date.now() - started;
  const { unacked } = await client.close(300_000);
  const cpu = cpuMs() - cpuStarted;
  // What making the records costs (copying a template), apart from handing them over.
  const g = cpuMs();
  let sink = 0;
  for (let i = 0; i < n; i++) {
    sink += entry(i).connectionId;
    if (i % 5 === 0) sink += connection(i).id;
  }
  const generateCpuMs = cpuMs() - g + (sink < 0 ? 1 : 0);
  const s = client.status();
  process.stdout.write(
    `${JSON.stringify({
      event: 'done',
      agent,
      entries: n,
      connections,
      records: n + connections,
      acked: s.acked,
      dropped: s.dropped,
      unacked,
      reconnects: s.reconnects,
      peakSpoolBytes: peakSpool,
      peakMemoryBytes: peakMemory,
      generatedMs,
      ackedMs: Date.now() - started,
      cpuMs: cpu,
      generateCpuMs,
    })}\n`,
  );
}

// --- the orchestrator ----------------------------------------------------------------------------

/**
 * Real entries and connection records to copy: `bin/podwire analyze --format jsonl` of the HTTP/1
 * captures; if the CLI cannot run in this checkout, the same pipeline in-process (analyzeFiles).
 */
async function templates() {
  const dir = join(ROOT, 'test', 'captures', 'http1');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.pcap'))
    .map((f) => join(dir, f));
  const entries = [];
  const connections = [];
  const out = await new Promise((resolve) =>
    execFile(
      join(ROOT, 'bin', 'podwire'),
      ['analyze', ...files, '--format', 'jsonl'],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ err, stdout, stderr }),
    ),
  );
  if (!out.err) {
    for (const line of out.stdout.split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line);
      if (r.type === 'entry') entries.push(r);
      else if (r.type === 'connection') connections.push(r);
    }
  } else {
    const why = (out.stderr || out.err.message).split('\n').find((l) => /error/i.test(l)) ?? out.err.message;
    process.stderr.write(
      `hub-load: bin/podwire analyze failed (${why.trim()}); running its pipeline in-process\n`,
    );
    const { analyzeFiles } = await import(pathToFileURL(join(DIST, 'src', 'cli', 'analyze.js')).href);
    await analyzeFiles(
      files,
      { tracker: {}, progress: false, decodeAs: new Map(), onEntry: (e) => entries.push(e) },
      (c) => connections.push(c),
    );
  }
  // The HTTP/1 captures include large POST and page bodies (up to the 64 KiB body cap, 88 kB of
  // JSON); by default entries up to 16 KiB are used, closer to an API's calls (--max-entry-bytes 0: all).
  const cap = Number(args['max-entry-bytes']) || Number.POSITIVE_INFINITY;
  const kept = entries.filter((e) => JSON.stringify(e).length <= cap);
  if (!kept.length || !connections.length) throw new Error('no entries found in test/captures/http1');
  return JSON.parse(JSON.stringify({ entries: kept, connections }));
}

function lines(child, onLine) {
  createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      onLine(JSON.parse(l));
    } catch {
      process.stderr.write(`${l}\n`);
    }
  });
}

/** Peak resident set of a live process (Linux: VmHWM in /proc/<pid>/status), bytes. */
function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function startHub(store, port, quiet, kind) {
  const child = spawn(
    process.execPath,
    [
      ...profiling(),
      SELF,
      'hub',
      '--kind',
      kind,
      '--store',
      store,
      '--port',
      String(port),
      ...(args.writer ? ['--writer', args.writer] : []),
    ],
    {
      stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'],
    },
  );
  const hub = { child, peak: 0, ready: null, cpu: null };
  hub.ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the hub exited (${code}) before listening`)));
    lines(child, (m) => {
      if (m.event === 'listening') resolve(m);
      else if (m.event === 'cpu') hub.cpu = m;
    });
  });
  hub.timer = setInterval(() => {
    hub.peak = Math.max(hub.peak, peakRss(child.pid));
  }, 100);
  return hub;
}

/** `--profile DIR`: every child writes a V8 CPU profile there (the killed hub cannot). */
function profiling() {
  return args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
}

function round1(x) {
  return Math.round(x * 10) / 10;
}

/** µs of CPU per entry on each side; the hub's split into the store and the rest. */
function cpuSummary(hubs, results) {
  const hubMs = hubs.reduce((n, h) => n + (h.cpu?.cpuMs ?? 0), 0);
  const ingestMs = hubs.reduce((n, h) => n + (h.cpu?.ingestCpuMs ?? 0), 0);
  const hubEntries = hubs.reduce((n, h) => n + (h.cpu?.ingestEntries ?? 0), 0);
  const agentEntries = results.reduce((n, r) => n + r.entries, 0);
  const agentMs = results.reduce((n, r) => n + r.cpuMs - r.generateCpuMs, 0);
  const generateMs = results.reduce((n, r) => n + r.generateCpuMs, 0);
  const us = (ms, n) => (n ? round1((ms * 1000) / n) : 0);
  const calls = hubs.reduce((n, h) => n + (h.cpu?.ingestCalls ?? 0), 0);
  const batches = hubs.reduce((n, h) => n + (h.cpu?.ingestBatches ?? 0), 0);
  return {
    batchesPerTransaction: calls ? round1(batches / calls) : 0,
    storeThread: hubs.some((h) => h.cpu?.storeThread),
    hubUsPerEntry: us(hubMs, hubEntries),
    hubIngestUsPerEntry: us(ingestMs, hubEntries),
    hubOtherUsPerEntry: us(hubMs - ingestMs, hubEntries),
    agentUsPerEntry: us(agentMs, agentEntries),
    agentGenerateUsPerEntry: us(generateMs, agentEntries),
  };
}

/** Reads the store back: how many times each agent entry id (the store's `localId`) is stored. */
async function storedEntries(path) {
  const { Store } = await import(pathToFileURL(join(DIST, 'src', 'store', 'index.js')).href);
  const store = Store.open({ path });
  const counts = new Map();
  try {
    let cursor;
    for (;;) {
      const page = store.entries({ limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const e of page.entries) counts.set(e.localId, (counts.get(e.localId) ?? 0) + 1);
      if (!page.cursor) break;
      cursor = page.cursor;
    }
  } finally {
    store.close();
  }
  return counts;
}

async function runMain() {
  const kinds = {
    hub: "podwire's hub",
    store: 'the agent stream straight into the store',
    noop: 'the agent stream into a target that stores nothing',
  };
  const agents = Number(args.agents);
  const seconds = Number(args.seconds);
  const killAt = Number(args['kill-at']);
  // --kill-at 0: no kill.
  const kill = killAt > 0 && killAt < 1;
  const downMs = Number(args['down-ms']);
  const quiet = args.json;
  const work = mkdtempSync(join(tmpdir(), 'podwire-hub-load-'));
  const store = join(work, 'hub.db');
  const kind = args.kind ?? 'hub';
  const say = (m) => quiet || process.stdout.write(`${m}\n`);
  try {
    const tpl = await templates();
    const tplPath = join(work, 'templates.json');
    writeFileSync(tplPath, JSON.stringify(tpl));
    say(
      `hub-load: ${agents} agents x ${seconds} s into one hub (${kinds[kind] ?? kind}), ` +
        (kill ? `SIGKILL at ${(seconds * killAt).toFixed(1)} s, back after ${downMs} ms; ` : 'no kill; ') +
        `${tpl.entries.length} template entries from test/captures/http1 (mean ${Math.round(
          tpl.entries.reduce((n, e) => n + JSON.stringify(e).length, 0) / tpl.entries.length,
        )} bytes of JSON)`,
    );
    const hubs = [startHub(store, 0, quiet, kind)];
    const { port } = await hubs[0].ready;
    const url = `http://127.0.0.1:${port}`;
    const started = Date.now();
    const results = [];
    const progress = new Map();
    const children = [];
    for (let i = 0; i < agents; i++) {
      const agent = `agent-${i}`;
      const child = spawn(
        process.execPath,
        [
          ...profiling(),
          SELF,
          'agent',
          '--url',
          url,
          '--agent',
          agent,
          '--templates',
          tplPath,
          '--spool',
          join(work, 'spool'),
          '--seconds',
          String(seconds),
          '--batch-records',
          args['batch-records'],
          '--window',
          args.window,
          '--down-rate',
          args['down-rate'],
          '--max-memory',
          args['max-memory'],
        ],
        { stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'] },
      );
      children.push(
        new Promise((resolve) => {
          lines(child, (m) => {
            if (m.event === 'done') results.push(m);
            else if (m.event === 'progress') progress.set(m.agent, m);
          });
          child.on('exit', resolve);
        }),
      );
    }
    let killedAt = null;
    // Records (entries and connections) acknowledged before the kill (or in the whole run): the steady rate.
    let ackedSteady = 0;
    if (kill) {
      await new Promise((r) => setTimeout(r, seconds * killAt * 1000));
      killedAt = Date.now() - started;
      ackedSteady = [...progress.values()].reduce((n, p) => n + p.acked, 0);
      hubs[0].peak = Math.max(hubs[0].peak, peakRss(hubs[0].child.pid));
      hubs[0].child.kill('SIGKILL');
      clearInterval(hubs[0].timer);
      await new Promise((r) => hubs[0].child.once('exit', r));
      say(`  hub killed (SIGKILL) at ${(killedAt / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, downMs));
      hubs.push(startHub(store, port, quiet, kind));
      await hubs[1].ready;
      say(`  hub back on port ${port} after ${((Date.now() - started - killedAt) / 1000).toFixed(1)} s`);
    }
    await Promise.all(children);
    const wallMs = Date.now() - started;
    if (!kill) ackedSteady = results.reduce((n, r) => n + r.acked, 0);
    const last = hubs[hubs.length - 1];
    last.peak = Math.max(last.peak, peakRss(last.child.pid));
    clearInterval(last.timer);
    last.child.kill('SIGTERM');
    await new Promise((r) => last.child.once('exit', r));

    // Read back: each agent's acknowledged entries exactly once (a noop hub keeps nothing).
    const counts = kind === 'noop' ? null : await storedEntries(store);
    const problems = [];
    let stored = 0;
    for (const r of results) {
      if (r.dropped > 0)
        problems.push(`${r.agent}: dropped ${r.dropped} records (spool too small for the outage?)`);
      if (!counts) {
        if (r.acked !== r.records)
          problems.push(`${r.agent}: ${r.records - r.acked} records not acknowledged`);
        continue;
      }
      let present = 0;
      for (let i = 0; i < r.entries; i++) {
        const c = counts.get(`${r.agent}:${i}`) ?? 0;
        if (c > 1) problems.push(`${r.agent}:${i} stored ${c} times`);
        if (c > 0) present++;
      }
      stored += present;
      if (r.dropped === 0 && r.unacked === 0 && present !== r.entries)
        problems.push(`${r.agent}: ${r.entries - present} acknowledged entries missing`);
    }
    if (results.length !== agents) problems.push(`${agents - results.length} agents did not report`);
    const extra = counts ? counts.size - stored : 0;
    if (extra > 0) problems.push(`${extra} stored entries no agent reported`);
    const total = results.reduce((n, r) => n + r.entries, 0);
    const summary = {
      kind,
      agents,
      seconds,
      killedAtMs: killedAt,
      downMs,
      wallMs,
      entries: total,
      connections: results.reduce((n, r) => n + r.connections, 0),
      storedEntries: counts ? stored : null,
      entriesPerSecond: Math.round(total / (wallMs / 1000)),
      recordsPerSecondBeforeKill: Math.round(ackedSteady / ((killedAt ?? wallMs) / 1000)),
      meanEntryBytes: Math.round(
        tpl.entries.reduce((n, e) => n + JSON.stringify(e).length, 0) / tpl.entries.length,
      ),
      hubPeakRssBytes: hubs.map((h) => h.peak),
      cpu: cpuSummary(hubs, results),
      hubEventLoopMs: hubs.map((h) => ({
        p50: round1(h.cpu?.loopP50Ms ?? 0),
        p99: round1(h.cpu?.loopP99Ms ?? 0),
        max: round1(h.cpu?.loopMaxMs ?? 0),
      })),
      loadAverage: loadavg().map(round1),
      perAgent: results,
      problems,
      ok: problems.length === 0,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      for (const r of results.sort((a, b) => a.agent.localeCompare(b.agent)))
        say(
          `  ${r.agent}: ${r.entries.toLocaleString()} entries + ${r.connections.toLocaleString()} connections, ` +
            `acked ${r.acked.toLocaleString()}, dropped ${r.dropped}, unacked ${r.unacked}, reconnects ${r.reconnects}, ` +
            `peak spool ${(r.peakSpoolBytes / 1e6).toFixed(1)} MB, peak queue memory ${(r.peakMemoryBytes / 1e6).toFixed(1)} MB`,
        );
      say(
        counts
          ? `  stored: ${stored.toLocaleString()} of ${total.toLocaleString()} entries, each exactly once: ${problems.length ? 'NO' : 'yes'}`
          : `  acknowledged: every record: ${problems.length ? 'NO' : 'yes'} (nothing stored: --kind noop)`,
      );
      say(
        `  throughput: ${summary.entriesPerSecond.toLocaleString()} entries/s (${total.toLocaleString()} entries in ${(wallMs / 1000).toFixed(1)} s${kill ? ', the outage and the replay included' : ''}); ` +
          `${kill ? 'before the kill ' : ''}${summary.recordsPerSecondBeforeKill.toLocaleString()} records/s acknowledged (entries and connections)`,
      );
      // Per hub process: the one killed, then the one started again.
      const perHub = (parts) =>
        parts.length > 1 ? `${parts[0]} before the kill, ${parts[1]} after the restart` : parts[0];
      say(`  hub peak RSS: ${perHub(hubs.map((h) => `${(h.peak / 1e6).toFixed(0)} MB`))}`);
      const c = summary.cpu;
      say(
        `  CPU per entry (its share of connection records included): hub ${c.hubUsPerEntry} µs ` +
          (c.storeThread
            ? `(preparing the store's rows on the main thread ${c.hubIngestUsPerEntry} µs; the rest, the store's writer thread included, ${c.hubOtherUsPerEntry} µs), `
            : `(the store ${c.hubIngestUsPerEntry} µs, ${c.batchesPerTransaction} batches per transaction; the rest ${c.hubOtherUsPerEntry} µs), `) +
          `agents ${c.agentUsPerEntry} µs (+ ${c.agentGenerateUsPerEntry} µs making the copies)`,
      );
      say(
        `  hub event loop delay (p50/p99/max ms): ${perHub(summary.hubEventLoopMs.map((l) => `${l.p50}/${l.p99}/${l.max}`))}; ` +
          `load average ${summary.loadAverage.join(' ')}`,
      );
      for (const p of problems.slice(0, 20)) say(`  PROBLEM: ${p}`);
    }
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  }
}
