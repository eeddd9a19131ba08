/**
 * The TCP connection tracker: finds each segment's connection, counts it, follows the handshake and
 * the close (FIN, RST, idle timeout), and feeds the payload to reassembly. Time is capture time, so
 * an offline file and a live interface behave the same; a live source also calls `tick` when idle.
 *
 * A connection is reported once, when it leaves the table: a closed one `closeLingerMicros` after
 * its last packet (late ACKs and retransmitted FINs still count toward it), an idle one after
 * `closeOlderThanMicros`, and every one still open when the source ends.
 */
import type { DecodedPacket } from '../decode/packet.js';
import { TcpFlag } from '../decode/packet.js';
import type { ErrorCounters } from '../wire/errors.js';
import { Connection } from './connection.js';
import { FlowTable, packetHash } from './flow-table.js';
import { addSegment, flushAll, ReassemblyBudget, type ReassemblyLimits, skipHole } from './reassembly.js';
import type { Direction, StreamConsumerFactory } from './stream.js';

/** gopacket's page size; k8spacket's assembler limits are counted in these pages. */
export const PAGE_BYTES = 1900;

export interface TrackerOptions extends ReassemblyLimits {
  /** Connections followed at once; past it new connections are counted (`flows.table_full`), not tracked. */
  maxConnections: number;
  /** How often (capture time) idle connections and stale holes are looked for; also the age at which
   * a hole is given up as a gap (k8spacket: assembler flushing period). */
  flushPeriodMicros: number;
  /** An open connection idle this long is closed as `timeout` (k8spacket: close older than). */
  closeOlderThanMicros: number;
  /** A closed connection stays this long to absorb late packets before it is reported. */
  closeLingerMicros: number;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  maxConnections: 262_144,
  flushPeriodMicros: 10_000_000,
  closeOlderThanMicros: 600_000_000,
  closeLingerMicros: 5_000_000,
  maxBufferedPerConnection: 4000 * PAGE_BYTES,
  maxBufferedTotal: 150_000 * PAGE_BYTES,
  maxPendingSegments: 4096,
};

export class TcpTracker {
  readonly table = new FlowTable();
  readonly budget: ReassemblyBudget;
  /** Connections created so far (their ids are 1..created). */
  created = 0;
  private nextId: number;
  private lastSweep = -1;
  private now = 0;

  constructor(
    private readonly options: TrackerOptions,
    errors: ErrorCounters,
    private readonly onConnection: (conn: Connection) => void,
    private readonly consumers: StreamConsumerFactory | null = null,
    firstId = 1,
  ) {
    this.budget = new ReassemblyBudget(options, errors);
    this.nextId = firstId;
  }

  /** Handles one decoded TCP segment. */
  onSegment(d: DecodedPacket): void {
    const ts = d.tsMicros;
    if (ts > this.now) this.now = ts;
    if (this.now - this.lastSweep >= this.options.flushPeriodMicros) this.sweep(this.now);

    const hash = packetHash(d);
    const table = this.table;
    let conn = table.find(d, hash);
    let dir = table.direction as Direction;
    const flags = d.tcpFlags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const ack = (flags & TcpFlag.ACK) !== 0;

    if (conn && syn && !ack && this.isNewIncarnation(conn, dir, d.seq)) {
      // The 4-tuple is reused by a new connection (RFC 9293 §3.10.7.4, TIME-WAIT reuse).
      this.evict(conn, ts);
      conn = null;
    }
    if (!conn) {
      if (table.size >= this.options.maxConnections) {
        this.budget.errors.add('flows.table_full');
        return;
      }
      conn = this.open(d, hash, syn, ack);
      dir = table.direction as Direction;
    }

    const h = dir === 0 ? conn.fwd : conn.rev;
    h.packets++;
    h.wireBytes += d.wirelen;
    h.bytes += d.payloadWireLength;
    conn.lastTs = ts;

    let seq = d.seq;
    if (syn) {
      if (!h.synSeen) {
        h.synSeen = true;
        h.isn = seq;
        h.hasSeq = true;
        h.nextSeq = (seq + 1) >>> 0;
        if (ack) {
          if (!conn.synAckTs) conn.synAckTs = ts;
        } else if (!conn.synTs) conn.synTs = ts;
      } else if (seq === h.isn && d.payloadWireLength === 0) {
        // A retransmitted SYN. One carrying data (TCP Fast Open, RFC 7413) is counted once, by
        // reassembly below, which sees its data again.
        h.retransmissions++;
      }
      seq = (seq + 1) >>> 0; // data on a SYN (TCP Fast Open) starts after it
    } else if (ack && dir === 0 && !conn.ackTs && conn.synAckTs) {
      conn.ackTs = ts; // the third packet of the handshake
    }

    if ((flags & TcpFlag.RST) !== 0 && conn.closeReason === 'open') {
      conn.closeReason = 'rst';
      conn.closedBy = dir;
      conn.closedTs = ts;
    }
    const fin = (flags & TcpFlag.FIN) !== 0;
    if (fin && !h.finSeen) {
      h.finSeen = true;
      if (conn.closedBy < 0) conn.closedBy = dir;
      const other = dir === 0 ? conn.rev : conn.fwd;
      if (other.finSeen && conn.closeReason === 'open') {
        conn.closeReason = 'fin';
        conn.closedTs = ts;
      }
    }

    if (d.payloadWireLength > 0 || fin) {
      addSegment(
        conn,
        dir,
        seq,
        d.data,
        d.payloadOffset,
        d.payloadLength,
        d.payloadWireLength,
        fin,
        ts,
        this.budget,
      );
    }
    if (ack) {
      // The receiver acknowledged bytes past a hole we hold: they were sent and will not be seen.
      // An ACK is cumulative (RFC 9293 §3.4): it covers every octet before it, so an ACK equal to
      // the start of a held segment already covers the hole before it, and one ACK can cover
      // several holes.
      const other = dir === 0 ? conn.rev : conn.fwd;
      for (
        let first = other.pending?.[0];
        first && ((d.ack - first.seq) | 0) >= 0;
        first = other.pending?.[0]
      )
        skipHole(conn, other, (1 - dir) as Direction, ts, this.budget);
    }
  }

  /** Lets time pass without packets (a live source calls this when traffic is quiet). */
  tick(nowMicros: number): void {
    if (nowMicros > this.now) this.now = nowMicros;
    if (this.now - this.lastSweep >= this.options.flushPeriodMicros) this.sweep(this.now);
  }

  /** Reports every connection still in the table (the source ended). Those not closed stay `open`. */
  finish(): void {
    for (const conn of [...this.table]) this.evict(conn, this.now);
  }

  /** A SYN on a known tuple starts a new connection when its ISN differs from the SYN this side
   * sent before; when this side sent none, when the old connection is closed or was picked up
   * mid-stream (a SYN from the server side of an open connection is a simultaneous open). */
  private isNewIncarnation(conn: Connection, dir: Direction, seq: number): boolean {
    const h = dir === 0 ? conn.fwd : conn.rev;
    if (h.synSeen) return seq !== h.isn;
    return conn.closed || conn.midstream;
  }

  private open(d: DecodedPacket, hash: number, syn: boolean, ack: boolean): Connection {
    const conn = new Connection(this.nextId++);
    this.created++;
    conn.hash = hash;
    conn.ipVersion = d.ipVersion;
    conn.startTs = d.tsMicros;
    // Who opened it: the SYN's sender; the SYN-ACK's receiver; mid-stream, the higher port's side.
    const reverse = syn ? ack : d.srcPort < d.dstPort;
    conn.midstream = !syn;
    if (reverse) {
      conn.s0 = d.dst0;
      conn.s1 = d.dst1;
      conn.s2 = d.dst2;
      conn.s3 = d.dst3;
      conn.srcPort = d.dstPort;
      conn.d0 = d.src0;
      conn.d1 = d.src1;
      conn.d2 = d.src2;
      conn.d3 = d.src3;
      conn.dstPort = d.srcPort;
    } else {
      conn.s0 = d.src0;
      conn.s1 = d.src1;
      conn.s2 = d.src2;
      conn.s3 = d.src3;
      conn.srcPort = d.srcPort;
      conn.d0 = d.dst0;
      conn.d1 = d.dst1;
      conn.d2 = d.dst2;
      conn.d3 = d.dst3;
      conn.dstPort = d.dstPort;
    }
    this.table.insert(conn);
    this.table.direction = reverse ? 1 : 0;
    conn.consumer = this.consumers?.create(conn) ?? null;
    return conn;
  }

  private evict(conn: Connection, ts: number): void {
    flushAll(conn, ts, this.budget);
    this.table.remove(conn);
    conn.consumer?.onClose(conn);
    conn.consumer = null;
    this.onConnection(conn);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const o = this.options;
    const done: Connection[] = [];
    for (const conn of this.table) {
      const idle = now - conn.lastTs;
      if (conn.closed) {
        if (idle >= o.closeLingerMicros) done.push(conn);
        continue;
      }
      if (idle >= o.closeOlderThanMicros) {
        conn.closeReason = 'timeout';
        conn.closedTs = now;
        done.push(conn);
        continue;
      }
      // Holes older than the flush period will not fill: give them up as gaps.
      if (conn.fwd.pending && now - conn.fwd.pendingSince >= o.flushPeriodMicros) {
        while (conn.fwd.pending) skipHole(conn, conn.fwd, 0, now, this.budget);
      }
      if (conn.rev.pending && now - conn.rev.pendingSince >= o.flushPeriodMicros) {
        while (conn.rev.pending) skipHole(conn, conn.rev, 1, now, this.budget);
      }
    }
    for (const conn of done) this.evict(conn, now);
  }
}
