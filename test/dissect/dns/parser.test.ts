/**
 * The DNS message parser on annotated bytes: real messages cut from the captures, the RFC 9460
 * Appendix D SVCB vectors, and hand-built edge cases for name compression and every decoded type.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectDatagram, detectStream } from '../../../src/dissect/dns/detect.js';
import type { DnsRecord, Edns, SvcbData } from '../../../src/dissect/dns/messages.js';
import { readName } from '../../../src/dissect/dns/names.js';
import { parseMessage } from '../../../src/dissect/dns/parser.js';
import { decodeRdata } from '../../../src/dissect/dns/rdata.js';
import { a, message, name, opt, query, tcpFrame, u16, u32 } from './build.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('real messages', () => {
  test('SVCB AliasMode response (zeek__dns-svcb.pcap, frame 2)', () => {
    // 0x0000:  c964 8100 0001 0001 0000 0000 0765 7861  .d...........exa
    // 0x0010:  6d70 6c65 0363 6f6d 0000 4000 0107 6578  mple.com..@...ex
    // 0x0020:  616d 706c 6503 636f 6d00 0040 0001 0000  ample.com..@....
    // 0x0030:  0258 0013 0000 0366 6f6f 0765 7861 6d70  .X.....foo.examp
    // 0x0040:  6c65 0363 6f6d 00                        le.com.
    const b = hex(
      'c96481000001000100000000076578616d706c6503636f6d0000400001076578616d706c6503636f6d0000400001000002580013000003666f6f076578616d706c6503636f6d00',
    );
    const { message: m, error } = parseMessage(b);
    assert.equal(error, null);
    assert.equal(m?.header.id, 0xc964);
    assert.equal(m?.header.flags.qr, true);
    assert.equal(m?.header.flags.rd, true);
    assert.deepEqual(m?.questions, [{ name: 'example.com', type: 'SVCB', class: 'IN' }]);
    assert.deepEqual(m?.answers, [
      {
        name: 'example.com',
        type: 'SVCB',
        class: 'IN',
        ttl: 600,
        data: { priority: 0, target: 'foo.example.com', mode: 'alias', params: {} },
      },
    ]);
  });

  test('query with EDNS client subnet (zeek__dns-edns-ecs.pcap, frame 2)', () => {
    // 0x0000:  a641 0000 0001 0000 0000 0001 036e 7331  .A...........ns1
    // 0x0010:  0877 6562 6572 646e 7302 6465 0000 0100  .weberdns.de....
    // 0x0020:  0100 0029 1000 0000 8000 000b 0008 0007  ...)............
    // 0x0030:  0001 1800 d53d 1d                        .....=.
    const b = hex(
      'a64100000001000000000001036e7331087765626572646e730264650000010001000029100000008000000b0008000700011800d53d1d',
    );
    const { message: m, error } = parseMessage(b);
    assert.equal(error, null);
    assert.equal(m?.header.flags.rd, false);
    assert.deepEqual(m?.questions, [{ name: 'ns1.weberdns.de', type: 'A', class: 'IN' }]);
    assert.deepEqual(m?.additional, []);
    assert.deepEqual(m?.edns, {
      udpPayloadSize: 4096,
      extendedRcode: 0,
      version: 0,
      dnssecOk: true,
      options: [
        { code: 8, name: 'ECS', family: 'IPv4', sourcePrefix: 24, scopePrefix: 0, address: '213.61.29.0' },
      ],
    });
    assert.equal(detectDatagram(b), 'yes');
    assert.equal(detectStream(tcpFrame(b)), 'yes');
  });
});

describe('names (RFC 1035 §4.1.4)', () => {
  test('compression pointers to a prior name and to a suffix', () => {
    const m = message({
      id: 1,
      flags: { qr: true },
      questions: [{ name: 'www.example.com', type: 1 }],
      answers: [
        { name: [0xc0, 12], type: 5, rdata: [3, ...Buffer.from('cdn'), 0xc0, 16] }, // cdn.example.com
        { name: [3, ...Buffer.from('cdn'), 0xc0, 16], type: 1, rdata: a('192.0.2.7') },
      ],
    });
    const { message: p, error } = parseMessage(m);
    assert.equal(error, null);
    assert.deepEqual(
      p?.answers.map((r) => [r.name, r.type, r.data]),
      [
        ['www.example.com', 'CNAME', 'cdn.example.com'],
        ['cdn.example.com', 'A', '192.0.2.7'],
      ],
    );
  });

  test('a pointer to itself is a loop, reported, not followed', () => {
    const b = Uint8Array.from([0, 0, 0xc0, 2]);
    const r = readName(b, 2);
    assert.equal(r.ok, false);
  });

  test('two pointers pointing at each other end in an error', () => {
    // offset 2: pointer to 4; offset 4: pointer to 2 (forward pointers are refused first).
    const b = Uint8Array.from([0, 0, 0xc0, 4, 0xc0, 2]);
    assert.equal(readName(b, 2).ok, false);
    assert.equal(readName(b, 4).ok, false);
  });

  test('a pointer past the message is an error', () => {
    const b = Uint8Array.from([0xc0, 0xff]);
    assert.equal(readName(b, 0).ok, false);
  });

  test('a label running past the message is an error', () => {
    assert.equal(readName(Uint8Array.from([5, 0x61, 0x62]), 0).ok, false);
  });

  test('a name longer than 255 octets is an error (RFC 1035 §2.3.4)', () => {
    const long = Array.from({ length: 5 }, () => 'x'.repeat(60)).join('.');
    assert.equal(readName(Uint8Array.from(name(long)), 0).ok, false);
    const fits = Array.from({ length: 4 }, () => 'x'.repeat(62)).join('.'); // 4*63+1 = 253 octets
    assert.deepEqual(readName(Uint8Array.from(name(fits)), 0), { ok: true, name: fits, next: 253 });
  });

  test('the root is "."; dots and controls inside labels are escaped; UTF-8 is kept', () => {
    assert.deepEqual(readName(Uint8Array.from([0]), 0), { ok: true, name: '.', next: 1 });
    const b = Uint8Array.from([3, 0x61, 0x2e, 0x01, ...name("Joe's Mäc._ipp._tcp.local")]);
    const r = readName(b, 0);
    assert.equal(r.ok && r.name, "a\\.\\001.Joe's Mäc._ipp._tcp.local");
  });

  test('extended label types are refused (RFC 6891 §5)', () => {
    assert.equal(readName(Uint8Array.from([0x41, 0]), 0).ok, false);
  });
});

describe('record data', () => {
  const decode = (type: number, rdata: number[]) =>
    decodeRdata(Uint8Array.from(rdata), type, 0, rdata.length);

  test('A, AAAA (RFC 3596 §2.2), IPv4-mapped AAAA', () => {
    assert.deepEqual(decode(1, [10, 0, 0, 1]), { ok: true, data: '10.0.0.1' });
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert.deepEqual(decode(28, v6), { ok: true, data: '2001:db8::1' });
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1];
    assert.deepEqual(decode(28, mapped), { ok: true, data: '::ffff:192.0.2.1' });
    assert.equal(decode(1, [1, 2, 3]).ok, false);
  });

  test('MX, TXT, SRV (RFC 2782), SOA, HINFO, CAA (RFC 8659)', () => {
    assert.deepEqual(decode(15, [...u16(10), ...name('mail.example.com')]), {
      ok: true,
      data: { preference: 10, exchange: 'mail.example.com' },
    });
    assert.deepEqual(decode(16, [5, ...Buffer.from('v=spf'), 0, 2, 0x68, 0x69]), {
      ok: true,
      data: ['v=spf', '', 'hi'],
    });
    assert.equal(decode(16, [5, 0x61]).ok, false);
    assert.deepEqual(decode(33, [...u16(1), ...u16(5), ...u16(5060), ...name('sip.example.com')]), {
      ok: true,
      data: { priority: 1, weight: 5, port: 5060, target: 'sip.example.com' },
    });
    const soa = [...name('ns.example.com'), ...name('admin.example.com'), ...u32(2024010101)];
    soa.push(...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300));
    assert.deepEqual(decode(6, soa), {
      ok: true,
      data: {
        mname: 'ns.example.com',
        rname: 'admin.example.com',
        serial: 2024010101,
        refresh: 7200,
        retry: 3600,
        expire: 1209600,
        minimum: 300,
      },
    });
    assert.equal(decode(6, soa.slice(0, -1)).ok, false);
    assert.deepEqual(decode(13, [3, ...Buffer.from('x86'), 5, ...Buffer.from('Linux')]), {
      ok: true,
      data: { cpu: 'x86', os: 'Linux' },
    });
    assert.deepEqual(decode(257, [0x80, 5, ...Buffer.from('issue'), ...Buffer.from('letsencrypt.org')]), {
      ok: true,
      data: { flags: 128, critical: true, tag: 'issue', value: 'letsencrypt.org' },
    });
  });

  test('unknown types are hex (RFC 3597 §5)', () => {
    assert.deepEqual(decode(65534, [0x07, 0x7d, 0x12, 0x00, 0x01]), {
      ok: true,
      data: { hex: '077d120001', length: 5 },
    });
  });

  // RFC 9460 Appendix D.2, "ServiceMode": its wire-format examples.
  test('SVCB port (RFC 9460 Appendix D.2)', () => {
    const r = decodeRdata(hex('0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035'), 64, 0, 25);
    assert.deepEqual(r, {
      ok: true,
      data: { priority: 16, target: 'foo.example.com', mode: 'service', params: { port: 53 } },
    });
  });

  test('SVCB mandatory, alpn and ipv4hint (RFC 9460 Appendix D.2)', () => {
    const b = hex(
      '0010 03666f6f076578616d706c65036f726700 0000000400010004 00010009026832056833 2d3139 00040004c0000201',
    );
    const r = decodeRdata(b, 64, 0, b.length);
    assert.ok(r.ok);
    const d = r.data as SvcbData;
    assert.equal(d.target, 'foo.example.org');
    assert.deepEqual(d.params, {
      mandatory: ['alpn', 'ipv4hint'],
      alpn: ['h2', 'h3-19'],
      ipv4hint: ['192.0.2.1'],
    });
  });

  test('SVCB ipv6hint (RFC 9460 Appendix D.2) and HTTPS with no-default-alpn, ech, unknown key', () => {
    const b = hex('0001 00 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001');
    const r = decodeRdata(b, 64, 0, b.length);
    assert.ok(r.ok);
    assert.deepEqual((r.data as SvcbData).params, { ipv6hint: ['2001:db8::1', '2001:db8::53:1'] });
    assert.equal((r.data as SvcbData).target, '.');
    const https = [
      ...u16(1),
      0,
      ...u16(2),
      ...u16(0),
      ...u16(5),
      ...u16(3),
      1,
      2,
      3,
      ...u16(667),
      ...u16(2),
      0xab,
      0xcd,
    ];
    const h = decode(65, https);
    assert.ok(h.ok);
    assert.deepEqual((h.data as SvcbData).params, { 'no-default-alpn': true, ech: 'AQID', key667: 'abcd' });
    // A port of 3 bytes is malformed (RFC 9460 §7.2).
    assert.equal(decode(65, [...u16(1), 0, ...u16(3), ...u16(3), 0, 0, 0]).ok, false);
  });
});

describe('messages', () => {
  test('EDNS extended rcode (RFC 6891 §6.1.3): BADVERS is 16', () => {
    const m = message({
      id: 9,
      flags: { qr: true, rcode: 0 },
      questions: [{ name: 'example.com', type: 1 }],
      additional: [opt(1232, [], 0x01000000)],
    });
    const p = parseMessage(m).message!;
    assert.equal(p.rcode, 16);
    assert.equal(p.edns?.extendedRcode, 1);
  });

  test('EDNS cookie, padding, extended error, keepalive (RFC 7873, 7830, 8914, 7828)', () => {
    const options = [
      ...u16(10),
      ...u16(16),
      ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...[9, 9, 9, 9, 9, 9, 9, 9],
      ...u16(12),
      ...u16(3),
      0,
      0,
      0,
      ...u16(15),
      ...u16(5),
      ...u16(18),
      ...Buffer.from('bad'),
      ...u16(11),
      ...u16(2),
      ...u16(300),
    ];
    const m = message({
      id: 1,
      questions: [{ name: 'example.com', type: 1 }],
      additional: [opt(4096, options)],
    });
    const e = parseMessage(m).message!.edns as Edns;
    assert.deepEqual(e.options, [
      { code: 10, name: 'COOKIE', client: '0102030405060708', server: '0909090909090909' },
      { code: 12, name: 'PADDING', length: 3 },
      { code: 15, name: 'EDE', infoCode: 18, extraText: 'bad' },
      { code: 11, name: 'TCP-KEEPALIVE', timeoutMs: 30000 },
    ]);
  });

  test('mDNS: QU bit and cache-flush bit are flags, not classes (RFC 6762 §5.4, §10.2)', () => {
    const m = message({
      id: 0,
      flags: { qr: true, aa: true },
      questions: [{ name: 'host.local', type: 1, class: 0x8001 }],
      answers: [{ name: 'host.local', type: 1, class: 0x8001, ttl: 120, rdata: a('10.0.2.7') }],
    });
    const p = parseMessage(m, { mdns: true }).message!;
    assert.deepEqual(p.questions[0], { name: 'host.local', type: 'A', class: 'IN', unicastResponse: true });
    assert.deepEqual(p.answers[0], {
      name: 'host.local',
      type: 'A',
      class: 'IN',
      ttl: 120,
      data: '10.0.2.7',
      cacheFlush: true,
    } satisfies DnsRecord);
    assert.equal(parseMessage(m).message!.answers[0]?.class, 'CLASS32769');
  });

  test('a message cut inside its answers keeps its header and question, and says why', () => {
    const full = message({
      id: 7,
      flags: { qr: true, rcode: 3 },
      questions: [{ name: 'nope.example', type: 28 }],
      answers: [{ name: 'nope.example', type: 1, rdata: a('1.2.3.4') }],
    });
    const { message: m, error } = parseMessage(full.subarray(0, full.length - 2));
    assert.match(error ?? '', /answer 1/);
    assert.equal(m?.header.rcode, 3);
    assert.equal(m?.questions[0]?.name, 'nope.example');
  });

  test('shorter than a header: no message', () => {
    assert.equal(parseMessage(new Uint8Array(11)).message, null);
  });

  test('detection turns down HTTP, TLS and short or impossible headers', () => {
    const http = Uint8Array.from(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(detectStream(http), 'no');
    assert.equal(detectDatagram(http), 'no');
    const tls = hex('160301020001000200fc03035a5b');
    assert.equal(detectStream(tls), 'no');
    assert.equal(detectStream(Uint8Array.from([0])), 'more');
    const q = query(1, 'example.com');
    assert.equal(detectStream(tcpFrame(q).subarray(0, 10)), 'more');
    assert.equal(detectDatagram(q.subarray(0, 20)), 'no');
    assert.equal(detectDatagram(q), 'yes');
  });
});
