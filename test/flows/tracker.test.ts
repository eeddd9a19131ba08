/**
 * The TCP connection tracker: who opened each connection, the handshake, counters each way, how it
 * closed, when it is reported, and that every connection is reported exactly once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { between, feed, harness, type RecordingConsumer, segment } from '../support/segments.js';

const CLIENT = { ip: '10.1.0.5', port: 51000 };
const SERVER = { ip: '10.2.0.9', port: 443 };
const T0 = 1_700_000_000_000_000;
const S = 1_000_000; // one second in microseconds

const { a: client, b: server } = between(CLIENT, SERVER);

function records(h: { reported: { toRecord(): ConnectionRecord }[] }): ConnectionRecord[] {
  return h.reported.map((c) => c.toRecord());
}

/** SYN, SYN-ACK, ACK at T0, T0 + 300 us, T0 + 500 us; client ISN 1000, server ISN 5000. */
function handshake(h: ReturnType<typeof harness>, t = T0, isn = 1000): void {
  feed(h.tracker, client({ flags: 'S', seq: isn, ts: t }));
  feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: isn + 1, ts: t + 300 }));
  feed(h.tracker, client({ flags: 'A', seq: isn + 1, ack: 5001, ts: t + 500 }));
}

describe('who opened the connection', () => {
  test('the SYN sender is src, and the connection is not midstream', () => {
    const h = harness();
    handshake(h);
    h.tracker.finish();
    const [r] = records(h);
    assert.deepEqual(r!.src, { ip: '10.1.0.5', port: 51000 });
    assert.deepEqual(r!.dst, { ip: '10.2.0.9', port: 443 });
    assert.equal(r!.midstream, false);
    assert.equal(r!.ipVersion, 4);
  });

  test('when the SYN was missed, the SYN-ACK receiver is src (not midstream)', () => {
    const h = harness();
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 }));
    feed(h.tracker, client({ flags: 'A', seq: 1001, ack: 5001, ts: T0 + 10 }));
    feed(h.tracker, client({ flags: 'PA', seq: 1001, ack: 5001, payload: 'hi', ts: T0 + 20 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.equal(h.reported.length, 1);
    assert.deepEqual(r!.src, CLIENT);
    assert.deepEqual(r!.dst, SERVER);
    assert.equal(r!.midstream, false);
    assert.equal(r!.handshake, null, 'no SYN, no handshake RTT');
    assert.equal(r!.sent.packets, 2);
    assert.equal(r!.received.packets, 1);
    assert.equal(h.consumers[0]!.bytes(0).toString(), 'hi');
  });

  test('picked up mid-stream from the low port: the higher port is the client, midstream: true', () => {
    const h = harness();
    feed(h.tracker, server({ flags: 'PA', seq: 77_000, ack: 3000, payload: 'response', ts: T0 }));
    feed(h.tracker, client({ flags: 'A', seq: 3000, ack: 77_008, ts: T0 + 5 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.deepEqual(r!.src, CLIENT);
    assert.deepEqual(r!.dst, SERVER);
    assert.equal(r!.midstream, true);
    assert.equal(r!.received.bytes, 8);
    assert.equal(h.consumers[0]!.bytes(1).toString(), 'response', 'the stream starts at the first segment');
  });

  test('picked up mid-stream from the high port: its sender is the client', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'PA', seq: 3000, ack: 77_000, payload: 'request', ts: T0 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.deepEqual(r!.src, CLIENT);
    assert.equal(r!.midstream, true);
    assert.equal(r!.sent.bytes, 7);
  });

  test('IPv6 endpoints are reported in RFC 5952 form', () => {
    const h = harness();
    const v6 = between({ ip: '2001:db8:0:0:0:0:0:1', port: 40000 }, { ip: 'fd00:0:0:0:0:0:0:a', port: 80 });
    feed(h.tracker, v6.a({ flags: 'S', seq: 1, ts: T0 }));
    feed(h.tracker, v6.b({ flags: 'SA', seq: 9, ack: 2, ts: T0 + 1 }));
    feed(h.tracker, v6.a({ flags: 'PA', seq: 2, ack: 10, payload: 'GET /', ts: T0 + 2 }));
    // An IPv4 connection with the same ports is another connection.
    const v4 = between({ ip: '0.0.0.1', port: 40000 }, { ip: '0.0.0.10', port: 80 });
    feed(h.tracker, v4.a({ flags: 'S', seq: 1, ts: T0 + 3 }));
    h.tracker.finish();
    const [r, r4] = records(h);
    assert.equal(h.reported.length, 2);
    assert.equal(r!.ipVersion, 6);
    assert.deepEqual(r!.src, { ip: '2001:db8::1', port: 40000 });
    assert.deepEqual(r!.dst, { ip: 'fd00::a', port: 80 });
    assert.equal(r!.sent.packets, 2);
    assert.equal(r!.received.packets, 1);
    assert.equal(r4!.ipVersion, 4);
    assert.deepEqual(r4!.src, { ip: '0.0.0.1', port: 40000 });
    assert.equal(r4!.sent.packets, 1);
  });
});

describe('handshake and counters', () => {
  test('handshake RTT: SYN to SYN-ACK, SYN-ACK to ACK, and their sum', () => {
    const h = harness();
    handshake(h);
    h.tracker.finish();
    const [r] = records(h);
    assert.deepEqual(r!.handshake, { rttMs: 0.5, synToSynAckMs: 0.3, synAckToAckMs: 0.2 });
  });

  test('retransmitted SYN and SYN-ACK: the RTT runs from the first of each', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'S', seq: 1000, ts: T0 }));
    feed(h.tracker, client({ flags: 'S', seq: 1000, ts: T0 + 1 * S }));
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 + S + 200 }));
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 + S + 300 }));
    feed(h.tracker, client({ flags: 'A', seq: 1001, ack: 5001, ts: T0 + S + 400 }));
    feed(h.tracker, client({ flags: 'A', seq: 1001, ack: 5001, ts: T0 + S + 900 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.equal(h.reported.length, 1, 'a retransmitted SYN is the same connection');
    assert.deepEqual(r!.handshake, { rttMs: 1000.4, synToSynAckMs: 1000.2, synAckToAckMs: 0.2 });
    assert.equal(r!.sent.retransmissions, 1);
    assert.equal(r!.received.retransmissions, 1);
  });

  test('a retransmitted SYN carrying data (TCP Fast Open) is one retransmission, its data delivered once', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'S', seq: 1000, payload: 'hello', ts: T0 }));
    feed(h.tracker, client({ flags: 'S', seq: 1000, payload: 'hello', ts: T0 + S }));
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1006, ts: T0 + S + 100 }));
    feed(h.tracker, client({ flags: 'A', seq: 1006, ack: 5001, ts: T0 + S + 200 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.equal(h.reported.length, 1);
    assert.equal(r!.sent.retransmissions, 1);
    assert.equal(r!.sent.bytes, 10, 'payload on the wire, retransmission included');
    assert.equal(h.consumers[0]!.bytes(0).toString(), 'hello');
  });

  test('no handshake RTT without the final ACK', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'S', seq: 1000, ts: T0 }));
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 + 300 }));
    h.tracker.finish();
    assert.equal(records(h)[0]!.handshake, null);
  });

  test('packets, payload bytes and frame bytes are counted each way; start, end and duration', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'S', seq: 1000, ts: T0, wirelen: 74 }));
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 + 300, wirelen: 74 }));
    feed(h.tracker, client({ flags: 'A', seq: 1001, ack: 5001, ts: T0 + 500, wirelen: 66 }));
    feed(h.tracker, client({ flags: 'PA', seq: 1001, ack: 5001, payload: 'x'.repeat(100), ts: T0 + 600 }));
    feed(h.tracker, client({ flags: 'PA', seq: 1001, ack: 5001, payload: 'x'.repeat(100), ts: T0 + 700 }));
    // A snap-length-cut segment counts its length on the wire.
    const cut = server({ flags: 'PA', seq: 5001, ack: 1101, payload: 'y'.repeat(40), ts: T0 + 900 });
    cut.payloadWireLength = 1400;
    cut.wirelen = 1454;
    feed(h.tracker, cut);
    feed(h.tracker, client({ flags: 'A', seq: 1101, ack: 6401, ts: T0 + 2500, wirelen: 66 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.deepEqual(r!.sent, {
      packets: 5,
      bytes: 200,
      wireBytes: 74 + 66 + 154 + 154 + 66,
      retransmissions: 1,
      outOfOrder: 0,
      gaps: 0,
      gapBytes: 0,
    });
    assert.deepEqual(r!.received, {
      packets: 2,
      bytes: 1400,
      wireBytes: 74 + 1454,
      retransmissions: 0,
      outOfOrder: 0,
      gaps: 1,
      gapBytes: 1360,
    });
    assert.equal(r!.start, T0);
    assert.equal(r!.end, T0 + 2500);
    assert.equal(r!.durationMs, 2.5);
  });
});

describe('how connections close', () => {
  test('both FINs: fin, closed by the first FIN sender', () => {
    for (const [first, second, by] of [
      [client, server, 'src'],
      [server, client, 'dst'],
    ] as const) {
      const h = harness();
      handshake(h);
      feed(h.tracker, first({ flags: 'FA', seq: first === client ? 1001 : 5001, ts: T0 + S }));
      feed(h.tracker, second({ flags: 'FA', seq: second === client ? 1001 : 5001, ts: T0 + 2 * S }));
      feed(h.tracker, first({ flags: 'A', seq: first === client ? 1002 : 5002, ts: T0 + 3 * S }));
      h.tracker.finish();
      const [r] = records(h);
      assert.equal(r!.closeReason, 'fin');
      assert.equal(r!.closedBy, by);
      assert.equal(h.reported[0]!.closedTs, T0 + 2 * S, 'closed at the second FIN');
      assert.equal(r!.end, T0 + 3 * S, 'the last ACK still counts');
      assert.deepEqual(
        h.consumers[0]!.events.filter((e) => e.kind === 'end').map((e) => e.kind === 'end' && e.dir),
        first === client ? [0, 1] : [1, 0],
      );
    }
  });

  test('only one FIN: still open, closedBy names who half-closed', () => {
    const h = harness();
    handshake(h);
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + S }));
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + 2 * S }));
    feed(h.tracker, server({ flags: 'PA', seq: 5001, ack: 1002, payload: 'late data', ts: T0 + 3 * S }));
    h.tracker.finish();
    const [r] = records(h);
    assert.equal(r!.closeReason, 'open');
    assert.equal(r!.closedBy, 'src');
    assert.equal(r!.sent.retransmissions, 1, 'the repeated FIN');
    assert.equal(
      h.consumers[0]!.bytes(1).toString(),
      'late data',
      'a half-closed connection still carries data',
    );
  });

  test('RST: rst, closed by its sender; a later FIN does not change it', () => {
    const h = harness();
    handshake(h);
    feed(h.tracker, server({ flags: 'RA', seq: 5001, ack: 1001, ts: T0 + S }));
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + S + 10 }));
    feed(h.tracker, server({ flags: 'R', seq: 5001, ts: T0 + S + 20 }));
    h.tracker.finish();
    const [r] = records(h);
    assert.equal(r!.closeReason, 'rst');
    assert.equal(r!.closedBy, 'dst');
    assert.equal(h.reported[0]!.closedTs, T0 + S);
    assert.equal(r!.received.packets, 3);
  });

  test('a RST after both FINs leaves the close reason fin', () => {
    const h = harness();
    handshake(h);
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + S }));
    feed(h.tracker, server({ flags: 'FA', seq: 5001, ack: 1002, ts: T0 + S + 1 }));
    feed(h.tracker, client({ flags: 'R', seq: 1002, ts: T0 + S + 2 }));
    h.tracker.finish();
    assert.equal(records(h)[0]!.closeReason, 'fin');
  });

  test('idle longer than closeOlderThan (capture time): timeout, reported at the next sweep, not before', () => {
    const h = harness({ closeOlderThanMicros: 30 * S, flushPeriodMicros: S });
    handshake(h);
    feed(h.tracker, client({ flags: 'PA', seq: 1001, ack: 5001, payload: 'a', ts: T0 + S }));
    // Time moves on through another connection's packets.
    const other = between({ ip: '10.1.0.6', port: 52000 }, SERVER);
    feed(h.tracker, other.a({ flags: 'S', seq: 1, ts: T0 + 2 * S }));
    feed(h.tracker, other.a({ flags: 'S', seq: 1, ts: T0 + 30 * S }));
    assert.equal(h.reported.length, 0, '29 s idle: still open');
    feed(h.tracker, other.a({ flags: 'S', seq: 1, ts: T0 + 31 * S }));
    assert.equal(h.reported.length, 1);
    const r = h.reported[0]!.toRecord();
    assert.equal(r.closeReason, 'timeout');
    assert.equal(r.closedBy, null);
    assert.equal(r.end, T0 + S, 'end is the last packet, not the time it timed out');
    assert.equal(h.reported[0]!.closedTs, T0 + 31 * S);
    assert.equal(h.consumers[0]!.count('close'), 1);
    // A late packet of the timed-out connection starts a new one, picked up mid-stream.
    feed(h.tracker, client({ flags: 'PA', seq: 1002, ack: 5001, payload: 'b', ts: T0 + 32 * S }));
    h.tracker.finish();
    const later = records(h).find((c) => c.id !== r.id && c.src.port === CLIENT.port);
    assert.equal(later?.midstream, true);
    assert.equal(later?.closeReason, 'open');
  });

  test('open when the capture ends: finish() reports it as open', () => {
    const h = harness();
    handshake(h);
    feed(h.tracker, client({ flags: 'PA', seq: 1001, ack: 5001, payload: 'abc', ts: T0 + S }));
    assert.equal(h.reported.length, 0);
    h.tracker.finish();
    const [r] = records(h);
    assert.equal(r!.closeReason, 'open');
    assert.equal(r!.closedBy, null);
    assert.equal(h.tracker.table.size, 0);
  });

  test('a closed connection absorbs late ACKs within closeLinger, then is reported', () => {
    const h = harness({ closeLingerMicros: 5 * S, flushPeriodMicros: S });
    handshake(h);
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + S }));
    feed(h.tracker, server({ flags: 'FA', seq: 5001, ack: 1002, ts: T0 + S + 100 }));
    h.tracker.tick(T0 + 4 * S);
    assert.equal(h.reported.length, 0);
    feed(h.tracker, client({ flags: 'A', seq: 1002, ack: 5002, ts: T0 + 5 * S })); // late ACK, same connection
    h.tracker.tick(T0 + 9 * S);
    assert.equal(h.reported.length, 0, 'the linger restarts at the last packet');
    h.tracker.tick(T0 + 10 * S);
    assert.equal(h.reported.length, 1);
    const r = h.reported[0]!.toRecord();
    assert.equal(r.closeReason, 'fin');
    assert.equal(r.sent.packets, 4);
    assert.equal(r.end, T0 + 5 * S);
    // After it has been reported, a stray packet of the tuple is a new (mid-stream) connection.
    feed(h.tracker, client({ flags: 'A', seq: 1002, ack: 5002, ts: T0 + 11 * S }));
    h.tracker.finish();
    assert.equal(h.reported.length, 2);
    assert.equal(h.reported[1]!.midstream, true);
  });

  test('tick() with wall-clock time evicts idle connections when no packets come', () => {
    const now = Date.now() * 1000;
    const h = harness({ closeOlderThanMicros: 60 * S, flushPeriodMicros: 10 * S });
    handshake(h, now);
    h.tracker.tick(now + 30 * S);
    assert.equal(h.reported.length, 0);
    h.tracker.tick(now + 61 * S);
    assert.equal(h.reported.length, 1);
    assert.equal(h.reported[0]!.closeReason, 'timeout');
    assert.equal(h.tracker.table.size, 0);
    h.tracker.tick(now + 1000 * S);
    h.tracker.finish();
    assert.equal(h.reported.length, 1, 'reported once');
  });
});

describe('new connections on a known 4-tuple', () => {
  test('port reuse: a SYN with another ISN after the close starts a new connection with a new id', () => {
    const h = harness();
    handshake(h);
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + S }));
    feed(h.tracker, server({ flags: 'FA', seq: 5001, ack: 1002, ts: T0 + S + 10 }));
    feed(h.tracker, client({ flags: 'A', seq: 1002, ack: 5002, ts: T0 + S + 20 }));
    // Within closeLinger: the old connection is still in the table.
    handshake(h, T0 + 2 * S, 90_000);
    assert.equal(h.reported.length, 1, 'the old connection is reported when the new one starts');
    h.tracker.finish();
    const [old, fresh] = records(h);
    assert.equal(old!.closeReason, 'fin');
    assert.equal(old!.sent.packets, 4);
    assert.notEqual(fresh!.id, old!.id);
    assert.equal(fresh!.start, T0 + 2 * S);
    assert.equal(fresh!.sent.packets, 2);
    assert.equal(fresh!.received.packets, 1);
    assert.equal(fresh!.midstream, false);
    assert.deepEqual(fresh!.handshake, { rttMs: 0.5, synToSynAckMs: 0.3, synAckToAckMs: 0.2 });
    assert.equal(h.consumers.length, 2);
    assert.equal(h.consumers[0]!.count('close'), 1);
  });

  test('a SYN with a new ISN on a connection never seen closing replaces it (the old one reported open)', () => {
    const h = harness();
    handshake(h);
    handshake(h, T0 + 10 * S, 777_777);
    h.tracker.finish();
    const [old, fresh] = records(h);
    assert.equal(h.reported.length, 2);
    assert.equal(old!.closeReason, 'open');
    assert.equal(fresh!.start, T0 + 10 * S);
  });

  test('a SYN after the close of a connection whose SYN was missed starts a new connection', () => {
    const h = harness();
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 }));
    feed(h.tracker, client({ flags: 'FA', seq: 1001, ack: 5001, ts: T0 + 10 }));
    feed(h.tracker, server({ flags: 'FA', seq: 5001, ack: 1002, ts: T0 + 20 }));
    handshake(h, T0 + S, 1000); // even with the ISN the first connection would have had
    h.tracker.finish();
    const [old, fresh] = records(h);
    assert.equal(h.reported.length, 2);
    assert.equal(old!.closeReason, 'fin');
    assert.equal(old!.sent.packets, 1);
    assert.equal(fresh!.sent.packets, 2);
    assert.notEqual(fresh!.handshake, null);
  });

  test('a SYN on a tuple picked up mid-stream starts a new connection', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'PA', seq: 3000, ack: 77_000, payload: 'old', ts: T0 }));
    handshake(h, T0 + S);
    h.tracker.finish();
    const [old, fresh] = records(h);
    assert.equal(old!.midstream, true);
    assert.equal(fresh!.midstream, false);
    assert.equal(fresh!.sent.packets, 2);
  });

  test('a retransmitted SYN (same ISN) after the close does not start a new connection', () => {
    const h = harness();
    handshake(h);
    feed(h.tracker, client({ flags: 'R', seq: 1001, ts: T0 + S }));
    feed(h.tracker, client({ flags: 'S', seq: 1000, ts: T0 + S + 10 }));
    h.tracker.finish();
    assert.equal(h.reported.length, 1);
    assert.equal(h.reported[0]!.fwd.retransmissions, 1);
  });

  test('simultaneous open: SYNs from both sides make one connection, opened by the first SYN', () => {
    const h = harness();
    feed(h.tracker, client({ flags: 'S', seq: 1000, ts: T0 }));
    feed(h.tracker, server({ flags: 'S', seq: 5000, ts: T0 + 10 }));
    feed(h.tracker, client({ flags: 'SA', seq: 1000, ack: 5001, ts: T0 + 20 }));
    feed(h.tracker, server({ flags: 'SA', seq: 5000, ack: 1001, ts: T0 + 30 }));
    feed(h.tracker, client({ flags: 'PA', seq: 1001, ack: 5001, payload: 'hello', ts: T0 + 40 }));
    feed(h.tracker, server({ flags: 'PA', seq: 5001, ack: 1006, payload: 'there', ts: T0 + 50 }));
    h.tracker.finish();
    assert.equal(h.reported.length, 1);
    const [r] = records(h);
    assert.deepEqual(r!.src, CLIENT);
    assert.equal(r!.midstream, false);
    assert.equal(r!.sent.packets, 3);
    assert.equal(r!.received.packets, 3);
    assert.equal(h.consumers[0]!.bytes(0).toString(), 'hello');
    assert.equal(h.consumers[0]!.bytes(1).toString(), 'there');
  });
});

describe('the connection table cap', () => {
  test('past maxConnections new connections are counted as flows.table_full, nothing is thrown', () => {
    const h = harness({ maxConnections: 2, closeLingerMicros: S, flushPeriodMicros: S });
    const peers = [0, 1, 2].map((i) => between({ ip: `10.1.0.${i + 1}`, port: 50000 + i }, SERVER));
    feed(h.tracker, peers[0]!.a({ flags: 'S', seq: 1, ts: T0 }));
    feed(h.tracker, peers[1]!.a({ flags: 'S', seq: 1, ts: T0 + 1 }));
    feed(h.tracker, peers[2]!.a({ flags: 'S', seq: 1, ts: T0 + 2 }));
    feed(h.tracker, peers[2]!.b({ flags: 'SA', seq: 1, ack: 2, ts: T0 + 3 }));
    assert.equal(h.errors.get('flows.table_full'), 2);
    assert.equal(h.tracker.table.size, 2);
    // Known connections still work.
    feed(h.tracker, peers[0]!.b({ flags: 'SA', seq: 1, ack: 2, ts: T0 + 4 }));
    assert.equal(h.errors.get('flows.table_full'), 2);
    // Once one leaves, there is room again.
    feed(h.tracker, peers[0]!.a({ flags: 'R', seq: 2, ts: T0 + 5 }));
    feed(h.tracker, peers[2]!.a({ flags: 'S', seq: 1, ts: T0 + 2 * S }));
    assert.equal(h.reported.length, 1);
    assert.equal(h.tracker.table.size, 2);
    h.tracker.finish();
    assert.equal(h.reported.length, 3);
    assert.equal(h.errors.get('flows.table_full'), 2);
    assert.deepEqual(
      h.reported.map((c) => c.srcPort),
      [50000, 50001, 50002],
    );
  });
});

describe('every connection is reported exactly once', () => {
  const FLAGS = ['S', 'S', 'SA', 'A', 'PA', 'PA', 'FA', 'R', 'RA'] as const;
  const eventArb = fc.record({
    tuple: fc.nat(3),
    dir: fc.boolean(),
    flags: fc.constantFrom(...FLAGS),
    isn: fc.constantFrom(100, 200, 0xffffffff),
    off: fc.nat(40),
    len: fc.nat(12),
    advance: fc.oneof(fc.nat(2000), fc.integer({ min: 0, max: 40 * S })),
  });

  test('random traffic over a few 4-tuples: each connection reported once, every packet counted once', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        (events, maxConnections, withConsumers) => {
          const h = harness<RecordingConsumer>(
            {
              maxConnections,
              closeLingerMicros: 5 * S,
              closeOlderThanMicros: 30 * S,
              flushPeriodMicros: 2 * S,
              maxBufferedPerConnection: 30,
              maxPendingSegments: 4,
            },
            withConsumers ? undefined : null,
          );
          const tuples = [0, 1, 2, 3].map((i) =>
            between(
              { ip: i === 3 ? '2001:db8::1' : `10.1.0.${i}`, port: 50000 + i },
              {
                ip: i === 3 ? '2001:db8::2' : '10.2.0.1',
                port: 80,
              },
            ),
          );
          let ts = T0;
          for (const e of events) {
            ts += e.advance;
            const t = tuples[e.tuple]!;
            const payload = e.flags === 'PA' ? 'z'.repeat(e.len) : '';
            feed(
              h.tracker,
              (e.dir ? t.a : t.b)({ flags: e.flags, seq: e.isn + e.off, ack: e.isn + e.off, payload, ts }),
            );
            assert.ok(h.tracker.table.size <= maxConnections);
          }
          h.tracker.finish();
          assert.equal(h.tracker.table.size, 0);
          const ids = h.reported.map((c) => c.id);
          assert.equal(new Set(ids).size, ids.length, 'no connection reported twice');
          assert.equal(ids.length, h.tracker.created, 'every connection reported');
          assert.deepEqual(
            [...ids].sort((a, b) => a - b),
            Array.from({ length: ids.length }, (_, i) => i + 1),
          );
          const packets = h.reported.reduce((n, c) => n + c.fwd.packets + c.rev.packets, 0);
          assert.equal(
            packets + h.errors.get('flows.table_full'),
            events.length,
            'every packet counted once',
          );
          assert.equal(h.tracker.budget.buffered, 0);
          for (const c of h.consumers) {
            assert.equal(c.count('close'), 1);
            assert.equal(c.events.at(-1)?.kind, 'close');
          }
          for (const c of h.reported) {
            assert.equal(c.fwd.pending, null);
            assert.equal(c.rev.pending, null);
            assert.equal(c.consumer, null);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

test('segment() fills the decoder struct as the decoder would', () => {
  const d = segment({
    src: '192.168.1.2',
    dst: '192.168.1.3',
    sport: 1234,
    dport: 80,
    flags: 'SA',
    seq: 2 ** 32 + 5,
    payload: 'abc',
    payloadWireLength: 10,
    ts: 42,
  });
  assert.equal(d.ipVersion, 4);
  assert.deepEqual([d.src0, d.src1, d.src2, d.src3], [0, 0, 0xffff, 0xc0a80102]);
  assert.equal(d.seq, 5, 'sequence numbers are taken mod 2^32');
  assert.equal(d.tcpFlags, 0x12);
  assert.equal(
    Buffer.from(d.data.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength)).toString(),
    'abc',
  );
  assert.equal(d.payloadWireLength, 10);
  assert.equal(d.wirelen, 14 + 20 + 20 + 10);
  const v6 = segment({ src: '2001:db8::1', dst: '::1', sport: 1, dport: 2 });
  assert.equal(v6.ipVersion, 6);
  assert.deepEqual([v6.src0, v6.src1, v6.src2, v6.src3], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([v6.dst0, v6.dst1, v6.dst2, v6.dst3], [0, 0, 0, 1]);
  assert.equal(v6.wirelen, 14 + 40 + 20);
});
