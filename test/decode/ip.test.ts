/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers without fragmentation: options, total length and
 * payload length bounding the payload, TSO super-packets (total length 0), snapped packets, the
 * IPv6 extension header chain, and each malformed header counting its error code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LinkType } from '../../src/capture/packet.js';
import {
  ascii,
  concat,
  IpProtocol,
  type Ipv6Extension,
  ipv4,
  ipv6,
  TcpFlags,
  tcp,
  u16be,
  udp,
} from '../support/packets.js';
import { TestDecoder } from './helpers.js';

const RAW = LinkType.RAW;
const DATA = ascii('0123456789abcdefghij');

function tcpSeg(payload = DATA): Uint8Array {
  return tcp({ srcPort: 40000, dstPort: 443, seq: 7, ack: 9, flags: TcpFlags.ACK }, payload);
}

describe('IPv4', () => {
  test('header options (IHL 6 to 15) move the transport header', () => {
    for (let words = 1; words <= 10; words++) {
      const t = new TestDecoder();
      const options = new Uint8Array(words * 4).fill(1); // NOPs
      const d = t.decode(
        RAW,
        ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.TCP, options }, tcpSeg()),
      );
      assert.equal(d.result, 'Tcp', `IHL ${5 + words}`);
      assert.equal(d.payloadStart, 20 + words * 4 + 20);
      assert.deepEqual(d.payload, DATA);
    }
  });

  test('bytes past the total length (trailer, padding) are not payload', () => {
    const t = new TestDecoder();
    const pkt = concat(
      ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.TCP }, tcpSeg()),
      ascii('TRAILER'),
    );
    const d = t.decode(RAW, pkt);
    assert.deepEqual(d.payload, DATA);
    assert.equal(d.payloadWireLength, DATA.length);
  });

  test('total length 0 is a TSO super-packet: the captured bytes are the datagram (as tshark assumes)', () => {
    const t = new TestDecoder();
    const big = new Uint8Array(20000).fill(0x61);
    const d = t.decode(
      RAW,
      ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.TCP, totalLength: 0 }, tcpSeg(big)),
    );
    assert.equal(d.result, 'Tcp');
    assert.equal(d.payloadLength, 20000);
    assert.equal(d.payloadWireLength, 20000);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('a snapped packet keeps its wire payload length; only the captured part is payload', () => {
    const t = new TestDecoder();
    const pkt = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.TCP }, tcpSeg());
    const d = t.decode(RAW, pkt.subarray(0, 45), { wirelen: pkt.length });
    assert.equal(d.result, 'Tcp');
    assert.equal(d.payloadLength, 5);
    assert.equal(d.payloadWireLength, DATA.length);
    assert.deepEqual(d.payload, DATA.subarray(0, 5));
  });

  test('ICMP and other protocols are Other and counted', () => {
    const t = new TestDecoder();
    const d = t.decode(
      RAW,
      ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.ICMP }, new Uint8Array(8)),
    );
    assert.equal(d.result, 'Other');
    assert.equal(d.protocol, IpProtocol.ICMP);
    assert.equal(t.decoder.otherIp, 1);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('malformed headers count their error codes', () => {
    const ok = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.TCP }, tcpSeg());
    const withOptions = ipv4(
      { src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.TCP, options: new Uint8Array(8) },
      tcpSeg(),
    );
    const cases: Array<[string, Uint8Array, string]> = [
      ['fewer than 20 bytes', ok.subarray(0, 19), 'ipv4.truncated'],
      [
        'IHL below 5',
        ipv4({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 6, ihl: 4 }, tcpSeg()),
        'ipv4.bad_header',
      ],
      [
        'total length below the header',
        ipv4({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 6, totalLength: 19 }, tcpSeg()),
        'ipv4.bad_header',
      ],
      ['options cut off by the capture', withOptions.subarray(0, 24), 'ipv4.truncated'],
      ['TCP header cut off by the capture', ok.subarray(0, 30), 'tcp.truncated'],
    ];
    for (const [name, bytes, code] of cases) {
      const t = new TestDecoder();
      assert.equal(t.decode(RAW, bytes).result, 'Error', name);
      assert.deepEqual(t.errorCounts(), { [code]: 1 }, name);
    }
  });
});

/** Bytes an extension header takes, by its definition in test/support/packets.ts. */
function extensionLength(e: Ipv6Extension): number {
  switch (e.type) {
    case 'hop-by-hop':
    case 'destination':
      return e.length ?? 8;
    case 'routing':
      return 24;
    case 'fragment':
      return 8;
    case 'ah':
      return 12 + (e.icvLength ?? 12);
  }
}

describe('IPv6', () => {
  const base = { src: '2001:db8:0:1::10', dst: '2001:db8:0:2::20' };

  const chains: Array<[string, Ipv6Extension[]]> = [
    ['no extension headers', []],
    ['Hop-by-Hop', [{ type: 'hop-by-hop' }]],
    [
      'Hop-by-Hop (24 bytes), Destination Options, Routing, Destination Options',
      [
        { type: 'hop-by-hop', length: 24 },
        { type: 'destination' },
        { type: 'routing' },
        { type: 'destination', length: 16 },
      ],
    ],
    [
      'an atomic Fragment header (offset 0, M clear: RFC 6946)',
      [{ type: 'fragment', offset: 0, more: false, id: 9 }],
    ],
    ['Authentication Header (length in 4-byte words)', [{ type: 'ah', icvLength: 16 }]],
    [
      'Routing then AH then Destination Options',
      [{ type: 'routing' }, { type: 'ah' }, { type: 'destination' }],
    ],
  ];
  for (const [name, exts] of chains) {
    test(`TCP and UDP after ${name}`, () => {
      const extLen = exts.reduce((n, e) => n + extensionLength(e), 0);
      const t = new TestDecoder();
      const d = t.decode(RAW, ipv6(base, exts, IpProtocol.TCP, tcpSeg()));
      assert.equal(d.result, 'Tcp');
      assert.equal(d.src, '2001:db8:0:1::10');
      assert.equal(d.dst, '2001:db8:0:2::20');
      assert.equal(d.protocol, IpProtocol.TCP);
      assert.equal(d.payloadStart, 40 + extLen + 20);
      assert.deepEqual(d.payload, DATA);
      const u = t.decode(RAW, ipv6(base, exts, IpProtocol.UDP, udp({ srcPort: 1, dstPort: 2 }, DATA)));
      assert.equal(u.result, 'Udp');
      assert.equal(u.payloadStart, 40 + extLen + 8);
      assert.deepEqual(u.payload, DATA);
      assert.deepEqual(t.errorCounts(), {});
    });
  }

  test('ESP, No Next Header and ICMPv6 are Other', () => {
    const t = new TestDecoder();
    for (const p of [IpProtocol.ESP, IpProtocol.NONE, IpProtocol.ICMPV6]) {
      assert.equal(
        t.decode(RAW, ipv6(base, [{ type: 'destination' }], p, new Uint8Array(16))).result,
        'Other',
      );
    }
    assert.equal(t.decoder.otherIp, 3);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('a jumbogram (payload length 0, RFC 2675) takes the captured length', () => {
    const t = new TestDecoder();
    const d = t.decode(
      RAW,
      ipv6(
        { ...base, payloadLength: 0 },
        [{ type: 'hop-by-hop' }],
        IpProtocol.UDP,
        udp({ srcPort: 1, dstPort: 2, length: 0 }, DATA),
      ),
    );
    assert.equal(d.result, 'Udp');
    assert.deepEqual(d.payload, DATA);
  });

  test('bytes past the payload length are not payload', () => {
    const t = new TestDecoder();
    const d = t.decode(RAW, concat(ipv6(base, [], IpProtocol.TCP, tcpSeg()), ascii('TRAILER')));
    assert.deepEqual(d.payload, DATA);
  });

  test('malformed headers count their error codes', () => {
    const ok = ipv6(base, [{ type: 'hop-by-hop' }, { type: 'destination' }], IpProtocol.TCP, tcpSeg());
    // An extension header whose length runs past the payload length.
    const long = ok.slice();
    long[40 + 1] = 200;
    // Seventeen Destination Options headers: more than podwire follows.
    const many = ipv6(
      base,
      Array.from({ length: 17 }, () => ({ type: 'destination' as const })),
      IpProtocol.TCP,
      tcpSeg(),
    );
    // A routing header claiming to go past the captured bytes of a snapped packet.
    const cases: Array<[string, Uint8Array, string]> = [
      ['fewer than 40 bytes', ok.subarray(0, 39), 'ipv6.truncated'],
      ['an extension header cut off by the capture', ok.subarray(0, 44), 'ipv6.truncated'],
      ['an extension header longer than the payload', long, 'ipv6.bad_extension'],
      ['more than 16 extension headers', many, 'ipv6.bad_extension'],
      ['the TCP header cut off by the capture', ok.subarray(0, 40 + 16 + 10), 'tcp.truncated'],
    ];
    for (const [name, bytes, code] of cases) {
      const t = new TestDecoder();
      assert.equal(t.decode(RAW, bytes).result, 'Error', name);
      assert.deepEqual(t.errorCounts(), { [code]: 1 }, name);
    }
  });

  test('the payload length field bounds a UDP datagram even when the frame is longer', () => {
    const t = new TestDecoder();
    const pkt = ipv6(base, [], IpProtocol.UDP, udp({ srcPort: 1, dstPort: 2 }, DATA));
    const d = t.decode(RAW, concat(pkt, u16be(0xdead)));
    assert.equal(d.payloadWireLength, DATA.length);
  });
});
