/**
 * `podwire agent`: live capture on this node's container interfaces (or the ones named), through
 * the same pipeline as `analyze`, streaming the same jsonl records: entries and connections as they
 * complete, a status line every --status-interval, the summary at SIGTERM/SIGINT.
 * `podwire agent --status` asks a running agent's health endpoint for its counters.
 */
import type { Server } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  Agent,
  type AgentOptions,
  AgentStartError,
  type AgentStatus,
  DEFAULT_QUEUE_BYTES,
  type InterfaceStatus,
} from '../agent/agent.js';
import { boundPort, fetchStatus, startHealthServer } from '../agent/health.js';
import { checkFilter, DEFAULT_LIVE_OPTIONS, LiveCaptureError } from '../capture/live-source.js';
import { redactEntry } from '../redact/index.js';
import { HubClient, TransportConfigError } from '../transport/index.js';
import { decodeAsFlags, type FlagValues, trackerFlags } from './pipeline-flags.js';
import { readToken, redactionFlags } from './security-flags.js';
import { formatBytes } from './table.js';
import { parseCount, parseDuration, UsageError } from './usage-error.js';

export const DEFAULT_HEALTH_PORT = 9750;

export const AGENT_USAGE = `usage: podwire agent [--interface NAME...] [options]
       podwire agent --status [--health-port N] [--format table|json]

Captures live on this node's container interfaces, or on the interfaces named, and prints one JSON
object per line: entries and connections as they complete (the records of 'analyze --format
jsonl', with the interface they were first seen on), a status line every --status-interval, and
the summary when stopped (SIGTERM or SIGINT: open connections and pending entries are flushed).
Needs CAP_NET_RAW and CAP_NET_ADMIN, or root.

interfaces:
  -i, --interface NAME          capture on NAME (repeatable, or NAME,NAME); no discovery then
  --interface-include REGEX     capture the interfaces whose name matches, of any kind (default:
                                the container side: veths whose peer is in another network
                                namespace, cali*, lxc* but lxc_health, ipvlan, macvlan)
  --interface-exclude REGEX     never capture the interfaces whose name matches
  --interfaces-command CMD      a shell command printing the interfaces to capture (names split by
                                spaces, commas or lines), run at every refresh
  --refresh-period DURATION     how often interfaces are discovered again and failed ones retried
                                (default 10s)
capture:
  --filter BPF                  capture filter in tcpdump's syntax (default: every packet)
  --snaplen N                   bytes kept of each packet (default ${DEFAULT_LIVE_OPTIONS.snaplen})
  --buffer-size MB              kernel buffer per interface, in MiB (default ${DEFAULT_LIVE_OPTIONS.bufferBytes >> 20})
  --queue-size MB               packets read and waiting for the pipeline, all interfaces
                                together, in MiB (default ${DEFAULT_QUEUE_BYTES >> 20}); past it, packets are shed
  --buffer-timeout DURATION     longest the kernel holds packets before handing them over
                                (default ${DEFAULT_LIVE_OPTIONS.timeoutMs}ms; 0: immediate mode, one wake-up per packet)
  --max-busy DURATION           longest one interface may keep the agent reading (default ${DEFAULT_LIVE_OPTIONS.maxBusyMs}ms);
                                past it, what waits is skipped and counted as shed, so an
                                overloaded agent still answers probes and signals
  --promiscuous                 put the interfaces in promiscuous mode
  --no-dedupe                   keep both copies of a packet seen on two interfaces
output:
  --hub URL                     stream records to a hub ('podwire hub'), e.g. http://hub:6676,
                                instead of stdout; what the hub has not acknowledged is kept in
                                --spool and sent again after a reconnect or a restart
  --token-file FILE             the hub's bearer token (or $PODWIRE_TOKEN)
  --spool DIR                   where unacknowledged records wait (default: $TMPDIR/podwire-spool)
  --node NAME                   the node name stamped on records (default $NODE_NAME, else the
                                host name); also the agent's identity at the hub
  --open-report DURATION        report open connections this often, so long-lived ones are seen
                                before they close (default 30s; 0: only when they close)
  --redact-header NAME          also redact this HTTP header before sending (repeatable)
  --redact-key NAME             also redact this JSON key, query parameter or form field (repeatable)
  --no-redact                   send secrets as captured (headers, passwords, tokens): never in production
  --format jsonl                one JSON object per line to stdout (without --hub)
  --k8s SNAPSHOT                name endpoints from a cluster snapshot, as 'analyze --k8s' (without
                                --hub: the hub names what agents send)
  --kubeconfig FILE             name endpoints from the live cluster (list+watch); --in-cluster in a pod
  --in-cluster                  use the pod's service account
  --no-reverse-dns              do not name outside addresses by reverse DNS
  --status-interval DURATION    a status line this often (default 10s; 0: none)
  --count-only                  count packets per interface and nothing else (measures the capture)
  --connections-only            track TCP connections only, no L7 dissection
  --decode-as PORT=NAME         dissect traffic on PORT as NAME (repeatable; see 'analyze --help')
  --max-connections N, --max-pages-per-connection N, --max-pages-total N, --flush-period D,
  --close-older-than D, --close-linger D
                                the tracker's limits, as for 'analyze'
health:
  --health-port N               serve /healthz, /readyz, /status, /metrics here (default ${DEFAULT_HEALTH_PORT};
                                0: any free port, printed on stderr)
  --health-address ADDR         the address it listens on (default 127.0.0.1)
  --no-health                   no health endpoint
  --status                      print the counters of the agent running on --health-port and exit
  -h, --help                    this help`;

/** The flags `agent` and `start` share. */
export const CAPTURE_FLAGS = {
  interface: { type: 'string', short: 'i', multiple: true },
  'interface-include': { type: 'string' },
  'interface-exclude': { type: 'string' },
  'interfaces-command': { type: 'string' },
  'refresh-period': { type: 'string' },
  filter: { type: 'string' },
  snaplen: { type: 'string' },
  'buffer-size': { type: 'string' },
  'queue-size': { type: 'string' },
  'buffer-timeout': { type: 'string' },
  'max-busy': { type: 'string' },
  promiscuous: { type: 'boolean', default: false },
  'no-dedupe': { type: 'boolean', default: false },
  'connections-only': { type: 'boolean', default: false },
  'decode-as': { type: 'string', multiple: true },
  'max-connections': { type: 'string' },
  'max-pages-per-connection': { type: 'string' },
  'max-pages-total': { type: 'string' },
  'flush-period': { type: 'string' },
  'close-older-than': { type: 'string' },
  'close-linger': { type: 'string' },
  'health-port': { type: 'string' },
  'health-address': { type: 'string', default: '127.0.0.1' },
  'no-health': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export function parseFlags(argv: string[], extra: ParseArgsConfig['options']): FlagValues {
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: { ...CAPTURE_FLAGS, ...extra },
    });
    return parsed.values as FlagValues;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function str(v: FlagValues, k: string): string | undefined {
  return typeof v[k] === 'string' ? (v[k] as string) : undefined;
}

function regex(v: FlagValues, k: string): RegExp | undefined {
  const s = str(v, k);
  if (s === undefined) return undefined;
  try {
    return new RegExp(s);
  } catch (err) {
    throw new UsageError(`--${k}: ${(err as Error).message}`);
  }
}

/** Builds the agent's options from the shared flags; `scope` is the default discovery. */
export function agentOptions(v: FlagValues, scope: 'containers' | 'host', loopback = false): AgentOptions {
  const interfaces = ((v.interface as string[] | undefined) ?? [])
    .flatMap((s) => s.split(','))
    .filter(Boolean);
  const include = regex(v, 'interface-include');
  const exclude = regex(v, 'interface-exclude');
  const command = str(v, 'interfaces-command');
  if (interfaces.length && (include || exclude || command))
    throw new UsageError(
      '--interface names the interfaces: drop --interface-include/-exclude/--interfaces-command',
    );
  const filter = str(v, 'filter') ?? '';
  let filterError: string | null;
  try {
    filterError = checkFilter(filter);
  } catch (err) {
    if (err instanceof LiveCaptureError) throw new AgentStartError(err.message);
    throw err;
  }
  if (filterError) throw new UsageError(`--filter '${filter}': ${filterError}`);
  const snaplen = str(v, 'snaplen');
  const bufferSize = str(v, 'buffer-size');
  const queueSize = str(v, 'queue-size');
  const bufferTimeout = str(v, 'buffer-timeout');
  const maxBusy = str(v, 'max-busy');
  const refresh = str(v, 'refresh-period');
  const refreshMs = refresh === undefined ? 10_000 : parseDuration('refresh-period', refresh) / 1000;
  if (refreshMs < 100) throw new UsageError('--refresh-period must be at least 100ms');
  const decodeAs = decodeAsFlags(v);
  return {
    interfaces,
    discovery: {
      scope,
      loopback,
      ...(include ? { include } : {}),
      ...(exclude ? { exclude } : {}),
      ...(command ? { command } : {}),
    },
    refreshMs,
    capture: {
      filter,
      snaplen: snaplen === undefined ? DEFAULT_LIVE_OPTIONS.snaplen : parseCount('snaplen', snaplen, 64),
      bufferBytes:
        bufferSize === undefined
          ? DEFAULT_LIVE_OPTIONS.bufferBytes
          : parseCount('buffer-size', bufferSize) << 20,
      timeoutMs:
        bufferTimeout === undefined
          ? DEFAULT_LIVE_OPTIONS.timeoutMs
          : Math.round(parseDuration('buffer-timeout', bufferTimeout) / 1000),
      promiscuous: Boolean(v.promiscuous),
      maxBusyMs:
        maxBusy === undefined
          ? DEFAULT_LIVE_OPTIONS.maxBusyMs
          : Math.max(1, Math.round(parseDuration('max-busy', maxBusy) / 1000)),
    },
    countOnly: Boolean(v['count-only']),
    queueBytes:
      queueSize === undefined ? DEFAULT_QUEUE_BYTES : parseCount('queue-size', queueSize) * (1 << 20),
    dissect: !v['connections-only'],
    decodeAs,
    tracker: trackerFlags(v),
    dedupe: !v['no-dedupe'],
  };
}

export interface HealthFlags {
  port: number | null;
  host: string;
}

export function healthFlags(v: FlagValues): HealthFlags {
  const host = str(v, 'health-address') ?? '127.0.0.1';
  if (v['no-health']) return { port: null, host };
  const p = str(v, 'health-port');
  return { port: p === undefined ? DEFAULT_HEALTH_PORT : parseCount('health-port', p, 0), host };
}

/**
 * Starts the health endpoint; a port already taken is a start-up error (a probe that answers for
 * another process would be worse than none).
 */
export async function serveHealth(
  agent: Agent,
  flags: HealthFlags,
  log: (m: string) => void,
): Promise<Server | null> {
  if (flags.port === null) return null;
  try {
    const server = await startHealthServer(agent, flags.host, flags.port);
    log(`health endpoint on http://${flags.host}:${boundPort(server)} (/healthz /readyz /status /metrics)`);
    return server;
  } catch (err) {
    throw new AgentStartError(
      `cannot serve the health endpoint on ${flags.host}:${flags.port}: ${(err as Error).message} (--health-port, --no-health)`,
    );
  }
}

/** Lines to stdout, flushed at least every `ms` and whenever 64 KiB are waiting. */
export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly stream: NodeJS.WritableStream,
    ms = 200,
  ) {
    this.timer = setInterval(() => this.flush(), ms);
    this.timer.unref();
  }
  line(obj: unknown): void {
    const s = `${JSON.stringify(obj)}\n`;
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (!this.buf.length) return;
    this.stream.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  /** Flushes and waits until the stream has taken everything. */
  end(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }
}

/** Resolves at the first SIGTERM or SIGINT; a second one ends the process at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      process.once('SIGTERM', () => process.exit(143));
      process.once('SIGINT', () => process.exit(130));
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * Ends the process once stdout and stderr are flushed. Explicit, because a capture closed on an
 * idle interface keeps its poll handle in the event loop until the next packet (live-source.ts).
 */
export async function exitWith(code: number): Promise<never> {
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
  process.exit(code);
}

export async function runAgent(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    hub: { type: 'string' },
    'token-file': { type: 'string' },
    spool: { type: 'string' },
    node: { type: 'string' },
    'open-report': { type: 'string' },
    'no-redact': { type: 'boolean', default: false },
    'redact-header': { type: 'string', multiple: true },
    'redact-key': { type: 'string', multiple: true },
    format: { type: 'string' },
    'status-interval': { type: 'string' },
    'count-only': { type: 'boolean', default: false },
    status: { type: 'boolean', default: false },
    k8s: { type: 'string', multiple: true },
    kubeconfig: { type: 'string' },
    'in-cluster': { type: 'boolean', default: false },
    'no-reverse-dns': { type: 'boolean', default: false },
  });
  if (v.help) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return 0;
  }
  if (v.status) return printStatus(v);
  const format = str(v, 'format') ?? 'jsonl';
  if (format !== 'jsonl')
    throw new UsageError(
      `--format takes jsonl (a table of live traffic is 'podwire start'), not '${format}'`,
    );
  const interval = str(v, 'status-interval');
  const statusMs = interval === undefined ? 10_000 : parseDuration('status-interval', interval) / 1000;
  const health = healthFlags(v);
  const log = (m: string) => process.stderr.write(`podwire agent: ${m}\n`);
  const out = new LineWriter(process.stdout);
  const node = str(v, 'node') ?? process.env.NODE_NAME ?? hostname();
  const openReport = str(v, 'open-report');
  const hubUrl = str(v, 'hub');
  const rules = redactionFlags(v);
  // Names, without a hub (a hub names what agents send). Loaded only when asked for: the Kubernetes
  // client is heavy.
  let naming: Awaited<ReturnType<typeof import('./naming-flags.js').namingFlags>> | null = null;
  if (((v.k8s as string[] | undefined) ?? []).length || v.kubeconfig !== undefined || v['in-cluster']) {
    if (hubUrl !== undefined)
      throw new UsageError(
        '--k8s/--kubeconfig/--in-cluster name records here; with --hub, give them to the hub',
      );
    naming = await (await import('./naming-flags.js')).namingFlags(v, log);
  }
  const enricher = naming?.enricher ?? null;
  let client: HubClient | null = null;
  let agent: Agent;
  try {
    const options: AgentOptions = {
      ...agentOptions(v, 'containers'),
      node,
      openReportMs: openReport === undefined ? 30_000 : parseDuration('open-report', openReport) / 1000,
    };
    if (hubUrl !== undefined) {
      try {
        client = hubClient(v, hubUrl, node, log);
      } catch (err) {
        if (err instanceof TransportConfigError) throw new AgentStartError(err.message);
        throw err;
      }
    }
    const hub = client;
    agent = new Agent(
      options,
      hub
        ? {
            // Secrets are redacted here, before they leave the node.
            connection: (rec, iface) =>
              hub.sendConnection({ ...rec, ...(iface ? { interface: iface } : {}) }),
            entry: (e, iface) => {
              const r = rules ? redactEntry(e, rules) : e;
              hub.sendEntry(iface ? { ...r, interface: iface } : r);
            },
            log,
          }
        : {
            connection: (rec, iface) => {
              enricher?.connection(rec);
              out.line({ ...rec, interface: iface });
            },
            entry: (e, iface) => {
              enricher?.entry(e);
              out.line({ ...e, interface: iface });
            },
            log,
          },
    );
    await agent.check();
    await serveHealth(agent, health, log);
    await agent.start();
  } catch (err) {
    if (err instanceof AgentStartError) {
      log(err.message);
      return exitWith(err.exitCode);
    }
    throw err;
  }
  if (client) {
    client.start();
    log(`streaming to ${hubUrl} as ${node}`);
  }
  const statusTimer = statusMs > 0 && !client ? setInterval(() => out.line(agent.status()), statusMs) : null;
  const sig = await untilSignal();
  if (statusTimer) clearInterval(statusTimer);
  log(`${sig}: stopping; flushing open connections`);
  const summary = await agent.stop();
  if (client) {
    const { unacked } = await client.close(10_000);
    log(
      unacked
        ? `${unacked} records not yet acknowledged by the hub are kept in the spool for the next start`
        : 'every record acknowledged by the hub',
    );
  } else out.line(summary);
  await out.end();
  await naming?.watcher?.stop();
  naming?.namer?.close();
  return exitWith(0);
}

/** The connection to the hub: --hub, --token-file/$PODWIRE_TOKEN, --spool. */
function hubClient(v: FlagValues, url: string, node: string, log: (m: string) => void): HubClient {
  if (!/^(https?|wss?):\/\/[^/]/.test(url))
    throw new UsageError(`--hub takes the hub's URL, e.g. http://hub.podwire:6676, not '${url}'`);
  const token = readToken(v);
  return new HubClient({
    url,
    agent: node,
    node,
    ...(token !== undefined ? { token } : {}),
    spoolDir: str(v, 'spool') ?? join(tmpdir(), 'podwire-spool'),
    log,
  });
}

async function printStatus(v: FlagValues): Promise<number> {
  const format = str(v, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json')
    throw new UsageError(`--status prints --format table or json, not '${format}'`);
  const h = healthFlags(v);
  if (h.port === null || h.port === 0)
    throw new UsageError('--status needs the port the agent serves: --health-port N');
  let status: AgentStatus;
  try {
    status = await fetchStatus(h.host, h.port);
  } catch (err) {
    process.stderr.write(
      `podwire agent: no agent answers on ${h.host}:${h.port} (${(err as Error).message}); is one running with --health-port ${h.port}?\n`,
    );
    return 1;
  }
  process.stdout.write(
    format === 'json' ? `${JSON.stringify(status, null, 2)}\n` : `${renderStatus(status)}\n`,
  );
  return 0;
}

/** The status as a table: one line per interface, then the pipeline's counters. */
export function renderStatus(s: AgentStatus): string {
  const rows: string[][] = [
    [
      'INTERFACE',
      'STATE',
      'PACKETS',
      'BYTES',
      'DUPS',
      'SHED',
      'KDROPS',
      'IFDROPS',
      'FAILS',
      'CONNS',
      'ENTRIES',
      'GAPS',
      'LAST ERROR',
    ],
  ];
  const n = (x: number) => x.toLocaleString('en-US');
  for (const i of s.interfaces) rows.push(interfaceRow(i, n));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows
    .map((r) =>
      r
        .map((cell, c) => (c >= 2 && c <= 11 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  const p = s.pipeline;
  const errors = Object.entries(p.errors);
  const parse = Object.entries(p.protocols)
    .filter(([, x]) => x.parseErrors)
    .map(([k, x]) => `${k} ${x.parseErrors}`);
  return [
    `${s.ready ? 'ready' : 'not ready'}, up ${Math.round(s.uptimeMs / 1000)}s, capturing ${s.capture.capturing} of ${s.capture.interfaces} interfaces`,
    '',
    table,
    '',
    `pipeline: ${n(p.packets)} packets decoded, ${n(p.connections)} connections closed (${n(p.openConnections)} open), ${n(p.entries)} entries`,
    ...(s.queue
      ? [
          `queue: ${n(s.queue.packets)} packets waiting, ${formatBytes(s.queue.bytes)} of ${formatBytes(s.queue.capacity)}`,
        ]
      : []),
    `errors: ${errors.length ? errors.map(([k, x]) => `${k} ${x}`).join(', ') : 'none'}`,
    `parse errors: ${parse.length ? parse.join(', ') : 'none'}`,
  ].join('\n');
}

function interfaceRow(i: InterfaceStatus, n: (x: number) => string): string[] {
  return [
    i.name,
    i.state,
    n(i.packets),
    formatBytes(i.bytes),
    n(i.duplicates),
    n(i.shed),
    n(i.kernelDrops),
    n(i.ifDrops),
    n(i.openFailures),
    n(i.connections),
    n(i.entries),
    n(i.gaps),
    i.lastError ?? '',
  ];
}
