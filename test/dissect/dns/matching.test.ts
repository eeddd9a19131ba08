/**
 * Query/response pairing over UDP and TCP: by ID and endpoints, retransmissions, timeouts, the
 * pending-table cap, responses whose query was not seen, and mDNS's unpaired multicast traffic.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PendingTable } from '../../../src/dissect/dns/matcher.js';
import { DnsTcpSession } from '../../../src/dissect/dns/tcp.js';
import { DnsUdpHandler } from '../../../src/dissect/dns/udp.js';
import type { EntryEndpoint } from '../../../src/dissect/entry.js';
import { a, message, query, response, tcpFrame } from './build.js';
import { CLIENT, SERVER, tcpContext, udpContext } from './support.js';

const S = 1_000_000;
const ep = (ip: string, port: number): EntryEndpoint => ({ ip, port });

describe('DNS over UDP', () => {
  test('pairs by ID and both endpoints; elapsedMs from query to response', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    const other = ep('198.18.14.11', 40000);
    h.onDatagram(CLIENT, SERVER, query(7, 'a.example'), 1000);
    h.onDatagram(other, SERVER, query(7, 'b.example'), 2000);
    h.onDatagram(SERVER, other, response(7, 'b.example', ['192.0.2.2']), 3500);
    h.onDatagram(SERVER, CLIENT, response(7, 'a.example', ['192.0.2.1']), 5250);
    h.close(10_000);
    assert.deepEqual(
      ctx.entries.map((e) => [e.src.ip, e.path, e.method, e.status, e.elapsedMs, e.error]),
      [
        ['198.18.14.11', 'b.example', 'A', 'NOERROR', 1.5, null],
        ['198.18.14.10', 'a.example', 'A', 'NOERROR', 4.25, null],
      ],
    );
    const answers = ctx.entries[1]!.response!.answers as { data: string }[];
    assert.deepEqual(
      answers.map((r) => r.data),
      ['192.0.2.1'],
    );
    assert.equal(ctx.entries[1]!.requestSize, query(7, 'a.example').length);
    assert.deepEqual(ctx.errors, []);
  });

  test('NXDOMAIN and SERVFAIL become the status', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    h.onDatagram(CLIENT, SERVER, query(1, 'nope.example'), 0);
    h.onDatagram(SERVER, CLIENT, response(1, 'nope.example', [], 3), 10);
    h.onDatagram(CLIENT, SERVER, query(2, 'broken.example'), 20);
    h.onDatagram(SERVER, CLIENT, response(2, 'broken.example', [], 2), 30);
    assert.deepEqual(
      ctx.entries.map((e) => e.status),
      ['NXDOMAIN', 'SERVFAIL'],
    );
  });

  test('a query never answered is an entry with error "no response" after 10 s of capture time', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    h.onDatagram(CLIENT, SERVER, query(1, 'slow.example'), 0);
    h.tick(9 * S);
    assert.equal(ctx.entries.length, 0);
    h.tick(10 * S);
    assert.equal(ctx.entries.length, 1);
    assert.equal(ctx.entries[0]!.error, 'no response');
    assert.equal(ctx.entries[0]!.response, null);
    assert.equal(ctx.entries[0]!.status, null);
  });

  test('a retransmitted query: the first is reported unanswered, the second is paired', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    h.onDatagram(CLIENT, SERVER, query(5, 'again.example'), 0);
    h.onDatagram(CLIENT, SERVER, query(5, 'again.example'), 5 * S);
    h.onDatagram(SERVER, CLIENT, response(5, 'again.example', ['192.0.2.9']), 5 * S + 300);
    assert.deepEqual(
      ctx.entries.map((e) => [e.error, e.elapsedMs]),
      [
        ['no response (query sent again)', null],
        [null, 0.3],
      ],
    );
  });

  test('the pending table is capped: the oldest query leaves as an entry', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx, { pendingCap: 2 });
    for (let id = 1; id <= 3; id++) h.onDatagram(CLIENT, SERVER, query(id, `q${id}.example`), id);
    assert.deepEqual(
      ctx.entries.map((e) => [e.path, e.error]),
      [['q1.example', 'no response (too many queries pending)']],
    );
    h.close(10);
    assert.equal(ctx.entries.length, 3);
  });

  test('a response without its query is an entry, written client -> server', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    h.onDatagram(SERVER, CLIENT, response(9, 'late.example', ['192.0.2.3']), 100);
    const e = ctx.entries[0]!;
    assert.deepEqual(
      [e.src, e.dst, e.error, e.status, e.timestamp],
      [CLIENT, SERVER, 'no query seen', 'NOERROR', 100],
    );
    assert.deepEqual(e.request, {});
  });

  test('a response to a different question is not paired with the query (RFC 5452 §9.1)', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    h.onDatagram(CLIENT, SERVER, query(4, 'asked.example'), 0);
    h.onDatagram(SERVER, CLIENT, response(4, 'spoofed.example', ['6.6.6.6']), 10);
    h.close(20);
    assert.deepEqual(
      ctx.entries.map((e) => [e.path, e.error]),
      [
        ['spoofed.example', 'no query seen'],
        ['asked.example', 'no response'],
      ],
    );
  });

  test('mDNS: multicast queries and announcements are entries of their own (RFC 6762 §6)', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    const host = ep('10.0.2.7', 5353);
    const group = ep('224.0.0.251', 5353);
    h.onDatagram(host, group, message({ id: 0, questions: [{ name: '_ipp._tcp.local', type: 12 }] }), 0);
    const announce = message({
      id: 0,
      flags: { qr: true, aa: true },
      answers: [{ name: 'printer.local', type: 1, class: 0x8001, ttl: 120, rdata: a('10.0.2.9') }],
    });
    h.onDatagram(ep('10.0.2.9', 5353), group, announce, 50);
    assert.deepEqual(
      ctx.entries.map((e) => [e.method, e.path, e.status, e.error, e.dst.ip]),
      [
        ['PTR', '_ipp._tcp.local', null, null, '224.0.0.251'],
        ['A', 'printer.local', 'NOERROR', null, '224.0.0.251'],
      ],
    );
    const rec = (ctx.entries[1]!.response!.answers as { cacheFlush: boolean }[])[0]!;
    assert.equal(rec.cacheFlush, true);
  });

  test('mDNS one-shot query from an ephemeral port is paired with the unicast answer (RFC 6762 §6.7)', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    const asker = ep('10.0.2.7', 45000);
    h.onDatagram(asker, ep('224.0.0.251', 5353), query(77, 'printer.local'), 0);
    h.onDatagram(ep('10.0.2.9', 5353), asker, response(77, 'printer.local', ['10.0.2.9']), 2000);
    assert.deepEqual(
      ctx.entries.map((e) => [e.dst.ip, e.elapsedMs, e.error]),
      [['10.0.2.9', 2, null]],
    );
  });

  test('a malformed datagram counts a parse error and still reports what it could read', () => {
    const ctx = udpContext();
    const h = new DnsUdpHandler(ctx);
    const r = response(3, 'cut.example', ['192.0.2.1']);
    h.onDatagram(SERVER, CLIENT, r.subarray(0, r.length - 1), 0);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.entries[0]!.error ?? '', /malformed response/);
    h.onDatagram(SERVER, CLIENT, new Uint8Array(5), 0);
    assert.equal(ctx.errors.length, 2);
    assert.equal(ctx.entries.length, 1);
  });
});

describe('the pending table', () => {
  test('is bounded by count, by bytes and by time; what leaves is returned, oldest first', () => {
    const t = new PendingTable<number, string>(3, 10, 100);
    assert.deepEqual(t.add(1, 'a', 0, 40), { replaced: null, evicted: [] });
    assert.deepEqual(t.add(2, 'b', 1, 40), { replaced: null, evicted: [] });
    assert.deepEqual(t.add(3, 'c', 2, 40), { replaced: null, evicted: ['a'] });
    assert.deepEqual(t.add(3, 'c2', 3, 10), { replaced: 'c', evicted: [] });
    assert.deepEqual(t.add(4, 'd', 4, 10), { replaced: null, evicted: [] });
    assert.deepEqual(t.add(5, 'e', 5, 10), { replaced: null, evicted: ['b'] });
    assert.equal(t.take(4), 'd');
    assert.deepEqual(t.expire(13), ['c2']);
    assert.deepEqual(t.drain(), ['e']);
    assert.equal(t.size, 0);
  });
});

describe('DNS over TCP', () => {
  test('pipelined queries answered out of order are paired by ID (RFC 7766 §6.2.1.1)', () => {
    const ctx = tcpContext();
    const s = new DnsTcpSession(ctx);
    const q = [...tcpFrame(query(1, 'one.example')), ...tcpFrame(query(2, 'two.example', 28))];
    s.onData(0, Uint8Array.from(q), 0);
    s.onData(1, tcpFrame(response(2, 'two.example', [], 0, 28)), 100);
    s.onData(1, tcpFrame(response(1, 'one.example', ['192.0.2.1'])), 200);
    s.onClose(300);
    assert.deepEqual(
      ctx.entries.map((e) => [e.method, e.path, e.elapsedMs, e.responseSize > 0]),
      [
        ['AAAA', 'two.example', 0.1, true],
        ['A', 'one.example', 0.2, true],
      ],
    );
    assert.equal(ctx.entries[1]!.requestSize, query(1, 'one.example').length + 2);
  });

  test('a gap drops the cut message; the stream resynchronises at the next message start', () => {
    const ctx = tcpContext();
    const s = new DnsTcpSession(ctx);
    const f = tcpFrame(query(1, 'one.example'));
    s.onData(0, f.subarray(0, 10), 0);
    s.onGap(0, 20, 1);
    s.onData(0, Uint8Array.from([1, 2, 3]), 2); // the rest of something: not a message start
    s.onData(0, tcpFrame(query(2, 'two.example')), 3);
    s.onData(1, tcpFrame(response(2, 'two.example', ['192.0.2.2'])), 4);
    s.onClose(5);
    assert.deepEqual(ctx.errors, ['dns: message cut by a gap in the stream']);
    assert.deepEqual(
      ctx.entries.map((e) => [e.path, e.error]),
      [['two.example', null]],
    );
  });

  test('unanswered queries are flushed on close; a stream ending mid-message counts an error', () => {
    const ctx = tcpContext();
    const s = new DnsTcpSession(ctx);
    s.onData(0, tcpFrame(query(1, 'one.example')), 0);
    s.onData(1, tcpFrame(response(1, 'one.example', ['192.0.2.1'])).subarray(0, 9), 1);
    s.onClose(2);
    assert.deepEqual(
      ctx.entries.map((e) => e.error),
      ['no response'],
    );
    assert.deepEqual(ctx.errors, ['dns: stream ended inside a message']);
  });
});
