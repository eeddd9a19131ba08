/**
 * Live source: one network interface captured through libpcap, packets handed to the pipeline as
 * the same reused CapturedPacket a file source gives (a plain Uint8Array view, valid only during
 * the call).
 *
 * The binding is the npm `pcap` package (3.1.0), chosen on measured merit: on this project's
 * machine it took 300,000 of 300,000 replayed packets at 430k packets/s with no kernel drop, where
 * `cap` 0.2.1 crashed the process as soon as traffic arrived (issue 6; bench/live.sh measures it
 * again). Only its native part is used: its JavaScript wrapper allocates an object and emits an
 * event per packet, while here each packet costs one call with no allocation (the binding copies
 * the packet into one buffer and its header into another, both allocated once per source).
 *
 * Three things about that native part shape this file (each seen on libpcap 1.10, TPACKET_V3):
 * - `close()` only calls pcap_breakloop; the socket and its kernel ring are released by the next
 *   `dispatch` that reads a packet or an error. On an idle interface that may be much later, so a
 *   closed session is kept (not garbage-collected under the poll handle) and `reapClosed()` tries
 *   again; a packet or the interface's removal finishes it.
 * - After the interface goes down, libuv stops reporting the socket readable even when it is up
 *   again and packets arrive (the kernel still counts them, then drops them). `poll()`, called on
 *   a timer, reads whatever waits, and reports the source stalled when it found packets that no
 *   wake-up announced for a while; the agent then reopens it.
 * - An exception thrown from the packet callback is fatal inside the binding, so the callback
 *   catches everything and reports it once.
 * - One `dispatch` reads until the ring is empty. When the pipeline is slower than the traffic the
 *   ring never empties, and the event loop would never run anything else: no status, no health
 *   answer, no signal, no other interface. So after `maxBusyMs` in one dispatch, the packets still
 *   waiting are skipped unread and counted (`shed`): the overloaded agent stays responsive and says
 *   how much it missed, where the kernel would have dropped them a moment later anyway.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapturedPacket, LinkType, type PacketHandler } from './packet.js';

export interface LiveSourceOptions {
  /** A BPF capture filter (tcpdump syntax); empty for every packet. */
  filter: string;
  /** Bytes kept of each packet. Offloads (TSO/GRO) hand the capture up to 64 KiB segments. */
  snaplen: number;
  /** The kernel ring's size in bytes: how long a burst can outpace the reader before drops. */
  bufferBytes: number;
  /** How long the kernel may hold a block of packets before waking the reader (ms); 0 is immediate
   * mode, one wake-up per packet (TPACKET_V2), for tests that need every packet at once. */
  timeoutMs: number;
  /** Put the interface in promiscuous mode (needs CAP_NET_ADMIN). A bridge port already is. */
  promiscuous: boolean;
  /** Longest the reader may keep the event loop reading one interface (ms); past it, the rest of
   * what waits is counted as `shed` and skipped (see the file comment). */
  maxBusyMs: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveSourceOptions = {
  filter: '',
  snaplen: 262_144,
  // Enough for the time between two reads with room to spare (the agent's queue takes the packets
  // at once, src/capture/packet-queue.ts): docs/agent-benchmark.md measured no drop at 200,000
  // packets/s over three interfaces with 8 MiB each. It is kernel memory per interface, so a
  // node with a hundred pods holds a hundred of them.
  bufferBytes: 8 << 20,
  timeoutMs: 100,
  promiscuous: false,
  maxBusyMs: 5000,
};

/** Why an interface could not be captured; `message` is libpcap's text or ours. */
export type LiveErrorReason =
  | 'permission'
  | 'no-such-device'
  | 'not-up'
  | 'filter'
  | 'unavailable'
  | 'failed'
  | 'stalled'
  | 'handler';

export class LiveCaptureError extends Error {
  constructor(
    readonly reason: LiveErrorReason,
    readonly iface: string,
    message: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/** Kernel counters of one capture, cumulative since it was opened (pcap_stats). */
export interface CaptureStats {
  /** Packets that passed the filter, including those dropped (ps_recv). */
  received: number;
  /** Packets dropped because the ring was full: the reader was too slow (ps_drop). */
  dropped: number;
  /** Packets the interface or its driver dropped (ps_ifdrop; rx_dropped of the interface). */
  ifDropped: number;
}

// --- the binding ---------------------------------------------------------------------------------

interface NativeStats {
  ps_recv: number;
  ps_drop: number;
  ps_ifdrop: number;
}

/** The native PcapSession of `pcap` 3.1.0 (pcap_session.cc). */
interface NativeSession {
  open_live(
    device: string,
    filter: string,
    bufferSize: number,
    snaplen: number,
    dumpFile: string,
    onPacket: () => void,
    monitor: boolean,
    timeoutMs: number,
    onWarning: (message: string) => void,
    promiscuous: boolean,
  ): string;
  open_offline(
    path: string,
    filter: string,
    bufferSize: number,
    snaplen: number,
    dumpFile: string,
    onPacket: () => void,
    monitor: boolean,
    timeoutMs: number,
    onWarning: (message: string) => void,
    promiscuous: boolean,
  ): string;
  /** Reads every packet waiting into `buf`/`header`, calling onPacket for each; returns the last
   * pcap_dispatch result: 0 when drained, -1 on error, -2 when the session was closed (released). */
  dispatch(buf: Buffer, header: Buffer): number;
  start_polling(): void;
  close(): void;
  stats(): NativeStats;
  read_callback?: () => void;
}

interface Binding {
  PcapSession: new () => NativeSession;
  lib_version(): string;
}

let binding: Binding | null = null;

/** Loads the native binding once; throws LiveCaptureError('unavailable') when it is not built. */
export function pcapBinding(): Binding {
  if (binding) return binding;
  try {
    const require = createRequire(import.meta.url);
    binding = require('pcap/build/Release/pcap_binding.node') as Binding;
    return binding;
  } catch (err) {
    throw new LiveCaptureError(
      'unavailable',
      '',
      `the libpcap binding is not available (${(err as Error).message.split('\n')[0]}); ` +
        'install libpcap-dev and run npm ci (scripts/setup.sh does both)',
    );
  }
}

export function libpcapVersion(): string {
  return pcapBinding().lib_version();
}

const LINK_NAMES: Record<string, number> = {
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_RAW: LinkType.RAW,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  LINKTYPE_IEEE802_11_RADIO: 127,
};

/** The binding names five link types and answers "Unknown linktype N" (N a DLT_ value, equal to
 * the LINKTYPE_ value for SLL2, IPv4, IPv6) for the rest. */
function linkTypeOf(name: string): number {
  const known = LINK_NAMES[name];
  if (known !== undefined) return known;
  const m = /(\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

function reasonOf(message: string): LiveErrorReason {
  if (/permission|not permitted/i.test(message)) return 'permission';
  if (/no such device/i.test(message)) return 'no-such-device';
  if (/not up/i.test(message)) return 'not-up';
  if (/filter|syntax error/i.test(message)) return 'filter';
  return 'failed';
}

/** Sessions closed but not yet released by the binding (see the file comment). */
const closing = new Set<LiveSource>();

// --- the source ----------------------------------------------------------------------------------

export class LiveSource {
  /** Reused for every packet. */
  readonly packet = new CapturedPacket();
  /** Packets (and their wire bytes) libpcap handed over, the shed ones included. */
  packets = 0;
  bytes = 0;
  /** Packets skipped unread because one dispatch ran past `maxBusyMs` (the agent was behind). */
  shed = 0;
  /** Exceptions caught from the packet handler (a podwire bug; the packet is lost). */
  handlerErrors = 0;
  readonly linkType: number;

  private readonly session: NativeSession;
  private readonly buf: Buffer;
  private readonly header: Buffer;
  private readonly header32: Uint32Array;
  private state: 'open' | 'closing' | 'released' = 'open';
  /** Last time libuv announced the socket readable (ms); polls in a row that found packets it
   * had not announced. */
  private lastWake = Date.now();
  private unannounced = 0;
  /** When the current dispatch started (ms), and packets since the clock was last looked at. */
  private dispatchStart = 0;
  private sinceClock = 0;
  private shedding = false;
  /** Accumulated kernel counters: pcap_stats' are 32-bit and wrap. */
  private readonly totals: CaptureStats = { received: 0, dropped: 0, ifDropped: 0 };
  private lastRaw: NativeStats = { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };

  /**
   * Opens `iface` and starts delivering packets to `onPacket` from the event loop. `onError` is told
   * when capture stops on its own (the interface went away, the poll stalled, the handler threw).
   * Throws LiveCaptureError when the interface cannot be opened.
   */
  constructor(
    readonly iface: string,
    readonly options: LiveSourceOptions,
    onPacket: PacketHandler,
    private readonly onError: (err: LiveCaptureError) => void,
    interfaceId = 0,
  ) {
    const { PcapSession } = pcapBinding();
    this.session = new PcapSession();
    this.buf = Buffer.alloc(options.snaplen);
    // Buffer.alloc of 16 bytes is not pooled: its own ArrayBuffer, so the Uint32Array view is aligned.
    this.header = Buffer.alloc(16);
    // The binding copies tv_sec (low 32 bits), tv_usec, caplen and len in host byte order.
    this.header32 = new Uint32Array(this.header.buffer, this.header.byteOffset, 4);
    const pkt = this.packet;
    pkt.data = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    pkt.interfaceId = interfaceId;
    const bufLen = this.buf.length;
    const h = this.header32;
    const maxBusyMs = options.maxBusyMs;
    const ready = (): void => {
      if (this.state !== 'open') return;
      pkt.tsMicros = h[0]! * 1_000_000 + h[1]!;
      const caplen = h[2]!;
      pkt.caplen = Math.min(caplen, bufLen);
      pkt.wirelen = h[3]!;
      this.packets++;
      this.bytes += pkt.wirelen;
      // The clock is read every 256 packets: a few milliseconds at the pipeline's slowest.
      if (++this.sinceClock === 256) {
        this.sinceClock = 0;
        if (!this.shedding && Date.now() - this.dispatchStart > maxBusyMs) this.shedding = true;
      }
      if (this.shedding) {
        this.shed++;
        return;
      }
      try {
        onPacket(pkt);
      } catch (err) {
        if (this.handlerErrors++ === 0) {
          this.onError(
            new LiveCaptureError('handler', iface, `${iface}: packet handler threw: ${(err as Error).stack}`),
          );
        }
      }
    };
    let link: string;
    try {
      link = this.session.open_live(
        iface,
        options.filter,
        options.bufferBytes,
        options.snaplen,
        '',
        ready,
        false,
        options.timeoutMs,
        () => {}, // "no IPv4 address assigned" and the like: irrelevant to a capture
        options.promiscuous,
      );
    } catch (err) {
      const message = (err as Error).message;
      const reason = reasonOf(message);
      if (reason === 'filter') {
        // The filter is compiled after the ring is set up: release it like a closed session.
        this.state = 'closing';
        this.session.close();
        this.release();
        if (this.state === 'closing') closing.add(this);
      }
      throw new LiveCaptureError(reason, iface, message);
    }
    this.linkType = linkTypeOf(link);
    pkt.linkType = this.linkType;
    this.packet.offset = 0;
    this.session.read_callback = () => {
      this.lastWake = Date.now();
      this.dispatch();
    };
    this.session.start_polling();
  }

  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * Reads what waits in the kernel ring now. Called on a timer: it makes up for wake-ups libuv no
   * longer delivers, and reports the source stalled when two polls in a row found packets that no
   * wake-up announced for `stallMs` (one could have come just before libuv's own turn).
   */
  poll(stallMs = 2000): void {
    if (this.state !== 'open') return;
    const before = this.packets;
    this.dispatch();
    if (this.state !== 'open') return;
    if (this.packets > before && Date.now() - this.lastWake > stallMs) this.unannounced++;
    else this.unannounced = 0;
    if (this.unannounced >= 2) {
      this.unannounced = 0;
      this.onError(
        new LiveCaptureError(
          'stalled',
          this.iface,
          `${this.iface}: no wake-up from the kernel for ${stallMs} ms`,
        ),
      );
    }
  }

  /** Kernel counters since the capture was opened; the last ones read once closed. */
  stats(): CaptureStats {
    if (this.state === 'open') {
      let raw: NativeStats;
      try {
        raw = this.session.stats();
      } catch {
        return { ...this.totals };
      }
      // Differences modulo 2^32: libpcap's counters are unsigned int.
      this.totals.received += (raw.ps_recv - this.lastRaw.ps_recv) >>> 0;
      this.totals.dropped += (raw.ps_drop - this.lastRaw.ps_drop) >>> 0;
      this.totals.ifDropped += (raw.ps_ifdrop - this.lastRaw.ps_ifdrop) >>> 0;
      this.lastRaw = raw;
    }
    return { ...this.totals };
  }

  /** Reads the packets waiting, takes the last counters and stops capturing. The kernel resources
   * go at the binding's next read (see the file comment); `reapClosed` finishes stragglers. */
  close(): CaptureStats {
    if (this.state !== 'open') return { ...this.totals };
    this.dispatch();
    const last = this.stats();
    this.state = 'closing';
    this.session.close();
    this.release();
    if (this.state === 'closing') closing.add(this);
    return last;
  }

  /** Tries again to release closed sessions; the agent calls it on its timer. */
  static reapClosed(): number {
    for (const s of closing) s.release();
    return closing.size;
  }

  private release(): void {
    let r: number;
    try {
      r = this.session.dispatch(this.buf, this.header);
    } catch {
      r = -2;
    }
    if (r === -2) {
      this.state = 'released';
      closing.delete(this);
    }
  }

  private dispatch(): void {
    // Never dispatch a released session: the binding would pass a null handle to libpcap.
    if (this.state !== 'open') return;
    this.dispatchStart = Date.now();
    this.sinceClock = 0;
    this.shedding = false;
    let r: number;
    try {
      r = this.session.dispatch(this.buf, this.header);
    } catch {
      r = -1;
    }
    if (r === -2) {
      this.state = 'released';
    } else if (r === -1) {
      // The interface was removed, or the socket failed: libpcap's reason is not exposed.
      this.stats();
      this.state = 'closing';
      this.session.close();
      this.release();
      if (this.state === 'closing') closing.add(this);
      this.onError(
        new LiveCaptureError(
          'failed',
          this.iface,
          `${this.iface}: capture failed (the interface went away?)`,
        ),
      );
    }
  }
}

/**
 * Checks a BPF filter's syntax without a privilege or an interface: compiles it for an Ethernet
 * link on an empty capture file. Returns libpcap's message, or null when it compiles. (A filter can
 * still fail on an interface of another link type, e.g. `ether host` on a raw-IP tunnel.)
 */
export function checkFilter(filter: string): string | null {
  if (filter.trim() === '') return null;
  const { PcapSession } = pcapBinding();
  const dir = mkdtempSync(join(tmpdir(), 'podwire-bpf-'));
  const file = join(dir, 'empty.pcap');
  // pcap file header: magic, version 2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET.
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(LinkType.ETHERNET, 20);
  writeFileSync(file, header);
  const session = new PcapSession();
  try {
    session.open_offline(
      file,
      filter,
      0,
      65535,
      '',
      () => {},
      false,
      0,
      () => {},
      false,
    );
  } catch (err) {
    return (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Release it: a closed offline session ends at its next read.
  session.close();
  session.dispatch(Buffer.alloc(65535), Buffer.alloc(16));
  return null;
}
