/**
 * The agent: live sources on a node's interfaces feeding ONE pipeline (the same as `analyze`),
 * interfaces discovered and re-checked every refresh period, honest counters per interface.
 *
 * What it promises, after k8spacket crash-looped on a down `tunl0`: no interface stops it. An
 * interface that is missing, down or fails to open is logged, counted (`openFailures`) and tried
 * again at the next refresh; one that goes away while captured is released; a new one is opened.
 * Only start-up problems that no retry can fix end it: no permission to capture, an interface
 * named on the command line that does not exist.
 *
 * Time: the pipeline runs on capture time. A live source also advances it when traffic is quiet
 * (`tick`), so idle connections close and their records come out without waiting for a packet.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  type HostInterface,
  listHostInterfaces,
  runInterfacesCommand,
  selectInterfaces,
} from '../capture/interfaces.js';
import {
  type CaptureStats,
  type LiveCaptureError,
  LiveSource,
  type LiveSourceOptions,
} from '../capture/live-source.js';
import type { CapturedPacket } from '../capture/packet.js';
import { PacketQueue } from '../capture/packet-queue.js';
import type { Entry } from '../dissect/entry.js';
import type { CloseReason, ConnectionRecord } from '../flows/connection.js';
import type { TrackerOptions } from '../flows/tracker.js';
import { Pipeline, type ProtocolStats } from '../pipeline/pipeline.js';
import type { ErrorCode } from '../wire/errors.js';
import { CrossInterfaceDedupe } from './dedupe.js';

export interface DiscoveryOptions {
  scope: 'containers' | 'host';
  include?: RegExp;
  exclude?: RegExp;
  loopback?: boolean;
  /** A shell command printing the interfaces to capture. */
  command?: string;
}

export interface AgentOptions {
  /** Interfaces named by the user: captured (and retried) whatever their kind; no discovery. */
  interfaces: string[];
  discovery: DiscoveryOptions;
  refreshMs: number;
  capture: LiveSourceOptions;
  /** Count packets per interface and do nothing else (measures the capture alone). */
  countOnly: boolean;
  /** L7 dissection (else connections only). */
  dissect: boolean;
  decodeAs?: ReadonlyMap<number, string>;
  tracker: Partial<TrackerOptions>;
  /** Drop copies of a packet seen on two interfaces (pod to pod through a bridge). */
  dedupe: boolean;
  /**
   * Report connections still open this often (ms; 0: only when they close), so long-lived ones are
   * seen while they last (k8spacket counted them only on close). Each report is the whole record so
   * far with closeReason 'open'; the hub keeps the latest per connection.
   */
  openReportMs?: number;
  /** Stamped on every record as `node` (the Kubernetes node this agent runs on). */
  node?: string;
  /**
   * Bytes of packets read from the kernel rings and waiting for the pipeline, all interfaces
   * together (src/capture/packet-queue.ts; default DEFAULT_QUEUE_BYTES). Past it, packets are shed.
   */
  queueBytes?: number;
}

/** The queue between the kernel rings and the pipeline: a second or more of a busy node's packets. */
export const DEFAULT_QUEUE_BYTES = 32 << 20;
/** Longest the pipeline works through the queue before the event loop reads the rings again. */
const DRAIN_SLICE_MS = 20;

export type InterfaceState = 'capturing' | 'down' | 'failed' | 'missing' | 'released';

export interface InterfaceStatus {
  name: string;
  state: InterfaceState;
  /** LINKTYPE_ of the open capture, null when none is open. */
  linkType: number | null;
  /** Packets and wire bytes libpcap handed over. */
  packets: number;
  bytes: number;
  /** Of those, copies of a packet already seen on another interface (not passed on). */
  duplicates: number;
  /** Of those, packets skipped because the agent was behind: the queue to the pipeline was full,
   * or reading one interface ran past --max-busy (live-source.ts). */
  shed: number;
  /** pcap_stats, summed over every capture opened on this interface. */
  kernelReceived: number;
  kernelDrops: number;
  ifDrops: number;
  /** Refreshes at which it could not be captured (missing, down, open failed). */
  openFailures: number;
  /** Captures reopened after the kernel stopped waking the reader or the interface was recreated. */
  reopens: number;
  /** Connections and entries first seen here; stream bytes never seen in those connections. */
  connections: number;
  entries: number;
  gaps: number;
  gapBytes: number;
  lastError: string | null;
  /** When the state last changed (ms since the epoch). */
  since: number;
}

export interface CaptureTotals {
  interfaces: number;
  capturing: number;
  packets: number;
  bytes: number;
  duplicates: number;
  shed: number;
  kernelReceived: number;
  kernelDrops: number;
  ifDrops: number;
  openFailures: number;
}

export interface PipelineCounters {
  /** Packets decoded (after duplicates were dropped). */
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
  openConnections: number;
  entries: number;
  protocols: ProtocolStats;
  closeReasons: Partial<Record<CloseReason, number>>;
  errors: Partial<Record<ErrorCode, number>>;
}

export interface AgentStatus {
  type: 'status';
  /** Microseconds since the epoch, as record timestamps. */
  timestamp: number;
  uptimeMs: number;
  ready: boolean;
  /** The agent's memory (process.memoryUsage, bytes): RSS, V8 heap, buffers outside it. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  capture: CaptureTotals;
  /** Packets read from the rings and not yet through the pipeline; null when counting only. */
  queue: { packets: number; bytes: number; capacity: number } | null;
  pipeline: PipelineCounters;
  interfaces: InterfaceStatus[];
}

export interface AgentSummary extends PipelineCounters {
  type: 'summary';
  capture: CaptureTotals;
  interfaces: InterfaceStatus[];
  firstTs: number;
  lastTs: number;
  durationMs: number;
}

/** Where the agent's output goes; each mode (agent, start) has its own. */
export interface AgentSinks {
  connection(rec: ConnectionRecord, iface: string | null): void;
  entry(entry: Entry, iface: string | null): void;
  log(message: string): void;
}

/** A start-up problem no retry can fix; the CLI prints `message` and exits with `exitCode`. */
export class AgentStartError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'AgentStartError';
  }
}

export const PERMISSION_HINT = 'permission denied (needs CAP_NET_RAW and CAP_NET_ADMIN, or root)';

/** How far behind the wall clock the pipeline's clock is advanced when idle: packets still in a
 * kernel block (up to the buffer timeout) must not arrive after their connection was swept. */
const TICK_LAG_MICROS = 1_000_000;
/** Interfaces no longer captured whose counters are still listed (then summed into one line). */
const MAX_RELEASED = 256;

/** Everything the agent knows about one interface, across the captures opened on it. */
class Capture {
  source: LiveSource | null = null;
  state: InterfaceState = 'missing';
  ifindex = 0;
  since = Date.now();
  lastError: string | null = null;
  /** Counters of captures already closed on this interface. */
  closed: CaptureStats = { received: 0, dropped: 0, ifDropped: 0 };
  closedPackets = 0;
  closedBytes = 0;
  closedShed = 0;
  /** Packets read but refused by the full queue. */
  queueShed = 0;
  duplicates = 0;
  openFailures = 0;
  reopens = 0;
  connections = 0;
  entries = 0;
  gaps = 0;
  gapBytes = 0;
  /** Set by the source's error callback; handled at the next tick, outside libpcap's call. */
  pendingError: LiveCaptureError | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
  ) {}

  setState(state: InterfaceState, error: string | null = null): boolean {
    const changed = state !== this.state || error !== this.lastError;
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    if (error !== null || state === 'capturing') this.lastError = error;
    return changed;
  }

  /** Closes the open capture, keeping its counters. */
  closeSource(): void {
    const s = this.source;
    if (!s) return;
    const st = s.close();
    this.closed.received += st.received;
    this.closed.dropped += st.dropped;
    this.closed.ifDropped += st.ifDropped;
    this.closedPackets += s.packets;
    this.closedBytes += s.bytes;
    this.closedShed += s.shed;
    this.source = null;
  }

  status(): InterfaceStatus {
    const s = this.source;
    const live = s ? s.stats() : { received: 0, dropped: 0, ifDropped: 0 };
    return {
      name: this.name,
      state: this.state,
      linkType: s ? s.linkType : null,
      packets: this.closedPackets + (s ? s.packets : 0),
      bytes: this.closedBytes + (s ? s.bytes : 0),
      duplicates: this.duplicates,
      shed: this.closedShed + this.queueShed + (s ? s.shed : 0),
      kernelReceived: this.closed.received + live.received,
      kernelDrops: this.closed.dropped + live.dropped,
      ifDrops: this.closed.ifDropped + live.ifDropped,
      openFailures: this.openFailures,
      reopens: this.reopens,
      connections: this.connections,
      entries: this.entries,
      gaps: this.gaps,
      gapBytes: this.gapBytes,
      lastError: this.lastError,
      since: this.since,
    };
  }
}

export class Agent {
  readonly pipeline: Pipeline;
  private readonly captures = new Map<string, Capture>();
  private readonly byId: Capture[] = [];
  /** Interfaces released long ago, summed. */
  private readonly forgotten: InterfaceStatus = emptyStatus('(released)');
  private forgottenCount = 0;
  private dedupe: CrossInterfaceDedupe | null = null;
  /** Packets read and waiting for the pipeline (null when counting only). */
  private readonly queue: PacketQueue | null;
  private drainScheduled = false;
  /** Exceptions out of the pipeline (logged once). */
  private handlerErrors = 0;
  /** Connection id -> the capture where its first packet was seen. */
  private readonly owner = new Map<number, number>();
  /** Open connection id -> the last-seen time of its last open report. */
  private readonly reported = new Map<number, number>();
  private readonly closeReasons: Partial<Record<CloseReason, number>> = {};
  /** The capture whose packet the pipeline is handling (owner of what it emits, for UDP). */
  private current = -1;
  private readonly started = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> | null = null;
  private stopping = false;
  ready = false;

  constructor(
    readonly options: AgentOptions,
    private readonly sinks: AgentSinks,
  ) {
    this.queue = options.countOnly ? null : new PacketQueue(options.queueBytes ?? DEFAULT_QUEUE_BYTES);
    this.pipeline = new Pipeline(
      (conn) => {
        const rec = conn.toRecord();
        if (options.node !== undefined) rec.node = options.node;
        this.closeReasons[rec.closeReason] = (this.closeReasons[rec.closeReason] ?? 0) + 1;
        const cap = this.ownerOf(rec.id);
        this.owner.delete(rec.id);
        this.reported.delete(rec.id);
        if (cap) {
          cap.connections++;
          cap.gaps += rec.sent.gaps + rec.received.gaps;
          cap.gapBytes += rec.sent.gapBytes + rec.received.gapBytes;
        }
        this.sinks.connection(rec, cap ? cap.name : null);
      },
      options.tracker,
      options.dissect
        ? {
            onEntry: (e) => {
              const cap = e.connectionId === null ? this.byId[this.current] : this.ownerOf(e.connectionId);
              if (cap) cap.entries++;
              if (options.node !== undefined) e.node = options.node;
              this.sinks.entry(e, cap ? cap.name : null);
            },
            ...(options.decodeAs ? { decodeAs: options.decodeAs } : {}),
          }
        : null,
    );
  }

  /**
   * The start-up checks, before anything is opened or served. Throws AgentStartError when capturing
   * cannot work at all: no permission, or an interface named on the command line does not exist.
   */
  async check(): Promise<void> {
    if (!hasNetRaw()) throw new AgentStartError(`cannot capture on ${this.firstName()}: ${PERMISSION_HINT}`);
    if (this.options.interfaces.length) {
      const all = await this.listInterfaces(true);
      for (const name of this.options.interfaces) {
        if (!all.some((i) => i.name === name))
          throw new AgentStartError(`cannot capture on ${name}: no such interface`);
      }
    }
  }

  /** Opens the first captures and starts the timers (after `check`). A permission error on the
   * first opening is still a start-up error. */
  async start(): Promise<void> {
    await this.refresh(true);
    this.every(1000, () => this.tick());
    const report = this.options.openReportMs ?? 0;
    if (report > 0) this.every(report, () => this.reportOpen());
    this.every(this.options.refreshMs, () => {
      if (!this.refreshing) this.refreshing = this.refresh(false).finally(() => (this.refreshing = null));
    });
    this.ready = true;
  }

  /** Counters now (the status line, /status, `agent --status`). */
  status(): AgentStatus {
    const interfaces = this.interfaceStatuses();
    return {
      type: 'status',
      timestamp: Date.now() * 1000,
      uptimeMs: Date.now() - this.started,
      ready: this.ready,
      memory: memory(),
      capture: totals(interfaces, this.captures.size),
      queue: this.queue && {
        packets: this.queue.length,
        bytes: this.queue.bytes,
        capacity: this.queue.capacity,
      },
      pipeline: this.pipelineCounters(),
      interfaces,
    };
  }

  /**
   * Stops capturing and flushes: waits for the packets the kernel still holds in a block, reads them,
   * closes every capture, then reports every open connection and pending entry. Returns the summary.
   */
  async stop(): Promise<AgentSummary> {
    this.stopping = true;
    this.ready = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.refreshing) await this.refreshing;
    // A TPACKET_V3 block is handed over when full or after the buffer timeout: wait one timeout.
    const wait = Math.min(this.options.capture.timeoutMs * 2 + 50, 1000);
    await new Promise((r) => setTimeout(r, wait));
    for (const cap of this.captures.values()) {
      cap.source?.poll(Number.POSITIVE_INFINITY);
      cap.closeSource();
      if (cap.state === 'capturing') cap.setState('released');
    }
    LiveSource.reapClosed();
    this.queue?.drain(this.handle);
    this.pipeline.finish();
    const interfaces = this.interfaceStatuses();
    const s = this.pipeline.stats;
    return {
      type: 'summary',
      ...this.pipelineCounters(),
      capture: totals(interfaces, this.captures.size),
      interfaces,
      firstTs: s.firstTs,
      lastTs: s.lastTs,
      durationMs: Date.now() - this.started,
    };
  }

  // --- interfaces --------------------------------------------------------------------------------

  private firstName(): string {
    return this.options.interfaces[0] ?? 'this host';
  }

  private async listInterfaces(fatal: boolean): Promise<HostInterface[]> {
    try {
      return await listHostInterfaces();
    } catch (err) {
      const message = `cannot list interfaces with 'ip -j -d addr': ${(err as Error).message.split('\n')[0]}`;
      if (fatal) throw new AgentStartError(message);
      this.sinks.log(message);
      throw err;
    }
  }

  /** The interfaces wanted now: name -> the kernel's view of it (null when it does not exist). */
  private async wanted(all: HostInterface[]): Promise<Map<string, HostInterface | null> | null> {
    const want = new Map<string, HostInterface | null>();
    const byName = new Map(all.map((i) => [i.name, i]));
    if (this.options.interfaces.length) {
      for (const name of this.options.interfaces) want.set(name, byName.get(name) ?? null);
      return want;
    }
    const d = this.options.discovery;
    let listed: string[] | null = null;
    if (d.command) {
      try {
        listed = await runInterfacesCommand(d.command);
      } catch (err) {
        // Keep capturing what is open: a failing command must not release every interface.
        this.sinks.log(`interfaces command failed: ${(err as Error).message.split('\n')[0]}`);
        return null;
      }
    }
    const { selected, unknown } = selectInterfaces(all, d, listed);
    for (const i of selected) want.set(i.name, i);
    for (const name of unknown) want.set(name, null);
    return want;
  }

  private async refresh(starting: boolean): Promise<void> {
    let all: HostInterface[];
    try {
      all = await this.listInterfaces(starting);
    } catch {
      return;
    }
    if (this.stopping) return;
    const want = await this.wanted(all);
    if (!want || this.stopping) return;
    for (const [name, info] of want) this.reconcile(this.capture(name), info, starting);
    for (const cap of this.captures.values()) {
      if (want.has(cap.name) || cap.state === 'released') continue;
      cap.closeSource();
      cap.setState('released');
      this.sinks.log(
        `${cap.name}: released (no longer ${this.options.interfaces.length ? 'present' : 'selected'})`,
      );
    }
    this.forgetReleased();
    if (starting && this.captures.size === 0)
      this.sinks.log('no interface to capture yet; looking again every refresh period');
  }

  private capture(name: string): Capture {
    let cap = this.captures.get(name);
    if (!cap) {
      cap = new Capture(this.byId.length, name);
      this.byId.push(cap);
      this.captures.set(name, cap);
    }
    return cap;
  }

  /** Brings one interface's capture in line with the kernel's view of it. */
  private reconcile(cap: Capture, info: HostInterface | null, starting: boolean): void {
    if (!info) {
      cap.closeSource();
      cap.openFailures++;
      if (cap.setState('missing', 'no such interface'))
        this.sinks.log(`${cap.name}: no such interface; will retry`);
      return;
    }
    if (!info.up) {
      // libpcap refuses a down interface, and a capture open across down/up stops being woken.
      const wasOpen = cap.source !== null;
      cap.closeSource();
      cap.openFailures++;
      if (cap.setState('down', 'interface is down') || wasOpen)
        this.sinks.log(`${cap.name}: interface is down; will retry`);
      return;
    }
    if (cap.source && cap.ifindex !== info.index) {
      // Deleted and created again under the same name (a new pod): a new capture.
      cap.closeSource();
      cap.reopens++;
    }
    if (cap.source) return;
    cap.ifindex = info.index;
    this.open(cap, starting);
  }

  private open(cap: Capture, starting: boolean): void {
    try {
      const onPacket = this.options.countOnly ? () => {} : this.enqueuerFor(cap);
      cap.source = new LiveSource(
        cap.name,
        this.options.capture,
        onPacket,
        (err) => {
          cap.pendingError = err;
        },
        cap.id,
      );
    } catch (err) {
      const e = err as LiveCaptureError;
      if (e.reason === 'permission' && starting)
        throw new AgentStartError(`cannot capture on ${cap.name}: ${PERMISSION_HINT}`);
      if (e.reason === 'unavailable') throw new AgentStartError(e.message);
      cap.openFailures++;
      if (cap.setState('failed', e.message))
        this.sinks.log(`${cap.name}: cannot capture: ${e.message}; will retry`);
      return;
    }
    cap.setState('capturing');
    this.sinks.log(`${cap.name}: capturing`);
    if (this.options.dedupe && !this.dedupe && !this.options.countOnly && this.openCount() > 1)
      this.dedupe = new CrossInterfaceDedupe();
  }

  private openCount(): number {
    let n = 0;
    for (const c of this.captures.values()) if (c.source) n++;
    return n;
  }

  /** Reading: a copy of each packet goes to the queue (the source sets its interfaceId to cap.id). */
  private enqueuerFor(cap: Capture): (pkt: CapturedPacket) => void {
    const queue = this.queue!;
    return (pkt) => {
      if (!queue.push(pkt)) {
        cap.queueShed++;
        return;
      }
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        setImmediate(this.drain);
      }
    };
  }

  /** The pipeline's turn: a slice of the queue, then the event loop reads the rings again. */
  private readonly drain = (): void => {
    this.drainScheduled = false;
    const queue = this.queue!;
    queue.drain(this.handle, performance.now() + DRAIN_SLICE_MS);
    if (queue.length > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drain);
    }
  };

  /** One packet from the queue: dedupe, then the pipeline. */
  private readonly handle = (pkt: CapturedPacket): void => {
    const id = pkt.interfaceId;
    const cap = this.byId[id];
    if (this.dedupe?.isDuplicate(pkt, id)) {
      if (cap) cap.duplicates++;
      return;
    }
    const tracker = this.pipeline.tracker;
    const before = tracker.created;
    this.current = id;
    try {
      this.pipeline.onPacket(pkt);
    } catch (err) {
      // The pipeline contains dissector failures itself; anything else is reported, not fatal.
      if (this.handlerErrors++ === 0) this.sinks.log(`packet handler threw: ${(err as Error).stack}`);
    }
    // Connection ids are 1..created: the one this packet opened, if any, was first seen here.
    if (tracker.created !== before) this.owner.set(tracker.created, id);
  };

  private ownerOf(connectionId: number): Capture | undefined {
    const id = this.owner.get(connectionId);
    return id === undefined ? undefined : this.byId[id];
  }

  /** Keeps the list of released interfaces bounded: the oldest are summed into one line. */
  private forgetReleased(): void {
    const released = [...this.captures.values()].filter((c) => c.state === 'released');
    const extra = released.length - MAX_RELEASED;
    if (extra <= 0) return;
    released.sort((a, b) => a.since - b.since);
    for (const cap of released.slice(0, extra)) {
      addStatus(this.forgotten, cap.status());
      this.forgottenCount++;
      this.captures.delete(cap.name);
    }
  }

  // --- time ----------------------------------------------------------------------------------------

  /** Long-lived connections, reported while open (AgentOptions.openReportMs); only those with news. */
  private reportOpen(): void {
    for (const conn of this.pipeline.tracker.table) {
      if (conn.closed || conn.lastTs <= (this.reported.get(conn.id) ?? 0)) continue;
      this.reported.set(conn.id, conn.lastTs);
      const rec = conn.toRecord();
      if (this.options.node !== undefined) rec.node = this.options.node;
      this.sinks.connection(rec, this.ownerOf(rec.id)?.name ?? null);
    }
  }

  private tick(): void {
    for (const cap of this.captures.values()) {
      cap.source?.poll(Math.max(2000, this.options.capture.timeoutMs * 10));
      // Read often enough that libpcap's 32-bit counters cannot wrap unseen.
      cap.source?.stats();
      const err = cap.pendingError;
      if (!err) continue;
      cap.pendingError = null;
      if (err.reason === 'handler') {
        this.sinks.log(err.message);
      } else if (err.reason === 'stalled') {
        this.sinks.log(`${err.message}; reopening`);
        cap.closeSource();
        cap.reopens++;
        this.open(cap, false);
      } else {
        cap.closeSource();
        cap.openFailures++;
        cap.setState('failed', err.message);
        this.sinks.log(`${err.message}; will retry`);
      }
    }
    LiveSource.reapClosed();
    // Not past a packet still queued: its connection must not be swept before it arrives.
    const now = Math.min(Date.now() * 1000 - TICK_LAG_MICROS, (this.queue?.oldestTs ?? Infinity) - 1);
    this.pipeline.tracker.tick(now);
    this.pipeline.udp?.tick(now);
  }

  private every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    this.timers.push(t);
  }

  // --- counters ------------------------------------------------------------------------------------

  private interfaceStatuses(): InterfaceStatus[] {
    const list = [...this.captures.values()].map((c) => c.status());
    if (this.forgottenCount) list.push({ ...this.forgotten, name: `(${this.forgottenCount} released)` });
    return list;
  }

  private pipelineCounters(): PipelineCounters {
    const s = this.pipeline.stats;
    return {
      packets: s.packets,
      bytes: s.bytes,
      tcpPackets: s.tcpPackets,
      udpPackets: s.udpPackets,
      otherPackets: s.otherPackets,
      fragments: s.fragments,
      tunnelledPackets: this.pipeline.decoder.tunnelled,
      badPackets: s.badPackets,
      connections: s.connections,
      openConnections: this.pipeline.tracker.table.size,
      entries: s.entries,
      protocols: this.pipeline.protocols,
      closeReasons: { ...this.closeReasons },
      errors: this.pipeline.errors.toJSON(),
    };
  }
}

function memory(): AgentStatus['memory'] {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

function emptyStatus(name: string): InterfaceStatus {
  return {
    name,
    state: 'released',
    linkType: null,
    packets: 0,
    bytes: 0,
    duplicates: 0,
    shed: 0,
    kernelReceived: 0,
    kernelDrops: 0,
    ifDrops: 0,
    openFailures: 0,
    reopens: 0,
    connections: 0,
    entries: 0,
    gaps: 0,
    gapBytes: 0,
    lastError: null,
    since: Date.now(),
  };
}

function addStatus(to: InterfaceStatus, s: InterfaceStatus): void {
  to.packets += s.packets;
  to.bytes += s.bytes;
  to.duplicates += s.duplicates;
  to.shed += s.shed;
  to.kernelReceived += s.kernelReceived;
  to.kernelDrops += s.kernelDrops;
  to.ifDrops += s.ifDrops;
  to.openFailures += s.openFailures;
  to.reopens += s.reopens;
  to.connections += s.connections;
  to.entries += s.entries;
  to.gaps += s.gaps;
  to.gapBytes += s.gapBytes;
}

function totals(list: InterfaceStatus[], interfaces: number): CaptureTotals {
  const t: CaptureTotals = {
    interfaces,
    capturing: 0,
    packets: 0,
    bytes: 0,
    duplicates: 0,
    shed: 0,
    kernelReceived: 0,
    kernelDrops: 0,
    ifDrops: 0,
    openFailures: 0,
  };
  for (const s of list) {
    if (s.state === 'capturing') t.capturing++;
    t.packets += s.packets;
    t.bytes += s.bytes;
    t.duplicates += s.duplicates;
    t.shed += s.shed;
    t.kernelReceived += s.kernelReceived;
    t.kernelDrops += s.kernelDrops;
    t.ifDrops += s.ifDrops;
    t.openFailures += s.openFailures;
  }
  return t;
}

/**
 * Whether this process may open packet sockets: CAP_NET_RAW (bit 13) in its effective capability
 * set (proc(5), /proc/self/status CapEff). Where that file cannot be read, libpcap will tell.
 */
export function hasNetRaw(): boolean {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return true;
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return true;
  return (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n;
}
