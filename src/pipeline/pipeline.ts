/**
 * The pipeline every mode runs: captured packet -> decode -> TCP tracking and reassembly -> sinks.
 * Only the source (files now, live interfaces later) and the sinks change between modes.
 */
import type { CapturedPacket } from '../capture/packet.js';
import { Decoder } from '../decode/decoder.js';
import { DecodeResult } from '../decode/packet.js';
import type { TcpDissector, UdpDissector } from '../dissect/dissector.js';
import type { Entry, Protocol } from '../dissect/entry.js';
import type { GrpcSchema } from '../dissect/grpc/schema.js';
import { withGrpcSchema } from '../dissect/http2/index.js';
import { TCP_DISSECTORS, UDP_DISSECTORS } from '../dissect/registry.js';
import { DissectorRouter } from '../dissect/router.js';
import { UdpDispatcher } from '../dissect/udp-dispatch.js';
import type { Connection } from '../flows/connection.js';
import { DEFAULT_TRACKER_OPTIONS, TcpTracker, type TrackerOptions } from '../flows/tracker.js';
import { ErrorCounters } from '../wire/errors.js';

export interface PipelineStats {
  packets: number;
  /** Frame bytes on the wire. */
  bytes: number;
  tcpPackets: number;
  udpPackets: number;
  /** Not IP (ARP, LLDP, ...) or IP but neither TCP nor UDP (ICMP, ...). */
  otherPackets: number;
  /** Packets held as IP fragments (their datagram counts once, when complete). */
  fragments: number;
  /** Packets that could not be decoded; see `errors` for why. */
  badPackets: number;
  connections: number;
  entries: number;
  firstTs: number;
  lastTs: number;
}

/** Per protocol: entries emitted and parse errors counted. */
export type ProtocolStats = Partial<Record<Protocol, { entries: number; parseErrors: number }>>;

export interface DissectOptions {
  onEntry(entry: Entry): void;
  /** Port -> dissector name (decode-as). */
  decodeAs?: ReadonlyMap<number, string>;
  /** Defaults to every registered dissector. */
  tcp?: readonly TcpDissector[];
  udp?: readonly UdpDissector[];
  /** gRPC messages decoded with field names from .proto files (analyze --proto). */
  grpcSchema?: GrpcSchema;
  /**
   * False when `onEntry` reads no entry's `request` or `response` (totals, or the summary columns):
   * the busiest dissectors then skip building them (SessionContext.detail). Default true.
   */
  detail?: boolean;
}

export class Pipeline {
  readonly errors = new ErrorCounters();
  readonly decoder: Decoder;
  readonly tracker: TcpTracker;
  readonly stats: PipelineStats = {
    packets: 0,
    bytes: 0,
    tcpPackets: 0,
    udpPackets: 0,
    otherPackets: 0,
    fragments: 0,
    badPackets: 0,
    connections: 0,
    entries: 0,
    firstTs: 0,
    lastTs: 0,
  };
  readonly protocols: ProtocolStats = {};
  readonly udp: UdpDispatcher | null = null;
  private lastUdpTick = 0;
  /** Bound once so sources can call it without a closure per packet. */
  readonly onPacket = (pkt: CapturedPacket): void => this.handle(pkt);

  /** Without `dissect`, connections only: reassembly keeps no bytes and nothing is parsed. */
  constructor(
    onConnection: (conn: Connection) => void,
    options: Partial<TrackerOptions> = {},
    dissect: DissectOptions | null = null,
  ) {
    this.decoder = new Decoder(this.errors);
    let consumers: DissectorRouter | null = null;
    if (dissect) {
      // Entries come in runs of one protocol: its counters are looked up when the protocol changes.
      let lastProtocol: Protocol | null = null;
      let lastStats = { entries: 0, parseErrors: 0 };
      const onEntry = (entry: Entry): void => {
        this.stats.entries++;
        if (entry.protocol !== lastProtocol) {
          lastProtocol = entry.protocol;
          lastStats = this.protocolStats(entry.protocol);
        }
        lastStats.entries++;
        dissect.onEntry(entry);
      };
      const onParseError = (protocol: Protocol): void => {
        this.errors.add('dissect.malformed');
        this.protocolStats(protocol).parseErrors++;
      };
      const registered = dissect.tcp ?? TCP_DISSECTORS;
      const tcp = dissect.grpcSchema ? withGrpcSchema(registered, dissect.grpcSchema) : registered;
      if (tcp.length)
        consumers = new DissectorRouter({
          dissectors: tcp,
          decodeAs: dissect.decodeAs,
          detail: dissect.detail,
          onEntry,
          onParseError,
          onException: () => this.errors.add('dissect.exception'),
        });
      const udp = dissect.udp ?? UDP_DISSECTORS;
      if (udp.length)
        this.udp = new UdpDispatcher({
          dissectors: udp,
          decodeAs: dissect.decodeAs,
          onEntry,
          onParseError,
          onException: () => this.errors.add('dissect.exception'),
        });
    }
    this.tracker = new TcpTracker(
      { ...DEFAULT_TRACKER_OPTIONS, ...options },
      this.errors,
      (conn) => {
        this.stats.connections++;
        onConnection(conn);
      },
      consumers,
    );
  }

  private handle(pkt: CapturedPacket): void {
    const s = this.stats;
    s.packets++;
    s.bytes += pkt.wirelen;
    if (s.firstTs === 0 || pkt.tsMicros < s.firstTs) s.firstTs = pkt.tsMicros;
    if (pkt.tsMicros > s.lastTs) s.lastTs = pkt.tsMicros;
    if (this.udp && s.lastTs - this.lastUdpTick >= 1_000_000) {
      this.lastUdpTick = s.lastTs;
      this.udp.tick(s.lastTs);
    }
    switch (this.decoder.decode(pkt)) {
      case DecodeResult.Tcp:
        s.tcpPackets++;
        this.tracker.onSegment(this.decoder.packet);
        break;
      case DecodeResult.Udp:
        s.udpPackets++;
        this.udp?.onDatagram(this.decoder.packet);
        break;
      case DecodeResult.Other:
        s.otherPackets++;
        break;
      case DecodeResult.Fragment:
        s.fragments++;
        break;
      default:
        s.badPackets++;
    }
  }

  /** The source ended: report every connection still open. */
  finish(): void {
    this.decoder.defrag.flush();
    this.tracker.finish();
    this.udp?.close(this.stats.lastTs);
  }

  private protocolStats(p: Protocol): { entries: number; parseErrors: number } {
    let st = this.protocols[p];
    if (!st) {
      st = { entries: 0, parseErrors: 0 };
      this.protocols[p] = st;
    }
    return st;
  }
}
