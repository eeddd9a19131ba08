/**
 * TCP stream reassembly, driven through the tracker as the pipeline drives it.
 *
 * Properties: a random byte stream each way, cut into random segments, sent in random order with
 * duplicates and overlapping re-segmentations (retransmissions that cover several original
 * segments or parts of them), from random ISNs including ones about to wrap past 2^32. Without loss
 * the consumer gets exactly the sent bytes; with loss (and snap-length cuts, and tiny buffer caps)
 * every byte is either delivered, at its right place, or counted in a gap.
 *
 * Then table-driven cases in the style of gopacket's assembly tests: segments in, bytes, gaps and
 * counters out, each run from an ordinary ISN and from one that wraps in the middle of the stream.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Connection, HalfStream } from '../../src/flows/connection.js';
import { CollectingConsumer } from '../../src/flows/reassembly.js';
import type { Direction } from '../../src/flows/stream.js';
import type { TcpTracker, TrackerOptions } from '../../src/flows/tracker.js';
import { between, type ConsumerEvent, feed, harness, RecordingConsumer } from '../support/segments.js';

const CLIENT = { ip: '10.0.0.1', port: 40000 };
const SERVER = { ip: '10.0.0.2', port: 8080 };
const T0 = 1_700_000_000_000_000;

// ---------------------------------------------------------------------------------------------
// The model: what each side sent, and the packets a capture saw.

/** One TCP segment of the model, by byte offset into its direction's stream. */
interface Seg {
  dir: Direction;
  /** [from, to) of the stream; from === to for a bare FIN. */
  from: number;
  to: number;
  fin: boolean;
  /** An original transmission (may be lost); re-segmentations and duplicates are not. */
  original: boolean;
  /** Lost before the capture point: the peer got it, the capture did not. */
  lost: boolean;
  /** Bytes the snap length left of the payload (to - from when not cut). */
  captured: number;
  prio: number;
}

interface DirSpec {
  isn: number;
  data: Uint8Array;
  cuts: number[];
  /** The FIN goes in a segment of its own rather than on the last data segment. */
  finAlone: boolean;
  extras: { a: number; b: number; fin: boolean; prio: number }[];
}

interface Scenario {
  dirs: [DirSpec, DirSpec];
  prios: number[];
  dups: { i: number; prio: number }[];
  losses: number[];
  snaps: { i: number; keep: number }[];
}

const isnArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  // Close enough to 2^32 that the stream's sequence numbers wrap.
  fc.integer({ min: 0xffffffff - 600, max: 0xffffffff }),
);

const dirSpecArb = (maxLen: number): fc.Arbitrary<DirSpec> =>
  fc.record({
    isn: isnArb,
    // fast-check keeps arrays small by default; 'medium' reaches streams of a few hundred bytes.
    data: fc.uint8Array({ maxLength: maxLen, size: 'medium' }),
    cuts: fc.array(fc.nat(), { maxLength: 16, size: 'medium' }),
    finAlone: fc.boolean(),
    extras: fc.array(fc.record({ a: fc.nat(), b: fc.nat(), fin: fc.boolean(), prio: fc.nat(1000) }), {
      maxLength: 6,
    }),
  });

const scenarioArb = (maxLen: number, lossy: boolean): fc.Arbitrary<Scenario> =>
  fc.record({
    dirs: fc.tuple(dirSpecArb(maxLen), dirSpecArb(maxLen)),
    prios: fc.array(fc.nat(1000), { maxLength: 40, size: 'max' }),
    dups: fc.array(fc.record({ i: fc.nat(), prio: fc.nat(1000) }), { maxLength: 6 }),
    losses: lossy ? fc.array(fc.nat(), { maxLength: 6 }) : fc.constant([]),
    snaps: lossy ? fc.array(fc.record({ i: fc.nat(), keep: fc.nat() }), { maxLength: 3 }) : fc.constant([]),
  });

/** The segments of a scenario, in capture order (lost ones included, marked). */
function segmentsOf(s: Scenario): Seg[] {
  const originals: Seg[] = [];
  const extras: Seg[] = [];
  for (const dir of [0, 1] as const) {
    const spec = s.dirs[dir];
    const len = spec.data.length;
    const points = [...new Set([0, ...spec.cuts.map((c) => (len ? c % len : 0)), len])].sort((x, y) => x - y);
    const mk = (from: number, to: number, fin: boolean, original: boolean, prio: number): Seg => ({
      dir,
      from,
      to,
      fin,
      original,
      lost: false,
      captured: to - from,
      prio,
    });
    for (let i = 0; i + 1 < points.length; i++) {
      const last = i + 2 === points.length;
      originals.push(mk(points[i]!, points[i + 1]!, last && !spec.finAlone, true, 0));
    }
    if (spec.finAlone || len === 0) originals.push(mk(len, len, true, true, 0));
    for (const e of spec.extras) {
      let a = e.a % (len + 1);
      let b = e.b % (len + 1);
      if (a > b) [a, b] = [b, a];
      const fin = e.fin && b === len;
      if (a === b && !fin) continue; // nothing to send
      extras.push(mk(a, b, fin, false, e.prio));
    }
  }
  originals.forEach((seg, i) => {
    seg.prio = s.prios[i] ?? 0;
  });
  for (const l of s.losses) {
    const seg = originals[l % originals.length];
    if (seg) seg.lost = true;
  }
  const all = [...originals, ...extras];
  for (const d of s.dups) {
    const seg = all[d.i % all.length];
    if (seg) all.push({ ...seg, original: false, lost: false, prio: d.prio });
  }
  for (const c of s.snaps) {
    const seg = all[c.i % all.length];
    if (seg && seg.to > seg.from) seg.captured = c.keep % (seg.to - seg.from);
  }
  // A stable sort: equal priorities keep the order of sending, so shrinking leads to in-order.
  return all
    .map((seg, i) => ({ seg, i }))
    .sort((x, y) => x.seg.prio - y.seg.prio || x.i - y.i)
    .map((x) => x.seg);
}

/** How far the peer of `dir` has the stream contiguously (what it acknowledges), FIN counted. */
class Receiver {
  private got: [number, number][] = [];
  private fin = false;
  prefix = 0;
  finReached = false;

  constructor(private readonly len: number) {}

  add(seg: Seg): void {
    if (seg.fin) this.fin = true;
    if (seg.to > seg.from) this.got.push([seg.from, seg.to]);
    this.got.sort((x, y) => x[0] - y[0]);
    for (const [from, to] of this.got) if (from <= this.prefix && to > this.prefix) this.prefix = to;
    this.finReached = this.fin && this.prefix === this.len;
  }
}

interface Run {
  conn: Connection;
  consumer: RecordingConsumer | null;
  segs: Seg[];
  budgetBuffered: number;
  overflows: number;
}

/** Sends the scenario through a tracker: handshake first, then the segments in capture order. */
function run(s: Scenario, options: Partial<TrackerOptions> = {}, withConsumer = true): Run {
  const h = harness(options, withConsumer ? () => new RecordingConsumer() : null);
  const { a: client, b: server } = between(CLIENT, SERVER);
  const send = [client, server] as const;
  const isn = [s.dirs[0].isn, s.dirs[1].isn] as const;
  const rcv = [new Receiver(s.dirs[0].data.length), new Receiver(s.dirs[1].data.length)] as const;
  let ts = T0;
  feed(h.tracker, client({ flags: 'S', seq: isn[0], ts: ts++ }));
  feed(h.tracker, server({ flags: 'SA', seq: isn[1], ack: isn[0] + 1, ts: ts++ }));
  feed(h.tracker, client({ flags: 'A', seq: isn[0] + 1, ack: isn[1] + 1, ts: ts++ }));
  const segs = segmentsOf(s);
  const perConnCap = h.tracker.budget.limits.maxBufferedPerConnection;
  for (const seg of segs) {
    rcv[seg.dir].add(seg);
    if (seg.lost) continue;
    const other = rcv[1 - seg.dir]!;
    const ack = isn[1 - seg.dir]! + 1 + other.prefix + (other.finReached ? 1 : 0);
    const d = send[seg.dir]({
      flags: seg.fin ? 'FA' : 'PA',
      seq: isn[seg.dir] + 1 + seg.from,
      ack,
      payload: s.dirs[seg.dir].data.subarray(seg.from, seg.from + seg.captured),
      payloadWireLength: seg.to - seg.from,
      ts: ts++,
    });
    feed(h.tracker, d);
    // Memory stays within the caps after every segment.
    const conn = [...h.tracker.table][0]!;
    assert.ok(conn.fwd.pendingBytes + conn.rev.pendingBytes <= perConnCap, 'per-connection cap');
    assert.ok(h.tracker.budget.buffered <= h.tracker.budget.limits.maxBufferedTotal, 'global cap');
    for (const half of [conn.fwd, conn.rev]) {
      assert.ok((half.pending?.length ?? 0) <= h.tracker.budget.limits.maxPendingSegments, 'segment cap');
    }
  }
  assert.equal(h.tracker.table.size, 1);
  h.tracker.finish();
  assert.equal(h.reported.length, 1, 'the connection is reported once');
  return {
    conn: h.reported[0]!,
    consumer: h.consumers[0] ?? null,
    segs,
    budgetBuffered: h.tracker.budget.buffered,
    overflows: h.errors.get('reassembly.buffer_overflow'),
  };
}

/**
 * Walks the consumer's events of `dir`, placing data and gaps one after the other: every delivered
 * byte must be the sent byte at that position. Returns where the walk ended.
 */
function replay(events: ConsumerEvent[], dir: Direction, sent: Uint8Array): { at: number; ends: number } {
  let at = 0;
  let ends = 0;
  for (const e of events) {
    if (e.kind === 'close' || e.dir !== dir) continue;
    assert.equal(ends, 0, `dir ${dir}: a ${e.kind} event after onEnd`);
    if (e.kind === 'data') {
      assert.ok(e.data.length > 0, 'no empty onData');
      assert.ok(at + e.data.length <= sent.length, `dir ${dir}: data past the end of the sent stream`);
      assert.deepEqual(
        Buffer.from(e.data),
        Buffer.from(sent.subarray(at, at + e.data.length)),
        `dir ${dir}: bytes at ${at}`,
      );
      at += e.data.length;
    } else if (e.kind === 'gap') {
      assert.ok(e.bytes > 0, 'no empty gap');
      at += e.bytes;
    } else {
      assert.equal(at, sent.length, `dir ${dir}: onEnd before the last byte`);
      ends++;
    }
  }
  return { at, ends };
}

function counters(h: HalfStream): Record<string, number> {
  const { packets, bytes, wireBytes, retransmissions, outOfOrder, gaps, gapBytes } = h;
  return { packets, bytes, wireBytes, retransmissions, outOfOrder, gaps, gapBytes };
}

function checkCloseAndCounters(r: Run): void {
  const c = r.consumer!;
  assert.equal(c.count('close'), 1, 'onClose once');
  assert.equal(c.events.at(-1)?.kind, 'close', 'onClose is the last call');
  assert.equal(r.budgetBuffered, 0, 'nothing stays buffered once the connection has left');
  for (const dir of [0, 1] as const) {
    const half = r.conn.half(dir);
    const captured = r.segs.filter((seg) => seg.dir === dir && !seg.lost);
    // The handshake adds a packet each way (the client's SYN and ACK, the server's SYN-ACK).
    assert.equal(half.packets, captured.length + (dir === 0 ? 2 : 1), 'packets');
    assert.equal(
      half.bytes,
      captured.reduce((n, seg) => n + seg.to - seg.from, 0),
      'payload bytes on the wire',
    );
    const gaps = c.gaps(dir);
    assert.equal(half.gaps, gaps.length, 'HalfStream.gaps counts the consumer gaps');
    assert.equal(
      half.gapBytes,
      gaps.reduce((n, g) => n + g, 0),
      'HalfStream.gapBytes adds them up',
    );
    assert.equal(half.pending, null);
    assert.equal(half.pendingBytes, 0);
  }
}

describe('reassembly properties', () => {
  test('without loss each direction delivers exactly the sent bytes, no gaps, onEnd once, onClose once', () => {
    fc.assert(
      fc.property(scenarioArb(300, false), (s) => {
        const r = run(s);
        const c = r.consumer!;
        for (const dir of [0, 1] as const) {
          const sent = s.dirs[dir].data;
          assert.deepEqual(c.bytes(dir), Buffer.from(sent), `dir ${dir} bytes`);
          assert.deepEqual(c.gaps(dir), [], `dir ${dir} gaps`);
          assert.deepEqual(replay(c.events, dir, sent), { at: sent.length, ends: 1 });
        }
        assert.equal(r.conn.closeReason, 'fin');
        assert.equal(r.overflows, 0);
        checkCloseAndCounters(r);
      }),
      { numRuns: 400 },
    );
  });

  test('with loss and snap-length cuts, delivered bytes and gaps account for every byte, each in its place', () => {
    fc.assert(
      fc.property(scenarioArb(300, true), (s) => {
        const r = run(s);
        const c = r.consumer!;
        for (const dir of [0, 1] as const) {
          const sent = s.dirs[dir].data;
          const captured = r.segs.filter((seg) => seg.dir === dir && !seg.lost);
          const finCaptured = captured.some((seg) => seg.fin);
          // The stream is known up to the furthest byte captured, or to its end once a FIN was seen.
          const known = finCaptured ? sent.length : Math.max(0, ...captured.map((seg) => seg.to));
          assert.deepEqual(
            replay(c.events, dir, sent),
            { at: known, ends: finCaptured ? 1 : 0 },
            `dir ${dir}`,
          );
        }
        checkCloseAndCounters(r);
      }),
      { numRuns: 400 },
    );
  });

  test('under tiny buffer caps memory stays bounded and every byte is still delivered or a gap', () => {
    const capsArb = fc.record({
      maxBufferedPerConnection: fc.integer({ min: 1, max: 400 }),
      maxBufferedTotal: fc.integer({ min: 1, max: 400 }),
      maxPendingSegments: fc.integer({ min: 1, max: 8 }),
    });
    fc.assert(
      fc.property(scenarioArb(300, true), capsArb, (s, caps) => {
        const r = run(s, caps); // run() checks the caps after every segment
        for (const dir of [0, 1] as const) {
          const sent = s.dirs[dir].data;
          const captured = r.segs.filter((seg) => seg.dir === dir && !seg.lost);
          const finCaptured = captured.some((seg) => seg.fin);
          const known = finCaptured ? sent.length : Math.max(0, ...captured.map((seg) => seg.to));
          assert.deepEqual(replay(r.consumer!.events, dir, sent), {
            at: known,
            ends: finCaptured ? 1 : 0,
          });
        }
        checkCloseAndCounters(r);
      }),
      { numRuns: 300 },
    );
  });

  test('counters are the same whether or not a consumer reads the stream', () => {
    fc.assert(
      fc.property(scenarioArb(300, true), (s) => {
        const caps = { maxBufferedPerConnection: 100_000, maxBufferedTotal: 100_000, maxPendingSegments: 5 };
        const withBytes = run(s, caps, true);
        const without = run(s, caps, false);
        assert.equal(without.consumer, null);
        assert.equal(without.budgetBuffered, 0);
        assert.deepEqual(counters(without.conn.fwd), counters(withBytes.conn.fwd), 'client -> server');
        assert.deepEqual(counters(without.conn.rev), counters(withBytes.conn.rev), 'server -> client');
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Table-driven cases.

interface In {
  /** 0: client -> server (default), 1: back. */
  dir?: Direction;
  /** Relative to the first data byte of the direction (ISN + 1). */
  seq: number;
  data?: string;
  flags?: string;
  /** Relative ACK (to the other direction's first data byte); sets the A flag. */
  ack?: number;
  /** Payload length on the wire when the snap length cut `data`. */
  wire?: number;
  /** Microseconds after the handshake. */
  at?: number;
}

interface Want {
  bytes: string;
  gaps?: number[];
  retransmissions?: number;
  outOfOrder?: number;
  ended?: boolean;
}

interface Case {
  name: string;
  options?: Partial<TrackerOptions>;
  /** Payload on the client's SYN (TCP Fast Open). */
  synData?: string;
  in: In[];
  /** Client -> server; `back` for server -> client. */
  want: Want;
  back?: Want;
  /** Checked while the connection is still in the table (before finish()). */
  during?: (h: ReturnType<typeof harness<RecordingConsumer>>) => void;
  errors?: Partial<Record<'reassembly.buffer_overflow', number>>;
}

const CASES: Case[] = [
  {
    name: 'in order',
    in: [
      { seq: 0, data: 'abc' },
      { seq: 3, data: 'def' },
      { seq: 6, data: 'gh' },
    ],
    want: { bytes: 'abcdefgh', gaps: [], retransmissions: 0, outOfOrder: 0 },
  },
  {
    name: 'reordered segments are held and delivered in order',
    in: [
      { seq: 6, data: 'gh' },
      { seq: 3, data: 'def' },
      { seq: 0, data: 'abc' },
    ],
    want: { bytes: 'abcdefgh', gaps: [], retransmissions: 0, outOfOrder: 2 },
  },
  {
    name: 'an exact retransmission is counted and not delivered twice',
    in: [
      { seq: 0, data: 'abc' },
      { seq: 0, data: 'abc' },
      { seq: 3, data: 'def' },
    ],
    want: { bytes: 'abcdef', gaps: [], retransmissions: 1, outOfOrder: 0 },
  },
  {
    name: 'a partial overlap delivers only the new tail',
    in: [
      { seq: 0, data: 'abcd' },
      { seq: 2, data: 'cdef' },
      { seq: 6, data: 'g' },
    ],
    want: { bytes: 'abcdefg', gaps: [], retransmissions: 1, outOfOrder: 0 },
  },
  {
    name: 'a retransmission covering several delivered segments and new bytes delivers the new ones',
    in: [
      { seq: 0, data: 'ab' },
      { seq: 2, data: 'cd' },
      { seq: 0, data: 'abcdef' },
    ],
    want: { bytes: 'abcdef', gaps: [], retransmissions: 1, outOfOrder: 0 },
  },
  {
    name: 'a retransmission of a held segment is counted, held once',
    in: [
      { seq: 4, data: 'efg' },
      { seq: 4, data: 'efg' },
      { seq: 0, data: 'abcd' },
    ],
    want: { bytes: 'abcdefg', gaps: [], retransmissions: 1, outOfOrder: 1 },
  },
  {
    name: 'overlapping held segments are delivered without repeating bytes',
    in: [
      { seq: 6, data: 'ghij' },
      { seq: 4, data: 'efgh' },
      { seq: 0, data: 'abcd' },
    ],
    want: { bytes: 'abcdefghij', gaps: [], retransmissions: 0, outOfOrder: 2 },
  },
  {
    name: 'data on the SYN (TCP Fast Open) is the start of the stream',
    synData: 'hello',
    in: [{ seq: 5, data: ' world' }],
    want: { bytes: 'hello world', gaps: [], retransmissions: 0, outOfOrder: 0 },
  },
  {
    name: 'a FIN that arrives before the data it follows ends the stream once the data is in',
    in: [
      { seq: 3, data: 'def', flags: 'FA' },
      { seq: 0, data: 'abc' },
    ],
    want: { bytes: 'abcdef', gaps: [], retransmissions: 0, outOfOrder: 1, ended: true },
  },
  {
    name: 'a bare FIN ahead of a hole waits for the hole',
    in: [
      { seq: 3, flags: 'FA' },
      { seq: 0, data: 'abc' },
    ],
    want: { bytes: 'abc', gaps: [], outOfOrder: 1, ended: true },
  },
  {
    name: 'a retransmission that adds the FIN to already delivered data ends the stream',
    in: [
      { seq: 0, data: 'abc' },
      { seq: 0, data: 'abc', flags: 'FA' },
    ],
    want: { bytes: 'abc', gaps: [], retransmissions: 1, ended: true },
  },
  {
    name: 'a retransmission that adds the FIN to a held segment keeps the FIN',
    in: [
      { seq: 3, data: 'def' },
      { seq: 3, data: 'def', flags: 'FA' },
      { seq: 0, data: 'abc' },
    ],
    want: { bytes: 'abcdef', gaps: [], ended: true },
  },
  {
    name: 'bytes after the FIN are not delivered',
    in: [
      { seq: 0, data: 'abc', flags: 'FA' },
      { seq: 4, data: 'xyz' },
    ],
    want: { bytes: 'abc', gaps: [], retransmissions: 1, ended: true },
  },
  {
    name: 'bytes held past the FIN are dropped when the FIN is reached',
    in: [
      { seq: 7, data: 'xyz' },
      { seq: 3, flags: 'FA' },
      { seq: 0, data: 'abc' },
    ],
    want: { bytes: 'abc', gaps: [], ended: true },
  },
  {
    name: 'a segment cut by the snap length is delivered as its captured bytes and a gap',
    in: [
      { seq: 0, data: 'ab', wire: 5 },
      { seq: 5, data: 'fgh' },
    ],
    want: { bytes: 'abfgh', gaps: [3], retransmissions: 0, outOfOrder: 0 },
  },
  {
    name: 'a held segment cut by the snap length becomes a gap when delivered',
    in: [
      { seq: 4, data: 'e', wire: 3 },
      { seq: 0, data: 'abcd' },
      { seq: 7, data: 'h' },
    ],
    want: { bytes: 'abcdeh', gaps: [2], outOfOrder: 1 },
  },
  {
    name: 'an ACK past a hole gives the hole up as a gap at once',
    in: [
      { seq: 0, data: 'abc' },
      { seq: 6, data: 'ghi' },
      { dir: 1, seq: 0, ack: 9 },
    ],
    during: (h) => {
      assert.deepEqual(h.consumers[0]!.gaps(0), [3], 'gap reported before the connection ends');
      assert.equal(h.consumers[0]!.bytes(0).toString('latin1'), 'abcghi');
    },
    want: { bytes: 'abcghi', gaps: [3], outOfOrder: 1 },
  },
  {
    name: 'an ACK of exactly the hole gives it up',
    in: [
      { seq: 0, data: 'abc' },
      { seq: 6, data: 'ghi' },
      { dir: 1, seq: 0, ack: 6 },
    ],
    during: (h) => assert.deepEqual(h.consumers[0]!.gaps(0), [3]),
    want: { bytes: 'abcghi', gaps: [3], outOfOrder: 1 },
  },
  {
    name: 'one ACK past two holes gives up both',
    in: [
      { seq: 0, data: 'ab' },
      { seq: 4, data: 'ef' },
      { seq: 8, data: 'ij' },
      { dir: 1, seq: 0, ack: 10 },
    ],
    during: (h) => assert.deepEqual(h.consumers[0]!.gaps(0), [2, 2]),
    want: { bytes: 'abefij', gaps: [2, 2], outOfOrder: 2 },
  },
  {
    name: 'a duplicate ACK of the hole start skips nothing',
    in: [
      { seq: 0, data: 'abc' },
      { seq: 6, data: 'ghi' },
      { dir: 1, seq: 0, ack: 3 },
      { dir: 1, seq: 0, ack: 3 },
      { seq: 3, data: 'def' },
    ],
    want: { bytes: 'abcdefghi', gaps: [], outOfOrder: 1 },
  },
  {
    name: 'both directions are reassembled independently',
    in: [
      { seq: 0, data: 'GET / ' },
      { dir: 1, seq: 4, data: ' OK' },
      { seq: 6, data: 'HTTP/1.1' },
      { dir: 1, seq: 0, data: '200' },
      { dir: 1, seq: 0, data: '20' },
    ],
    want: { bytes: 'GET / HTTP/1.1', gaps: [], retransmissions: 0, outOfOrder: 0 },
    back: { bytes: '200 OK', gaps: [1], retransmissions: 1, outOfOrder: 1 },
  },
  {
    name: 'the per-connection cap skips the hole, counts the overflow and frees the memory',
    options: { maxBufferedPerConnection: 8 },
    in: [
      { seq: 0, data: 'ab' },
      { seq: 4, data: 'efgh' },
      { dir: 1, seq: 3, data: 'DEF' },
      // 4 + 3 held; this one makes 13 > 8: the client's holes are given up until it fits again.
      { seq: 10, data: 'klmnop' },
    ],
    during: (h) => {
      assert.deepEqual(h.consumers[0]!.gaps(0), [2, 2], 'both client holes skipped');
      assert.equal(h.consumers[0]!.bytes(0).toString('latin1'), 'abefghklmnop');
      const conn = [...h.tracker.table][0]!;
      assert.equal(conn.fwd.pending, null);
      assert.equal(conn.fwd.pendingBytes, 0);
      assert.equal(conn.rev.pendingBytes, 3, "the server's held bytes stay");
      assert.equal(h.tracker.budget.buffered, 3);
    },
    // Counted once per hole given up.
    errors: { 'reassembly.buffer_overflow': 2 },
    want: { bytes: 'abefghklmnop', gaps: [2, 2], outOfOrder: 2 },
    back: { bytes: 'DEF', gaps: [3], outOfOrder: 1 },
  },
  {
    name: 'the pending segment cap bounds the bookkeeping',
    options: { maxPendingSegments: 2 },
    in: [
      { seq: 2, data: 'c' },
      { seq: 4, data: 'e' },
      { seq: 6, data: 'g' },
      { seq: 0, data: 'ab' },
    ],
    errors: { 'reassembly.buffer_overflow': 1 },
    // The third held segment gives up the first hole; 'ab' then comes too late.
    want: { bytes: 'ceg', gaps: [2, 1, 1], retransmissions: 1, outOfOrder: 3 },
  },
];

function runCase(c: Case, isnC: number, isnS: number): ReturnType<typeof harness<RecordingConsumer>> {
  const h = harness<RecordingConsumer>(c.options);
  const { a: client, b: server } = between(CLIENT, SERVER);
  const synData = c.synData ?? '';
  feed(h.tracker, client({ flags: 'S', seq: isnC, payload: synData, ts: T0 }));
  feed(h.tracker, server({ flags: 'SA', seq: isnS, ack: isnC + 1 + synData.length, ts: T0 + 1 }));
  feed(h.tracker, client({ flags: 'A', seq: isnC + 1 + synData.length, ack: isnS + 1, ts: T0 + 2 }));
  const base = [isnC + 1, isnS + 1] as const;
  c.in.forEach((s, i) => {
    const dir = s.dir ?? 0;
    const hasAck = s.ack !== undefined;
    const flags = s.flags ?? (s.data ? 'PA' : 'A');
    feed(
      h.tracker,
      (dir === 0 ? client : server)({
        flags,
        seq: base[dir] + s.seq,
        ack: hasAck ? base[1 - dir]! + s.ack! : base[1 - dir],
        payload: s.data ?? '',
        payloadWireLength: s.wire ?? s.data?.length ?? 0,
        ts: T0 + 10 + (s.at ?? i),
      }),
    );
  });
  c.during?.(h);
  h.tracker.finish();
  return h;
}

function check(c: Case, h: ReturnType<typeof harness<RecordingConsumer>>): void {
  const conn = h.reported[0]!;
  const consumer = h.consumers[0]!;
  for (const [dir, want] of [
    [0, c.want],
    [1, c.back ?? { bytes: '', gaps: [], retransmissions: 0, outOfOrder: 0 }],
  ] as const) {
    const half = conn.half(dir);
    const label = dir === 0 ? 'client -> server' : 'server -> client';
    assert.equal(consumer.bytes(dir).toString('latin1'), want.bytes, `${label} bytes`);
    if (want.gaps) assert.deepEqual(consumer.gaps(dir), want.gaps, `${label} gaps`);
    if (want.gaps) assert.equal(half.gaps, want.gaps.length, `${label} HalfStream.gaps`);
    if (want.retransmissions !== undefined)
      assert.equal(half.retransmissions, want.retransmissions, `${label} retransmissions`);
    if (want.outOfOrder !== undefined) assert.equal(half.outOfOrder, want.outOfOrder, `${label} outOfOrder`);
    if (want.ended !== undefined)
      assert.equal(consumer.count('end', dir), want.ended ? 1 : 0, `${label} ended`);
  }
  assert.equal(h.reported.length, 1);
  assert.equal(consumer.count('close'), 1);
  assert.equal(h.tracker.budget.buffered, 0, 'memory freed');
  assert.equal(h.errors.get('reassembly.buffer_overflow'), c.errors?.['reassembly.buffer_overflow'] ?? 0);
}

describe('reassembly cases', () => {
  for (const c of CASES) {
    test(c.name, () => check(c, runCase(c, 1000, 50_000)));
    test(`${c.name} (sequence numbers wrap past 2^32)`, () => check(c, runCase(c, 0xfffffffb, 0xfffffffe)));
  }
});

describe('reassembly limits and timing', () => {
  const { a: client, b: server } = between(CLIENT, SERVER);

  function open(h: { tracker: TcpTracker }, isn: number, ts: number): void {
    const { a: c, b: s } = between(CLIENT, SERVER);
    feed(h.tracker, c({ flags: 'S', seq: isn, ts }));
    feed(h.tracker, s({ flags: 'SA', seq: 7, ack: isn + 1, ts: ts + 1 }));
    feed(h.tracker, c({ flags: 'A', seq: isn + 1, ack: 8, ts: ts + 2 }));
  }

  test('the global cap gives up the hole of the connection that went over it', () => {
    const h = harness<RecordingConsumer>({ maxBufferedTotal: 10 });
    const other = between({ ip: '10.0.0.3', port: 40001 }, SERVER);
    open(h, 100, T0);
    feed(h.tracker, other.a({ flags: 'S', seq: 500, ts: T0 + 3 }));
    feed(h.tracker, other.b({ flags: 'SA', seq: 9, ack: 501, ts: T0 + 4 }));
    // Connection 1 holds 8 bytes behind a hole, connection 2 then holds 4 more: 12 > 10.
    feed(h.tracker, client({ flags: 'PA', seq: 111, ack: 8, payload: 'KLMNOPQR', ts: T0 + 5 }));
    assert.equal(h.tracker.budget.buffered, 8);
    feed(h.tracker, other.a({ flags: 'PA', seq: 511, ack: 10, payload: 'klmn', ts: T0 + 6 }));
    assert.equal(h.errors.get('reassembly.buffer_overflow'), 1);
    assert.equal(h.tracker.budget.buffered, 8, 'the second connection gave its hole up');
    assert.deepEqual(h.consumers[1]!.gaps(0), [10]);
    assert.equal(h.consumers[1]!.bytes(0).toString(), 'klmn');
    assert.deepEqual(h.consumers[0]!.gaps(0), [], 'the first connection still waits');
    feed(h.tracker, client({ flags: 'PA', seq: 101, ack: 8, payload: 'ABCDEFGHIJ', ts: T0 + 7 }));
    assert.equal(h.consumers[0]!.bytes(0).toString(), 'ABCDEFGHIJKLMNOPQR');
    assert.equal(h.tracker.budget.buffered, 0, 'all drained');
    h.tracker.finish();
    assert.equal(h.tracker.budget.buffered, 0);
  });

  test('without a consumer no bytes are held, but the segment cap still bounds the bookkeeping', () => {
    const h = harness({ maxPendingSegments: 3 }, null);
    open(h, 100, T0);
    for (let i = 0; i < 10; i++) {
      feed(
        h.tracker,
        client({ flags: 'PA', seq: 111 + 20 * i, ack: 8, payload: 'x'.repeat(10), ts: T0 + 10 + i }),
      );
      const conn = [...h.tracker.table][0]!;
      assert.ok((conn.fwd.pending?.length ?? 0) <= 3);
      assert.equal(conn.fwd.pendingBytes, 0);
      assert.equal(h.tracker.budget.buffered, 0);
    }
    assert.equal(h.errors.get('reassembly.buffer_overflow'), 7);
    h.tracker.finish();
    const fwd = h.reported[0]!.fwd;
    // Ten holes of 10 bytes each, all given up (seven by the cap, three when the connection ended).
    assert.equal(fwd.gaps, 10);
    assert.equal(fwd.gapBytes, 100);
    assert.equal(fwd.outOfOrder, 10);
  });

  test('a hole older than the flush period is given up on the next sweep, not before', () => {
    const period = 1_000_000;
    const h = harness<RecordingConsumer>({ flushPeriodMicros: period });
    open(h, 100, T0); // the first packet sweeps (an empty table) at T0
    feed(h.tracker, client({ flags: 'PA', seq: 104, ack: 8, payload: 'def', ts: T0 + 100_000 }));
    const consumer = h.consumers[0]!;
    h.tracker.tick(T0 + period + 50_000); // sweeps; the hole is 0.95 s old
    assert.deepEqual(consumer.gaps(0), [], 'younger than the flush period: kept');
    h.tracker.tick(T0 + period + 200_000); // no sweep yet (0.15 s since the last)
    assert.deepEqual(consumer.gaps(0), []);
    h.tracker.tick(T0 + 2 * period + 60_000); // sweeps; the hole is 1.96 s old
    assert.deepEqual(consumer.gaps(0), [3]);
    assert.equal(consumer.bytes(0).toString(), 'def');
    assert.equal(h.tracker.budget.buffered, 0);
    assert.equal(h.reported.length, 0, 'the connection itself stays');
    // Bytes of the hole that turn up now are late: counted, not delivered.
    feed(h.tracker, client({ flags: 'PA', seq: 101, ack: 8, payload: 'abc', ts: T0 + 2 * period + 70_000 }));
    assert.equal(consumer.bytes(0).toString(), 'def');
    h.tracker.finish();
    assert.equal(h.reported[0]!.fwd.retransmissions, 1);
  });

  test('onEnd comes once per direction, after the data, and onClose once, last', () => {
    const h = harness<RecordingConsumer>();
    open(h, 100, T0);
    feed(h.tracker, client({ flags: 'PA', seq: 101, ack: 8, payload: 'ping', ts: T0 + 10 }));
    feed(h.tracker, server({ flags: 'PA', seq: 8, ack: 105, payload: 'pong', ts: T0 + 11 }));
    feed(h.tracker, client({ flags: 'FA', seq: 105, ack: 12, ts: T0 + 12 }));
    feed(h.tracker, client({ flags: 'FA', seq: 105, ack: 12, ts: T0 + 13 })); // retransmitted FIN
    feed(h.tracker, server({ flags: 'FA', seq: 12, ack: 106, ts: T0 + 14 }));
    feed(h.tracker, client({ flags: 'A', seq: 106, ack: 13, ts: T0 + 15 }));
    h.tracker.finish();
    const kinds = h.consumers[0]!.events.map((e) => (e.kind === 'close' ? 'close' : `${e.kind}${e.dir}`));
    assert.deepEqual(kinds, ['data0', 'data1', 'end0', 'end1', 'close']);
    assert.equal(h.reported[0]!.fwd.retransmissions, 1, 'the repeated FIN');
  });

  test('CollectingConsumer collects bytes and gaps per direction', () => {
    const collecting: CollectingConsumer[] = [];
    const h = harness<CollectingConsumer>({}, () => {
      const c = new CollectingConsumer();
      collecting.push(c);
      return c;
    });
    open(h, 100, T0);
    feed(h.tracker, client({ flags: 'PA', seq: 101, ack: 8, payload: 'ab', ts: T0 + 10 }));
    feed(h.tracker, client({ flags: 'PA', seq: 105, ack: 8, payload: 'ef', ts: T0 + 11 }));
    feed(h.tracker, server({ flags: 'FA', seq: 8, ack: 107, payload: 'ok', ts: T0 + 12 }));
    h.tracker.finish();
    const c = collecting[0]!;
    assert.equal(c.bytes(0).toString(), 'abef');
    assert.equal(c.bytes(1).toString(), 'ok');
    assert.deepEqual(c.gaps, [2, 0]);
    assert.deepEqual(c.ended, [false, true]);
    assert.equal(c.closed, true);
  });
});
