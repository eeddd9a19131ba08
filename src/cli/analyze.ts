/**
 * `podwire analyze FILE...`: runs the pipeline over capture files and prints connections and a
 * summary. jsonl streams each connection as it leaves the tracker, so memory stays flat on big files.
 */
import { parseArgs } from 'node:util';
import { readCaptureFile } from '../capture/file-source.js';
import type { Entry } from '../dissect/entry.js';
import { dissectorNames, parseDecodeAs } from '../dissect/registry.js';
import type { CloseReason, ConnectionRecord } from '../flows/connection.js';
import { PAGE_BYTES, type TrackerOptions } from '../flows/tracker.js';
import { Pipeline, type ProtocolStats } from '../pipeline/pipeline.js';
import type { ErrorCode } from '../wire/errors.js';
import { ProgressBar } from './progress.js';
import { renderConnections, renderEntries, renderSummary } from './table.js';
import { parseCount, parseDuration, UsageError } from './usage-error.js';

export const ANALYZE_USAGE = `usage: podwire analyze FILE... [options]

Reads pcap or pcapng files (plain or gzipped) and prints their TCP connections and a summary.

options:
  --format table|jsonl|json        output format (default: table)
  --decode-as PORT=NAME            dissect traffic on PORT as NAME (repeatable); tshark's form
                                   tcp.port==PORT,NAME is accepted too, with tshark's names
  --connections-only               track TCP connections only, no L7 dissection (faster)
  --max-connections N              connections followed at once (default 262144)
  --max-pages-per-connection N     out-of-order buffer per connection, in ${PAGE_BYTES}-byte pages (default 4000)
  --max-pages-total N              out-of-order buffer for all connections, in pages (default 150000)
  --flush-period DURATION          how often stale holes and idle connections are handled (default 10s)
  --close-older-than DURATION      close a connection idle this long as 'timeout' (default 10m)
  --close-linger DURATION          keep a closed connection this long for late packets (default 5s)
  --no-progress                    never draw the progress bar (it is drawn only on a terminal)
  -h, --help                       this help`;

export interface FileSummary {
  path: string;
  format: string;
  linkTypes: number[];
  packets: number;
  error?: string;
  errorOffset?: number;
}

export interface AnalyzeSummary {
  type: 'summary';
  files: FileSummary[];
  packets: number;
  bytes: number;
  tcpPackets: number;
  udpPackets: number;
  otherPackets: number;
  fragments: number;
  badPackets: number;
  connections: number;
  entries: number;
  protocols: ProtocolStats;
  closeReasons: Partial<Record<CloseReason, number>>;
  errors: Partial<Record<ErrorCode, number>>;
  firstTs: number;
  lastTs: number;
}

export interface AnalyzeOptions {
  tracker: Partial<TrackerOptions>;
  progress: boolean;
  /** Dissect L7 (default true); `onEntry` receives the entries. */
  dissect?: boolean;
  decodeAs?: ReadonlyMap<number, string>;
  onEntry?: (entry: Entry) => void;
}

export interface AnalyzeResult {
  summary: AnalyzeSummary;
  /** True when any file ended early or was corrupt. */
  failed: boolean;
}

/** Runs the pipeline over `files` in order (one tracker, so a capture split into files continues). */
export async function analyzeFiles(
  files: string[],
  options: AnalyzeOptions,
  onConnection: (rec: ConnectionRecord) => void,
): Promise<AnalyzeResult> {
  const closeReasons: Partial<Record<CloseReason, number>> = {};
  const onEntry = options.onEntry ?? (() => {});
  const pipeline = new Pipeline(
    (conn) => {
      const rec = conn.toRecord();
      closeReasons[rec.closeReason] = (closeReasons[rec.closeReason] ?? 0) + 1;
      onConnection(rec);
    },
    options.tracker,
    options.dissect === false
      ? null
      : { onEntry, ...(options.decodeAs ? { decodeAs: options.decodeAs } : {}) },
  );
  const summaries: FileSummary[] = [];
  let failed = false;
  for (const path of files) {
    const bar = new ProgressBar(
      path.length > 30 ? `...${path.slice(-27)}` : path,
      process.stderr,
      options.progress,
    );
    let result: Awaited<ReturnType<typeof readCaptureFile>>;
    try {
      result = await readCaptureFile(path, pipeline.onPacket, pipeline.errors, {
        onProgress: (done, total) => bar.update(done, total, pipeline.stats.packets),
      });
    } finally {
      bar.done();
    }
    const fs: FileSummary = {
      path,
      format: result.format,
      linkTypes: result.linkTypes,
      packets: result.packets,
    };
    if (result.error) {
      failed = true;
      fs.error = result.error.message;
      fs.errorOffset = result.error.offset;
    }
    summaries.push(fs);
  }
  pipeline.finish();
  const s = pipeline.stats;
  return {
    failed,
    summary: {
      type: 'summary',
      files: summaries,
      packets: s.packets,
      bytes: s.bytes,
      tcpPackets: s.tcpPackets,
      udpPackets: s.udpPackets,
      otherPackets: s.otherPackets,
      fragments: s.fragments,
      badPackets: s.badPackets,
      connections: s.connections,
      entries: s.entries,
      protocols: pipeline.protocols,
      closeReasons,
      errors: pipeline.errors.toJSON(),
      firstTs: s.firstTs,
      lastTs: s.lastTs,
    },
  };
}

function parseAnalyzeArgs(
  argv: string[],
): { files: string[]; format: string; options: AnalyzeOptions } | null {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'table' },
        'max-connections': { type: 'string' },
        'max-pages-per-connection': { type: 'string' },
        'max-pages-total': { type: 'string' },
        'flush-period': { type: 'string' },
        'close-older-than': { type: 'string' },
        'close-linger': { type: 'string' },
        'no-progress': { type: 'boolean', default: false },
        'decode-as': { type: 'string', multiple: true },
        'connections-only': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return null;
  const format = String(v.format);
  if (!['table', 'jsonl', 'json'].includes(format)) {
    throw new UsageError(`--format takes table, jsonl or json, not '${format}'`);
  }
  if (parsed.positionals.length === 0)
    throw new UsageError('name at least one capture file (pcap or pcapng)');
  const tracker: Partial<TrackerOptions> = {};
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const count = (k: string): number | undefined => {
    const x = str(k);
    return x === undefined ? undefined : parseCount(k, x);
  };
  const duration = (k: string): number | undefined => {
    const x = str(k);
    return x === undefined ? undefined : parseDuration(k, x);
  };
  const maxConnections = count('max-connections');
  const pagesPerConnection = count('max-pages-per-connection');
  const pagesTotal = count('max-pages-total');
  const flushPeriod = duration('flush-period');
  const closeOlderThan = duration('close-older-than');
  const closeLinger = duration('close-linger');
  if (maxConnections !== undefined) tracker.maxConnections = maxConnections;
  if (pagesPerConnection !== undefined) tracker.maxBufferedPerConnection = pagesPerConnection * PAGE_BYTES;
  if (pagesTotal !== undefined) tracker.maxBufferedTotal = pagesTotal * PAGE_BYTES;
  if (flushPeriod !== undefined) tracker.flushPeriodMicros = flushPeriod;
  if (closeOlderThan !== undefined) tracker.closeOlderThanMicros = closeOlderThan;
  if (closeLinger !== undefined) tracker.closeLingerMicros = closeLinger;
  const decodeAs = new Map<number, string>();
  for (const rule of (v['decode-as'] as string[] | undefined) ?? []) {
    const r = parseDecodeAs(rule);
    if (!r) {
      throw new UsageError(
        `--decode-as takes PORT=NAME or tcp.port==PORT,NAME with NAME one of ${dissectorNames().join(', ') || '(no dissectors yet)'}, not '${rule}'`,
      );
    }
    decodeAs.set(r.port, r.name);
  }
  return {
    files: parsed.positionals,
    format,
    options: {
      tracker,
      progress: !v['no-progress'] && Boolean(process.stderr.isTTY),
      dissect: !v['connections-only'],
      decodeAs,
    },
  };
}

/** Writes to stdout, waiting when the pipe is full so output is never lost or buffered without bound. */
class Out {
  private buf: string[] = [];
  private size = 0;
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.buf.length) process.stdout.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
}

export async function runAnalyze(argv: string[]): Promise<number> {
  const args = parseAnalyzeArgs(argv);
  if (!args) {
    process.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  const out = new Out();
  const records: ConnectionRecord[] = [];
  const entries: Entry[] = [];
  const streaming = args.format === 'jsonl';
  const onConnection = streaming
    ? (rec: ConnectionRecord) => out.write(`${JSON.stringify(rec)}\n`)
    : (rec: ConnectionRecord) => records.push(rec);
  const onEntry = streaming
    ? (e: Entry) => out.write(`${JSON.stringify(e)}\n`)
    : (e: Entry) => entries.push(e);
  const { summary, failed } = await analyzeFiles(args.files, { ...args.options, onEntry }, onConnection);
  records.sort((a, b) => a.start - b.start || a.id - b.id);
  entries.sort((a, b) => a.timestamp - b.timestamp);
  if (streaming) {
    out.write(`${JSON.stringify(summary)}\n`);
  } else if (args.format === 'json') {
    out.write(`${JSON.stringify({ entries, connections: records, summary }, null, 2)}\n`);
  } else {
    if (entries.length) out.write(`${renderEntries(entries)}\n\n`);
    if (records.length) out.write(`${renderConnections(records)}\n\n`);
    out.write(`${renderSummary(summary)}\n`);
  }
  out.flush();
  for (const f of summary.files) if (f.error) process.stderr.write(`podwire: ${f.path}: ${f.error}\n`);
  return failed ? 1 : 0;
}
