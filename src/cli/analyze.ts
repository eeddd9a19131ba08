/**
 * `podwire analyze FILE...`: runs the pipeline over capture files and prints connections and a
 * summary. jsonl streams each connection as it leaves the tracker, so memory stays flat on big files.
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readCaptureFile } from '../capture/file-source.js';
import type { Entry } from '../dissect/entry.js';
import type { GrpcSchema } from '../dissect/grpc/schema.js';
import type { ExternalNamerOptions } from '../enrich/external/index.js';
import { Naming, NamingError, type NamingOptions } from '../enrich/naming.js';
import type { CloseReason, ConnectionRecord } from '../flows/connection.js';
import { PAGE_BYTES, type TrackerOptions } from '../flows/tracker.js';
import { Pipeline, type ProtocolStats } from '../pipeline/pipeline.js';
import type { ErrorCode } from '../wire/errors.js';
import { decodeAsFlags, trackerFlags } from './pipeline-flags.js';
import { ProgressBar } from './progress.js';
import { renderConnections, renderEntries, renderSummary } from './table.js';
import { UsageError } from './usage-error.js';

export const ANALYZE_USAGE = `usage: podwire analyze FILE... [options]

Reads pcap or pcapng files (plain or gzipped) and prints what they hold: L7 entries (HTTP, gRPC,
DNS, TLS handshakes, ...), TCP connections, and a summary.

options:
  --format table|jsonl|json|summary
                                   output format (default: table); summary prints only the
                                   totals (packets, connections, entries per protocol, errors),
                                   as tshark -q does
  --decode-as PORT=NAME            dissect traffic on PORT as NAME (repeatable); tshark's form
                                   tcp.port==PORT,NAME is accepted too, with tshark's names
  --proto FILE                     decode gRPC messages with field names from the services in
                                   this .proto file (repeatable)
  --proto-path DIR                 where the imports of --proto files are found (repeatable;
                                   then beside the importing file; google/protobuf types built in)
  --k8s SNAPSHOT                   name endpoints by Kubernetes identity from a cluster snapshot
                                   ('podwire snapshot', or kubectl get pods,services,endpointslices,
                                   nodes,replicasets,deployments,statefulsets,daemonsets,jobs,
                                   cronjobs -A -o json) (repeatable)
  --namespace-include REGEX        keep records with either endpoint's namespace matching (needs --k8s)
  --namespace-exclude REGEX        drop records with either endpoint's namespace matching (needs --k8s)
  --workload-include REGEX         keep records with either endpoint's IP, name or workload matching
  --workload-exclude REGEX         drop records with either endpoint's IP, name or workload matching
  --no-reverse-dns                 do not name outside addresses by reverse DNS (PTR) lookups
  --geoip-city FILE                country and city of outside addresses (GeoLite2-City .mmdb file)
  --geoip-asn FILE                 AS number and organisation of outside addresses (GeoLite2-ASN .mmdb)
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
  /** Of the packets, those decoded from inside a tunnel (VXLAN, Geneve, IP in IP, GRE). */
  tunnelledPackets: number;
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
  /** Backpressure from the output (see FileSourceOptions.pace). */
  pace?: () => Promise<void> | undefined;
  /** gRPC messages decoded with field names (--proto). */
  grpcSchema?: GrpcSchema;
  onEntry?: (entry: Entry) => void;
  /** False: onEntry reads no request/response (Pipeline DissectOptions.detail). */
  detail?: boolean;
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
      : {
          onEntry,
          ...(options.detail === false ? { detail: false } : {}),
          ...(options.decodeAs ? { decodeAs: options.decodeAs } : {}),
          ...(options.grpcSchema ? { grpcSchema: options.grpcSchema } : {}),
        },
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
        ...(options.pace ? { pace: options.pace } : {}),
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
      tunnelledPackets: pipeline.decoder.tunnelled,
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
): { files: string[]; format: string; options: AnalyzeOptions; proto: ProtoArgs; naming: Naming } | null {
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
        proto: { type: 'string', multiple: true },
        'proto-path': { type: 'string', multiple: true },
        k8s: { type: 'string', multiple: true },
        'namespace-include': { type: 'string' },
        'namespace-exclude': { type: 'string' },
        'workload-include': { type: 'string' },
        'workload-exclude': { type: 'string' },
        'no-reverse-dns': { type: 'boolean', default: false },
        'geoip-city': { type: 'string' },
        'geoip-asn': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return null;
  const format = String(v.format);
  if (!['table', 'jsonl', 'json', 'summary'].includes(format)) {
    throw new UsageError(`--format takes table, jsonl, json or summary, not '${format}'`);
  }
  if (parsed.positionals.length === 0)
    throw new UsageError('name at least one capture file (pcap or pcapng)');
  const tracker = trackerFlags(v);
  const decodeAs = decodeAsFlags(v);
  const proto = protoArgs(
    (v.proto as string[] | undefined) ?? [],
    (v['proto-path'] as string[] | undefined) ?? [],
  );
  return {
    files: parsed.positionals,
    format,
    options: {
      tracker,
      progress: !v['no-progress'] && Boolean(process.stderr.isTTY),
      dissect: !v['connections-only'],
      decodeAs,
    },
    proto,
    naming: namingArgs(v),
  };
}

/** --k8s and the namespace/workload filters; a snapshot that cannot be read or a bad pattern is a usage error. */
function namingArgs(v: Record<string, string | boolean | string[] | undefined>): Naming {
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const options: NamingOptions = {
    snapshots: (v.k8s as string[] | undefined) ?? [],
    namespaceInclude: str('namespace-include'),
    namespaceExclude: str('namespace-exclude'),
    workloadInclude: str('workload-include'),
    workloadExclude: str('workload-exclude'),
    external: externalArgs(v),
  };
  try {
    return Naming.create(options);
  } catch (err) {
    if (err instanceof NamingError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * --no-reverse-dns, --geoip-city, --geoip-asn: how outside addresses are named. A file that is not
 * there is a usage error now; one that is not a MaxMind DB is found when the namer opens it.
 */
function externalArgs(
  v: Record<string, string | boolean | string[] | undefined>,
): Partial<ExternalNamerOptions> {
  const external: Partial<ExternalNamerOptions> = { reverseDns: !v['no-reverse-dns'] };
  for (const [flag, key] of [
    ['geoip-city', 'cityDb'],
    ['geoip-asn', 'asnDb'],
  ] as const) {
    const file = v[flag];
    if (typeof file !== 'string') continue;
    if (!existsSync(file) || !statSync(file).isFile())
      throw new UsageError(`--${flag} ${file}: no such file`);
    external[key] = file;
  }
  return external;
}

interface ProtoArgs {
  files: string[];
  dirs: string[];
}

function protoArgs(files: string[], dirs: string[]): ProtoArgs {
  if (files.length === 0 && dirs.length)
    throw new UsageError('--proto-path is where imports of --proto files are found: add --proto FILE');
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new UsageError(`--proto-path ${dir}: no such directory`);
  }
  return { files, dirs };
}

/** The --proto files loaded, or null when none was named; a bad file is a usage error. */
async function protoSchema({ files, dirs }: ProtoArgs): Promise<GrpcSchema | null> {
  if (files.length === 0) return null;
  // Imported only here: protobufjs takes ~100 ms to load, which a run without --proto need not pay.
  const { loadGrpcSchema } = await import('../dissect/grpc/schema.js');
  const { ProtoLoadError } = await import('../dissect/protobuf/load.js');
  let schema: GrpcSchema;
  try {
    schema = loadGrpcSchema(files, dirs);
  } catch (err) {
    if (err instanceof ProtoLoadError) throw new UsageError(`--proto ${err.message}`);
    throw err;
  }
  if (schema.size === 0)
    throw new UsageError(`--proto ${files.join(', ')}: no service with methods, nothing to decode gRPC with`);
  return schema;
}

/**
 * Writes to stdout in 64 KiB batches. When the pipe is full (`write` returns false), `pace` hands
 * the reader a promise that resolves on 'drain': reading waits, so output is never lost and never
 * piles up in memory behind a slow consumer (`| jq`, `| less`).
 */
class Out {
  private buf: string[] = [];
  private size = 0;
  private drained: Promise<void> | null = null;
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.buf.length && !process.stdout.write(this.buf.join('')) && !this.drained) {
      this.drained = new Promise((resolve) =>
        process.stdout.once('drain', () => {
          this.drained = null;
          resolve();
        }),
      );
    }
    this.buf = [];
    this.size = 0;
  }
  readonly pace = (): Promise<void> | undefined => this.drained ?? undefined;
  /** Resolves once everything written has left the process. */
  async end(): Promise<void> {
    this.flush();
    if (this.drained) await this.drained;
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
  const totalsOnly = args.format === 'summary';
  // Naming runs between the pipeline and the output; filtering too, after outside names when buffered.
  const { naming } = args;
  try {
    await naming.open();
  } catch (err) {
    if (err instanceof NamingError) throw new UsageError(err.message);
    throw err;
  }
  const onConnection = totalsOnly
    ? () => {}
    : streaming
      ? (rec: ConnectionRecord) => {
          if (naming.connection(rec)) out.write(`${JSON.stringify(rec)}\n`);
        }
      : (rec: ConnectionRecord) => {
          naming.connection(rec);
          records.push(rec);
        };
  const onEntry = totalsOnly
    ? () => {}
    : streaming
      ? (e: Entry) => {
          if (naming.entry(e)) out.write(`${JSON.stringify(e)}\n`);
        }
      : (e: Entry) => {
          naming.entry(e);
          entries.push(e);
        };
  const grpcSchema = await protoSchema(args.proto);
  const { summary, failed } = await analyzeFiles(
    args.files,
    {
      ...args.options,
      ...(grpcSchema ? { grpcSchema } : {}),
      onEntry,
      pace: out.pace,
      detail: streaming || args.format === 'json',
    },
    onConnection,
  );
  if (!streaming) await naming.finish(entries, records);
  naming.close();
  records.sort((a, b) => a.start - b.start || a.id - b.id);
  entries.sort((a, b) => a.timestamp - b.timestamp);
  if (streaming) {
    out.write(`${JSON.stringify(summary)}\n`);
  } else if (totalsOnly) {
    out.write(`${renderSummary(summary)}\n`);
  } else if (args.format === 'json') {
    out.write(`${JSON.stringify({ entries, connections: records, summary }, null, 2)}\n`);
  } else {
    if (entries.length) out.write(`${renderEntries(entries)}\n\n`);
    if (records.length) out.write(`${renderConnections(records)}\n\n`);
    out.write(`${renderSummary(summary)}\n`);
  }
  await out.end();
  for (const f of summary.files) if (f.error) process.stderr.write(`podwire: ${f.path}: ${f.error}\n`);
  return failed ? 1 : 0;
}
