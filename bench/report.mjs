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

const GOAL_PPS = 1_000_000;
const GOAL_RATIO = 30;

const { values: args } = parseArgs({
  options: {
    capture: { type: 'string' },
    capinfos: { type: 'string' },
    'podwire-summary': { type: 'string' },
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

const summaryLine = readFileSync(required('podwire-summary'), 'utf8').trimEnd().split('\n').at(-1) ?? '';
let summary;
try {
  summary = JSON.parse(summaryLine);
} catch {
  fail(`podwire's last jsonl line is not JSON: ${summaryLine.slice(0, 200)}`);
}
if (summary?.type !== 'summary') fail(`podwire's last jsonl line is not its summary: ${summaryLine}`);

// Best of N: the fastest run is the one least disturbed by the rest of the machine.
const podwireRuns = required('podwire-time').map(readTime);
const podwireBest = podwireRuns.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
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
const podwire = { packets: summary.packets, ...rates(podwireBest) };
const tshark = { packets: tsharkFrames, ...rates(tsharkRun) };
const ratio = podwire.packetsPerSecond / tshark.packetsPerSecond;

const int = (n) => Math.round(n).toLocaleString('en-US');
const fixed = (n, d) => n.toFixed(d);
const rows = [
  ['tool', 'packets', 'wall s', 'packets/s', 'MB/s', 'peak RSS MB'],
  ...[
    ['podwire', podwire],
    ['tshark', tshark],
  ].map(([name, r]) => [
    name,
    r.packets === null ? '?' : int(r.packets),
    fixed(r.wallSeconds, 2),
    int(r.packetsPerSecond),
    fixed(r.mbPerSecond, 1),
    fixed(r.peakRssMB, 1),
  ]),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const table = rows
  .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
  .join('\n');

const lines = [
  '',
  `capture: ${capture}`,
  `  ${int(capinfosPackets)} packets (capinfos), ${fixed(fileBytes / 1e6, 1)} MB` +
    (tcpdump ? `, tcpdump dropped ${tcpdump.droppedByKernel ?? '?'} by kernel` : '') +
    // Received by the filter but never written: tcpdump stopped before the kernel handed them over.
    (tcpdump && tcpdump.receivedByFilter > tcpdump.captured
      ? ` and lost ${tcpdump.receivedByFilter - tcpdump.captured} at stop`
      : ''),
  `podwire summary: tcp ${int(summary.tcpPackets)}, udp ${int(summary.udpPackets)}, other ${int(summary.otherPackets)}, ` +
    `fragments ${int(summary.fragments)}, bad ${int(summary.badPackets)}, connections ${int(summary.connections)}, ` +
    `errors ${JSON.stringify(summary.errors)}`,
  `podwire: best of ${podwireRuns.length} (walls ${podwireRuns.map((r) => fixed(r.wallSeconds, 2)).join(', ')} s)`,
  '',
  table,
  '',
  `ratio podwire/tshark: ${fixed(ratio, 1)}x (packets/s)`,
  `goal: >= ${int(GOAL_PPS)} packets/s ${podwire.packetsPerSecond >= GOAL_PPS ? 'met' : 'NOT met'}, ` +
    `>= ${GOAL_RATIO}x tshark ${ratio >= GOAL_RATIO ? 'met' : 'NOT met'}`,
  '',
];
process.stdout.write(lines.join('\n'));

const countsAgree = summary.packets === capinfosPackets;
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
  podwire: {
    ...podwire,
    runs: podwireRuns.map((r) => ({ wallSeconds: r.wallSeconds, peakRssMB: r.peakRssBytes / 1e6 })),
    summary,
  },
  tshark,
  ratio,
  goals: {
    packetsPerSecond: GOAL_PPS,
    ratio: GOAL_RATIO,
    packetsPerSecondMet: podwire.packetsPerSecond >= GOAL_PPS,
    ratioMet: ratio >= GOAL_RATIO,
  },
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
  fail(`podwire counted ${summary.packets} packets but capinfos counts ${capinfosPackets} in ${capture}`);
}
if (tsharkFrames !== null && tsharkFrames !== capinfosPackets) {
  process.stderr.write(
    `bench: warning: tshark's io,phs shows ${tsharkFrames} frames, capinfos ${capinfosPackets}\n`,
  );
}
