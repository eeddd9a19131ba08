#!/usr/bin/env node
/**
 * The benchmark's last step (bench/run.sh runs it): reads what the timed runs left behind — GNU time's
 * `-v` reports, podwire's summary line, capinfos' count, tshark's protocol hierarchy, tcpdump's log —
 * prints the table and the ratio, and writes results.json.
 *
 * Exits 1 when podwire's packet count disagrees with capinfos': then podwire misread the capture and
 * its speed means nothing. The goals are printed, not enforced, so small smoke runs (where node's
 * start-up dominates) still pass.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Goals per podwire mode: connections only (the engine), and with every stream dissected. */
const GOALS = {
  connections: { packetsPerSecond: 1_000_000, ratio: 30, peakRssMB: null },
  dissect: { packetsPerSecond: null, ratio: 20, peakRssMB: 300 },
  /** Every entry serialised: no goal of its own, shown for what it costs. */
  'dissect-jsonl': null,
  /** The same, every endpoint named from a 10,000-pod Kubernetes snapshot. */
  'k8s-jsonl': null,
};

const { values: args } = parseArgs({
  options: {
    capture: { type: 'string' },
    capinfos: { type: 'string' },
    'podwire-summary': { type: 'string', multiple: true },
    'podwire-time': { type: 'string', multiple: true },
    'tshark-time': { type: 'string' },
    'tshark-phs': { type: 'string' },
    'tcpdump-log': { type: 'string' },
    out: { type: 'string' },
  },
});

function required(name) {
  const v = args[name];
  if (v === undefined || (Array.isArray(v) && v.length === 0)) fail(`report.mjs: --${name} is required`);
  return v;
}

function fail(message) {
  process.stderr.write(`bench: error: ${message}\n`);
  process.exit(1);
}

/** Wall seconds and peak RSS (bytes) from a `/usr/bin/time -v` report. */
function readTime(path) {
  const text = readFileSync(path, 'utf8');
  // "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34" or "0:01:02"
  const wall = /Elapsed \(wall clock\) time \([^)]*\):\s*([\d:.]+)/.exec(text);
  const rss = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text);
  if (!wall || !rss) fail(`${path} is not a GNU time -v report`);
  const seconds = wall[1].split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  // time -v has 10 ms resolution; a zero would divide by zero below.
  return { wallSeconds: Math.max(seconds, 0.01), peakRssBytes: Number(rss[1]) * 1024 };
}

/** The total packet count from `capinfos -c -M`. */
function readCapinfos(path) {
  const m = /Number of packets:\s*(\d+)\s*$/m.exec(readFileSync(path, 'utf8'));
  if (!m) fail(`no packet count in ${path}`);
  return Number(m[1]);
}

/** Frames tshark saw: the sum over the unindented (link-layer) lines of `-z io,phs`. */
function readPhsFrames(path) {
  let frames = 0;
  let seen = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(\S+)\s+frames:(\d+)\s/.exec(line);
    if (m) {
      frames += Number(m[2]);
      seen = true;
    }
  }
  return seen ? frames : null;
}

/** tcpdump's final counters (the three lines it prints on exit), or null. */
function readTcpdump(path) {
  const text = readFileSync(path, 'utf8');
  const count = (what) => {
    const m = new RegExp(`^(\\d+) packets? ${what}$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  return {
    captured: count('captured'),
    receivedByFilter: count('received by filter'),
    droppedByKernel: count('dropped by kernel'),
  };
}

function tsharkVersion() {
  try {
    return execFileSync('tshark', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      .trim();
  } catch {
    return 'unknown';
  }
}

const capture = required('capture');
const fileBytes = statSync(capture).size;
const capinfosPackets = readCapinfos(required('capinfos'));

/** `mode=path` arguments, grouped by mode. */
function byMode(values) {
  const out = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) fail(`expected MODE=PATH, got '${v}'`);
    const mode = v.slice(0, eq);
    if (!(mode in GOALS)) fail(`unknown mode '${mode}'`);
    if (!out[mode]) out[mode] = [];
    out[mode].push(v.slice(eq + 1));
  }
  return out;
}

function readSummary(path) {
  const line = readFileSync(path, 'utf8').trimEnd().split('\n').at(-1) ?? '';
  let summary;
  try {
    summary = JSON.parse(line);
  } catch {
    fail(`podwire's last jsonl line is not JSON: ${line.slice(0, 200)}`);
  }
  if (summary?.type !== 'summary') fail(`podwire's last jsonl line is not its summary: ${line}`);
  return summary;
}

const summaries = Object.fromEntries(
  Object.entries(byMode(required('podwire-summary'))).map(([mode, [path]]) => [mode, readSummary(path)]),
);
// Best of N: the fastest run is the one least disturbed by the rest of the machine.
const timesByMode = byMode(required('podwire-time'));
const modes = Object.keys(GOALS).filter((m) => timesByMode[m] && summaries[m]);
if (modes.length === 0) fail('no podwire mode has both a summary and a time');
const podwireRunsByMode = Object.fromEntries(modes.map((m) => [m, timesByMode[m].map(readTime)]));
const tsharkRun = readTime(required('tshark-time'));
const tsharkFrames = readPhsFrames(required('tshark-phs'));
const tcpdump = args['tcpdump-log'] ? readTcpdump(args['tcpdump-log']) : null;

// Rates use capinfos' count for both tools (the same file; podwire's own count must equal it).
// MB is 10^6 bytes, for throughput and RSS alike.
const rates = (run) => ({
  wallSeconds: run.wallSeconds,
  packetsPerSecond: capinfosPackets / run.wallSeconds,
  mbPerSecond: fileBytes / 1e6 / run.wallSeconds,
  peakRssMB: run.peakRssBytes / 1e6,
});
const tshark = { packets: tsharkFrames, ...rates(tsharkRun) };
const podwire = {};
for (const m of modes) {
  const runs = podwireRunsByMode[m];
  const best = runs.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
  const summary = summaries[m];
  const r = { packets: summary.packets, entries: summary.entries ?? 0, ...rates(best) };
  r.entriesPerSecond = r.entries / r.wallSeconds;
  r.ratio = r.packetsPerSecond / tshark.packetsPerSecond;
  const goal = GOALS[m];
  r.goals = goal && {
    ...goal,
    packetsPerSecondMet: goal.packetsPerSecond === null ? null : r.packetsPerSecond >= goal.packetsPerSecond,
    ratioMet: r.ratio >= goal.ratio,
    peakRssMet: goal.peakRssMB === null ? null : r.peakRssMB < goal.peakRssMB,
  };
  r.runs = runs.map((x) => ({ wallSeconds: x.wallSeconds, peakRssMB: x.peakRssBytes / 1e6 }));
  r.summary = summary;
  podwire[m] = r;
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const fixed = (n, d) => n.toFixed(d);
const rows = [
  ['tool', 'packets', 'entries', 'wall s', 'packets/s', 'entries/s', 'MB/s', 'peak RSS MB', 'vs tshark'],
  ...[...modes.map((m) => [`podwire (${m})`, podwire[m]]), ['tshark -z io,phs', tshark]].map(([name, r]) => [
    name,
    r.packets === null ? '?' : int(r.packets),
    r.entries === undefined ? '-' : int(r.entries),
    fixed(r.wallSeconds, 2),
    int(r.packetsPerSecond),
    r.entriesPerSecond === undefined ? '-' : int(r.entriesPerSecond),
    fixed(r.mbPerSecond, 1),
    fixed(r.peakRssMB, 1),
    r.ratio === undefined ? '1x' : `${fixed(r.ratio, 1)}x`,
  ]),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const table = rows
  .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
  .join('\n');

const yes = (met) => (met ? 'met' : 'NOT met');
const goalLines = modes
  .filter((m) => podwire[m].goals)
  .map((m) => {
    const r = podwire[m];
    const g = r.goals;
    const parts = [];
    if (g.packetsPerSecond !== null)
      parts.push(`>= ${int(g.packetsPerSecond)} packets/s ${yes(g.packetsPerSecondMet)}`);
    parts.push(`>= ${g.ratio}x tshark ${yes(g.ratioMet)}`);
    if (g.peakRssMB !== null) parts.push(`peak RSS < ${g.peakRssMB} MB ${yes(g.peakRssMet)}`);
    return `goal (${m}): ${parts.join(', ')}`;
  });
const s0 = summaries[modes[0]];
// Entries per second by protocol (HTTP requests/s, Redis commands/s...), over the dissect run's wall.
const protocolLine = summaries.dissect?.protocols
  ? `podwire (dissect) entries by protocol: ${Object.entries(summaries.dissect.protocols)
      .map(
        ([p, v]) =>
          `${p} ${int(v.entries)} (${int(v.entries / podwire.dissect.wallSeconds)}/s)` +
          (v.parseErrors ? ` with ${int(v.parseErrors)} parse errors` : ''),
      )
      .join(', ')}`
  : null;

const lines = [
  '',
  `capture: ${capture}`,
  `  ${int(capinfosPackets)} packets (capinfos), ${fixed(fileBytes / 1e6, 1)} MB` +
    (tcpdump ? `, tcpdump dropped ${tcpdump.droppedByKernel ?? '?'} by kernel` : '') +
    // Received by the filter but never written: tcpdump stopped before the kernel handed them over.
    (tcpdump && tcpdump.receivedByFilter > tcpdump.captured
      ? ` and lost ${tcpdump.receivedByFilter - tcpdump.captured} at stop`
      : ''),
  `podwire summary: tcp ${int(s0.tcpPackets)}, udp ${int(s0.udpPackets)}, other ${int(s0.otherPackets)}, ` +
    `fragments ${int(s0.fragments)}, bad ${int(s0.badPackets)}, connections ${int(s0.connections)}, ` +
    `errors ${JSON.stringify(s0.errors)}`,
  ...(protocolLine ? [protocolLine] : []),
  ...modes.map(
    (m) =>
      `podwire (${m}): best of ${podwire[m].runs.length} (walls ${podwire[m].runs.map((r) => fixed(r.wallSeconds, 2)).join(', ')} s)`,
  ),
  '',
  table,
  '',
  ...goalLines,
  '',
];
process.stdout.write(lines.join('\n'));

const countsAgree = modes.every((m) => summaries[m].packets === capinfosPackets);
const results = {
  date: new Date().toISOString(),
  versions: { node: process.version, tshark: tsharkVersion() },
  packets: capinfosPackets,
  capture: {
    path: capture,
    bytes: fileBytes,
    packets: capinfosPackets,
    tcpdump,
  },
  podwire,
  tshark,
  countsAgree,
};
// Arrays of numbers and strings on one line, as biome formats JSON: `npm run lint` also walks the
// git-ignored bench/out, and JSON.stringify's one-item-per-line arrays would fail it.
const json = JSON.stringify(results, null, 2).replace(
  /\[\n\s*([^[\]{}]*?)\n\s*\]/g,
  (_, items) => `[${items.split(/,\n\s*/).join(', ')}]`,
);
writeFileSync(required('out'), `${json}\n`);

if (!countsAgree) {
  fail(
    `podwire counted ${modes.map((m) => `${summaries[m].packets} (${m})`).join(', ')} packets but capinfos counts ${capinfosPackets} in ${capture}`,
  );
}
if (tsharkFrames !== null && tsharkFrames !== capinfosPackets) {
  process.stderr.write(
    `bench: warning: tshark's io,phs shows ${tsharkFrames} frames, capinfos ${capinfosPackets}\n`,
  );
}
