/**
 * One TCP connection as the tracker follows it, and the record it becomes. `src` is the side that
 * opened the connection (sent the SYN); for a connection picked up mid-stream it is a guess
 * (`midstream: true`): the side with the higher port is taken to be the client.
 */
import { formatIp } from '../wire/bytes.js';
import type { StreamConsumer } from './stream.js';

export type CloseReason = 'open' | 'fin' | 'rst' | 'timeout';

/** A segment held because it arrived ahead of a hole. `data` is a copy (null when no consumer wants bytes). */
export interface PendingSegment {
  seq: number;
  /** seq + wireLen (mod 2^32); the FIN, if any, follows it. */
  end: number;
  fin: boolean;
  /** Captured bytes (capLen of them), or null when no consumer wants bytes. */
  data: Uint8Array | null;
  capLen: number;
  wireLen: number;
}

/** One direction of a connection: counters and sequence-space state for reassembly. */
export class HalfStream {
  packets = 0;
  /** TCP payload bytes, as sent on the wire (retransmissions included). */
  bytes = 0;
  /** Whole frames, as tshark counts them (frame length). */
  wireBytes = 0;
  retransmissions = 0;
  outOfOrder = 0;
  gaps = 0;
  gapBytes = 0;

  synSeen = false;
  isn = 0;
  /** Whether nextSeq is known (from the SYN, or from the first segment when picked up mid-stream). */
  hasSeq = false;
  /** The next sequence number expected in order (mod 2^32). */
  nextSeq = 0;
  finSeen = false;
  /** The sender's FIN has been reached in order: no more data. */
  ended = false;
  /** Segments ahead of a hole, sorted by sequence number. */
  pending: PendingSegment[] | null = null;
  pendingBytes = 0;
  /** Capture time when the oldest pending segment arrived. */
  pendingSince = 0;
}

export class Connection {
  /** Chains connections whose keys hash alike (FlowTable). */
  nextInBucket: Connection | null = null;
  hash = 0;

  ipVersion = 4;
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  srcPort = 0;
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  dstPort = 0;

  midstream = false;
  startTs = 0;
  lastTs = 0;
  synTs = 0;
  synAckTs = 0;
  ackTs = 0;
  closeReason: CloseReason = 'open';
  /** 0: src closed it, 1: dst did, -1: not closed. */
  closedBy = -1;
  closedTs = 0;

  readonly fwd = new HalfStream();
  readonly rev = new HalfStream();
  consumer: StreamConsumer | null = null;
  /** What the dissectors found on this connection (protocol, entries, parse errors, TLS...), if anything. */
  l7: Record<string, unknown> | null = null;

  constructor(readonly id: number) {}

  half(dir: number): HalfStream {
    return dir === 0 ? this.fwd : this.rev;
  }

  get closed(): boolean {
    return this.closeReason !== 'open';
  }

  srcIp(): string {
    return formatIp(this.s0, this.s1, this.s2, this.s3);
  }

  dstIp(): string {
    return formatIp(this.d0, this.d1, this.d2, this.d3);
  }

  toRecord(): ConnectionRecord {
    const rtt = this.synTs && this.synAckTs && this.ackTs ? this.ackTs - this.synTs : 0;
    return {
      type: 'connection',
      id: this.id,
      src: { ip: this.srcIp(), port: this.srcPort },
      dst: { ip: this.dstIp(), port: this.dstPort },
      ipVersion: this.ipVersion,
      start: this.startTs,
      end: this.lastTs,
      durationMs: (this.lastTs - this.startTs) / 1000,
      closeReason: this.closeReason,
      closedBy: this.closedBy === 0 ? 'src' : this.closedBy === 1 ? 'dst' : null,
      midstream: this.midstream,
      handshake:
        rtt > 0
          ? {
              rttMs: rtt / 1000,
              synToSynAckMs: (this.synAckTs - this.synTs) / 1000,
              synAckToAckMs: (this.ackTs - this.synAckTs) / 1000,
            }
          : null,
      sent: halfRecord(this.fwd),
      received: halfRecord(this.rev),
      ...(this.l7 ? { l7: this.l7 } : {}),
    };
  }
}

function halfRecord(h: HalfStream): DirectionRecord {
  return {
    packets: h.packets,
    bytes: h.bytes,
    wireBytes: h.wireBytes,
    retransmissions: h.retransmissions,
    outOfOrder: h.outOfOrder,
    gaps: h.gaps,
    gapBytes: h.gapBytes,
  };
}

export interface DirectionRecord {
  packets: number;
  /** TCP payload bytes (retransmissions included). */
  bytes: number;
  /** Frame bytes on the wire, as tshark's conversation table counts them. */
  wireBytes: number;
  retransmissions: number;
  outOfOrder: number;
  gaps: number;
  gapBytes: number;
}

export interface Endpoint {
  ip: string;
  port: number;
  /**
   * Identity fields, as entries have them (src/dissect/entry.ts EntryEndpoint): filled after the
   * pipeline by src/enrich, never by the tracker.
   */
  name?: string;
  namespace?: string;
  kind?: 'pod' | 'service' | 'node' | 'external';
  workload?: string;
  node?: string;
  /**
   * The object's Kubernetes recommended labels (`app.kubernetes.io/name`, `/component`,
   * `/instance`, `/version`, `/part-of`, `/managed-by`) when it has any: kube-netc's series carry
   * them. Only these: a pod's other labels would make every record larger for no series.
   */
  labels?: Readonly<Record<string, string>>;
}

/** The connection record of DESIGN.md, as `--format jsonl` prints it. Times in microseconds. */
export interface ConnectionRecord {
  type: 'connection';
  id: number;
  src: Endpoint;
  dst: Endpoint;
  ipVersion: number;
  start: number;
  end: number;
  durationMs: number;
  closeReason: CloseReason;
  closedBy: 'src' | 'dst' | null;
  midstream: boolean;
  handshake: { rttMs: number; synToSynAckMs: number; synAckToAckMs: number } | null;
  /** src -> dst */
  sent: DirectionRecord;
  /** dst -> src */
  received: DirectionRecord;
  /** Set when a dissector recognised the stream: protocol, entry count, parse errors, TLS summary. */
  l7?: Record<string, unknown>;
  /** The node (agent) whose capture saw it; set by the agent, absent offline. */
  node?: string;
}
