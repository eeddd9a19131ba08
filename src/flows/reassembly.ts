/**
 * Per-direction TCP stream reassembly (RFC 9293 §3.4, §3.10.7.4): puts segments in sequence order,
 * trims retransmitted and overlapping bytes, holds segments that arrive ahead of a hole, and hands
 * the consumer each byte once, in order. Holes that will not fill (the receiver acknowledged past
 * them, a buffer cap was reached, the hole is older than the flush period, or the connection ended)
 * are skipped and reported as gaps. Sequence numbers are compared mod 2^32 (`(a - b) | 0`).
 *
 * Without a consumer the same bookkeeping runs with no bytes kept, so retransmissions, out-of-order
 * segments and gaps are counted the same way whether or not a dissector reads the stream.
 */
import type { ErrorCounters } from '../wire/errors.js';
import type { Connection, HalfStream, PendingSegment } from './connection.js';
import type { Direction, StreamConsumer } from './stream.js';

export interface ReassemblyLimits {
  /** Bytes of out-of-order data held per connection (both directions) before a hole is skipped. */
  maxBufferedPerConnection: number;
  /** Bytes of out-of-order data held across all connections. */
  maxBufferedTotal: number;
  /** Segments held per direction (bounds the bookkeeping when no bytes are kept). */
  maxPendingSegments: number;
}

/** Shared across all connections of one tracker. */
export class ReassemblyBudget {
  buffered = 0;
  constructor(
    readonly limits: ReassemblyLimits,
    readonly errors: ErrorCounters,
  ) {}
}

/**
 * Feeds one segment of direction `dir`. `seq` is the segment's sequence number (after the SYN's, for
 * a SYN carrying data), `wireLen` its payload length on the wire, of which `capLen` bytes are in
 * `b[off, off + capLen)` (fewer when the snap length cut the packet).
 */
export function addSegment(
  conn: Connection,
  dir: Direction,
  seq: number,
  b: Uint8Array,
  off: number,
  capLen: number,
  wireLen: number,
  fin: boolean,
  ts: number,
  budget: ReassemblyBudget,
): void {
  const h = conn.half(dir);
  if (!h.hasSeq) {
    h.hasSeq = true;
    h.nextSeq = seq;
  }
  if (h.ended) {
    // Anything after the FIN was reached in order is a retransmission (of data or of the FIN).
    h.retransmissions++;
    return;
  }
  const end = (seq + wireLen) >>> 0;
  const rel = (seq - h.nextSeq) | 0;
  if (rel > 0) {
    hold(conn, h, dir, seq, end, b, off, capLen, wireLen, fin, ts, budget);
    return;
  }
  const relEnd = (end - h.nextSeq) | 0;
  // A FIN ending exactly at nextSeq is new even when its bytes are not: a retransmission may carry
  // the FIN on data already delivered (RFC 9293 §3.10.7.4: the FIN is processed once the segment's
  // text before it is in; senders may collapse a lone FIN into a retransmitted segment).
  if (relEnd < 0 || (relEnd === 0 && !fin)) {
    // Nothing new: every byte (and the FIN, if any) was delivered already.
    if (relEnd < 0 || wireLen > 0 || fin) h.retransmissions++;
    return;
  }
  if (rel < 0) h.retransmissions++; // overlaps bytes already delivered; only the new tail is used
  deliver(conn, h, dir, -rel, b, off, capLen, wireLen, ts);
  h.nextSeq = end;
  if (fin) finish(conn, h, dir, ts);
  if (h.pending) drain(conn, h, dir, ts, budget);
}

/** Delivers `[skip, wireLen)` of a segment whose first `capLen` bytes were captured. */
function deliver(
  conn: Connection,
  h: HalfStream,
  dir: Direction,
  skip: number,
  b: Uint8Array | null,
  off: number,
  capLen: number,
  wireLen: number,
  ts: number,
): void {
  const consumer = conn.consumer;
  if (consumer && skip < capLen && b) consumer.onData(dir, b.subarray(off + skip, off + capLen), ts);
  const missing = wireLen - Math.max(skip, capLen);
  if (missing > 0) {
    // The snap length cut these bytes: the consumer must know the stream has a hole here. Counted
    // with or without a consumer, so that the counters do not depend on whether bytes are wanted.
    h.gaps++;
    h.gapBytes += missing;
    consumer?.onGap(dir, missing, ts);
  }
}

function finish(conn: Connection, h: HalfStream, dir: Direction, ts: number): void {
  h.nextSeq = (h.nextSeq + 1) >>> 0; // the FIN occupies one sequence number
  h.ended = true;
  const consumer = conn.consumer;
  if (!consumer) return;
  consumer.onEnd(dir, ts);
  // Both directions delivered to their FIN: no byte can follow, so the consumer is done now, not
  // when the connection leaves the table after --close-linger. Its entries come out at once and
  // its parser state is freed while the connection lingers for late packets (counted as before).
  if ((dir === 0 ? conn.rev : conn.fwd).ended && conn.consumer === consumer) {
    conn.consumer = null;
    consumer.onClose(conn);
  }
}

function hold(
  conn: Connection,
  h: HalfStream,
  dir: Direction,
  seq: number,
  end: number,
  b: Uint8Array,
  off: number,
  capLen: number,
  wireLen: number,
  fin: boolean,
  ts: number,
  budget: ReassemblyBudget,
): void {
  if (wireLen === 0 && !fin) return; // a bare ACK ahead of a hole carries nothing to hold
  let pending = h.pending;
  if (!pending) {
    pending = h.pending = [];
    h.pendingSince = ts;
  }
  // Insert sorted by sequence number; an exact duplicate of a held segment is a retransmission.
  let i = pending.length;
  while (i > 0 && ((pending[i - 1]!.seq - seq) | 0) > 0) i--;
  const before = pending[i - 1];
  // Not a duplicate when it brings a FIN the held copy lacks: that FIN would be lost.
  if (before && before.seq === seq && ((before.end - end) | 0) >= 0 && (!fin || before.fin)) {
    h.retransmissions++;
    return;
  }
  h.outOfOrder++;
  // Held bytes outlive the capture buffer: this is the one place reassembly copies.
  const data = conn.consumer && capLen > 0 ? b.slice(off, off + capLen) : null;
  const seg: PendingSegment = { seq, end, fin, data, capLen, wireLen };
  pending.splice(i, 0, seg);
  const size = data ? data.length : 0;
  h.pendingBytes += size;
  budget.buffered += size;
  const limits = budget.limits;
  while (
    h.pending &&
    (conn.fwd.pendingBytes + conn.rev.pendingBytes > limits.maxBufferedPerConnection ||
      budget.buffered > limits.maxBufferedTotal ||
      h.pending.length > limits.maxPendingSegments)
  ) {
    budget.errors.add('reassembly.buffer_overflow');
    skipHole(conn, h, dir, ts, budget);
  }
}

/** Skips the hole before the first held segment, reporting it as a gap, then delivers what follows. */
export function skipHole(
  conn: Connection,
  h: HalfStream,
  dir: Direction,
  ts: number,
  budget: ReassemblyBudget,
): void {
  const first = h.pending?.[0];
  if (!first) return;
  const hole = (first.seq - h.nextSeq) | 0;
  if (hole > 0) {
    h.gaps++;
    h.gapBytes += hole;
    conn.consumer?.onGap(dir, hole, ts);
    h.nextSeq = first.seq;
  }
  drain(conn, h, dir, ts, budget);
}

/** Delivers held segments that now start at or before the next expected byte. */
function drain(conn: Connection, h: HalfStream, dir: Direction, ts: number, budget: ReassemblyBudget): void {
  const pending = h.pending!;
  let n = 0;
  while (n < pending.length) {
    const seg = pending[n]!;
    const rel = (seg.seq - h.nextSeq) | 0;
    // Once the FIN is reached nothing follows it (RFC 9293 §3.10.7.4, CLOSE-WAIT: segment text after
    // a FIN is ignored): held segments past it are dropped now, not kept until the connection leaves
    // (they held memory, and skipping the hole before them reported a gap after onEnd).
    if (rel > 0 && !h.ended) break;
    n++;
    const size = seg.data ? seg.data.length : 0;
    h.pendingBytes -= size;
    budget.buffered -= size;
    if (h.ended) continue;
    const relEnd = (seg.end - h.nextSeq) | 0;
    if (relEnd > 0) {
      deliver(conn, h, dir, -rel, seg.data, 0, seg.capLen, seg.wireLen, ts);
      h.nextSeq = seg.end;
    }
    if (seg.fin && relEnd >= 0) finish(conn, h, dir, ts);
  }
  if (n === pending.length) h.pending = null;
  else {
    pending.splice(0, n);
    if (n > 0) h.pendingSince = ts;
  }
}

/** Skips every remaining hole of both directions (the connection is leaving the tracker). */
export function flushAll(conn: Connection, ts: number, budget: ReassemblyBudget): void {
  while (conn.fwd.pending) skipHole(conn, conn.fwd, 0, ts, budget);
  while (conn.rev.pending) skipHole(conn, conn.rev, 1, ts, budget);
}

/** Consumer helper for tests and simple sinks: collects each direction's bytes and gaps. */
export class CollectingConsumer implements StreamConsumer {
  readonly chunks: [Uint8Array[], Uint8Array[]] = [[], []];
  readonly gaps: [number, number] = [0, 0];
  readonly ended: [boolean, boolean] = [false, false];
  closed = false;

  onData(dir: Direction, data: Uint8Array): void {
    this.chunks[dir].push(data.slice());
  }
  onGap(dir: Direction, bytes: number): void {
    this.gaps[dir] += bytes;
  }
  onEnd(dir: Direction): void {
    this.ended[dir] = true;
  }
  onClose(): void {
    this.closed = true;
  }
  bytes(dir: Direction): Buffer {
    return Buffer.concat(this.chunks[dir]);
  }
}
