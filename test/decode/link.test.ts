/**
 * Link layers: for every link type podwire decodes, and for VLAN tag stacks, the decoder finds the
 * IP header, so addresses, ports, flags and the payload (its offset in the frame) come out right.
 * Non-IP frames are counted as Other, short frames as link.truncated, unknown link types as
 * link.unsupported.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LinkType } from '../../src/capture/packet.js';
import {
  AddressFamily,
  ascii,
  bsdLoop,
  bsdNull,
  concat,
  EtherType,
  ethernet,
  IpProtocol,
  ipv4,
  ipv6,
  sll,
  sll2,
  TcpFlags,
  tcp,
  udp,
  type VlanTag,
} from '../support/packets.js';
import { TestDecoder } from './helpers.js';

const PAYLOAD = ascii('GET / HTTP/1.1\r\n\r\n');

const tcp4 = ipv4(
  { src: '192.0.2.10', dst: '198.51.100.20', protocol: IpProtocol.TCP },
  tcp(
    { srcPort: 51000, dstPort: 80, seq: 0xfffffff0, ack: 0x80000001, flags: TcpFlags.PSH | TcpFlags.ACK },
    PAYLOAD,
  ),
);
const udp6 = ipv6(
  { src: '2001:db8::a', dst: 'fe80::1:2' },
  [],
  IpProtocol.UDP,
  udp({ srcPort: 5353, dstPort: 53 }, PAYLOAD),
);

/** Checks a decoded TCP/IPv4 or UDP/IPv6 packet of PAYLOAD whose IP header starts at `ipAt`. */
function expectDecoded(t: TestDecoder, linkType: number, frame: Uint8Array, ipAt: number, v6: boolean) {
  const d = t.decode(linkType, frame);
  assert.deepEqual(t.errorCounts(), {});
  if (v6) {
    assert.equal(d.result, 'Udp');
    assert.equal(d.ipVersion, 6);
    assert.equal(d.src, '2001:db8::a');
    assert.equal(d.dst, 'fe80::1:2');
    assert.equal(d.srcPort, 5353);
    assert.equal(d.dstPort, 53);
    assert.equal(d.payloadStart, ipAt + 40 + 8);
  } else {
    assert.equal(d.result, 'Tcp');
    assert.equal(d.ipVersion, 4);
    assert.equal(d.src, '192.0.2.10');
    assert.equal(d.dst, '198.51.100.20');
    assert.equal(d.srcPort, 51000);
    assert.equal(d.dstPort, 80);
    assert.equal(d.tcpFlags, TcpFlags.PSH | TcpFlags.ACK);
    assert.equal(d.seq, 0xfffffff0);
    assert.equal(d.ack, 0x80000001);
    assert.equal(d.payloadStart, ipAt + 20 + 20);
  }
  assert.deepEqual(d.payload, PAYLOAD);
  assert.equal(d.payloadLength, PAYLOAD.length);
  assert.equal(d.payloadWireLength, PAYLOAD.length);
}

describe('Ethernet', () => {
  test('IPv4 and IPv6 after the 14-byte header', () => {
    const t = new TestDecoder();
    expectDecoded(t, LinkType.ETHERNET, ethernet({ etherType: EtherType.IPV4 }, tcp4), 14, false);
    expectDecoded(t, LinkType.ETHERNET, ethernet({ etherType: EtherType.IPV6 }, udp6), 14, true);
  });

  const stacks: Array<[string, VlanTag[]]> = [
    ['one 802.1Q tag', [{ vid: 100, pcp: 5 }]],
    ['QinQ: 802.1ad service tag over 802.1Q', [{ tpid: EtherType.QINQ, vid: 200 }, { vid: 100 }]],
    [
      'pre-standard 0x9100 QinQ tag',
      [
        { tpid: EtherType.QINQ_OLD, vid: 300 },
        { vid: 4095, dei: true },
      ],
    ],
    [
      'four tags (the most podwire skips)',
      [{ tpid: EtherType.QINQ, vid: 1 }, { vid: 2 }, { vid: 3 }, { vid: 4 }],
    ],
  ];
  for (const [name, vlans] of stacks) {
    test(`${name}: the IP header is found after ${vlans.length * 4 + 14} bytes`, () => {
      const t = new TestDecoder();
      const at = 14 + 4 * vlans.length;
      expectDecoded(t, LinkType.ETHERNET, ethernet({ etherType: EtherType.IPV4, vlans }, tcp4), at, false);
      expectDecoded(t, LinkType.ETHERNET, ethernet({ etherType: EtherType.IPV6, vlans }, udp6), at, true);
    });
  }

  test('five VLAN tags are more than podwire skips: the frame is Other, not an error', () => {
    const t = new TestDecoder();
    const vlans = [1, 2, 3, 4, 5].map((vid) => ({ vid }));
    const d = t.decode(LinkType.ETHERNET, ethernet({ etherType: EtherType.IPV4, vlans }, tcp4));
    assert.equal(d.result, 'Other');
    assert.equal(t.decoder.nonIp, 1);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('ARP and 802.3 length-field frames are Other, not errors', () => {
    const t = new TestDecoder();
    assert.equal(
      t.decode(LinkType.ETHERNET, ethernet({ etherType: EtherType.ARP, pad: true }, new Uint8Array(28)))
        .result,
      'Other',
    );
    assert.equal(
      t.decode(LinkType.ETHERNET, ethernet({ etherType: 46, pad: true }, new Uint8Array(46))).result,
      'Other',
    );
    assert.equal(t.decoder.nonIp, 2);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('a frame shorter than its header or its VLAN tag is link.truncated', () => {
    const t = new TestDecoder();
    const frame = ethernet({ etherType: EtherType.IPV4, vlans: [{ vid: 7 }] }, tcp4);
    for (const len of [0, 1, 13, 14, 15, 16, 17]) {
      assert.equal(t.decode(LinkType.ETHERNET, frame.subarray(0, len)).result, 'Error', `length ${len}`);
    }
    assert.deepEqual(t.errorCounts(), { 'link.truncated': 7 });
  });

  test('padding to the 60-byte minimum is not payload: the IP total length bounds it', () => {
    const t = new TestDecoder();
    const small = ipv4(
      { src: '10.1.1.1', dst: '10.1.1.2', protocol: IpProtocol.TCP },
      tcp({ srcPort: 1, dstPort: 2, flags: TcpFlags.ACK }),
    );
    const frame = ethernet({ etherType: EtherType.IPV4, pad: true, padByte: 0xab }, small);
    assert.equal(frame.length, 60);
    const d = t.decode(LinkType.ETHERNET, frame);
    assert.equal(d.result, 'Tcp');
    assert.equal(d.payloadLength, 0);
    assert.equal(d.payloadWireLength, 0);
    const u = ipv4(
      { src: '10.1.1.1', dst: '10.1.1.2', protocol: IpProtocol.UDP },
      udp({ srcPort: 1, dstPort: 2 }, ascii('x')),
    );
    const du = t.decode(
      LinkType.ETHERNET,
      ethernet({ etherType: EtherType.IPV4, pad: true, padByte: 0xab }, u),
    );
    assert.equal(du.result, 'Udp');
    assert.deepEqual(du.payload, ascii('x'));
    // And with padding after an IPv6 packet (payload length bounds it).
    const u6 = ipv6(
      { src: '::1', dst: '::2' },
      [],
      IpProtocol.UDP,
      udp({ srcPort: 1, dstPort: 2 }, ascii('y')),
    );
    const d6 = t.decode(
      LinkType.ETHERNET,
      concat(ethernet({ etherType: EtherType.IPV6 }, u6), new Uint8Array(9).fill(0xab)),
    );
    assert.deepEqual(d6.payload, ascii('y'));
    assert.equal(d6.payloadWireLength, 1);
    assert.deepEqual(t.errorCounts(), {});
  });
});

describe('Linux cooked captures', () => {
  test('SLL: IP after the 16-byte header', () => {
    const t = new TestDecoder();
    expectDecoded(t, LinkType.LINUX_SLL, sll({ protocol: EtherType.IPV4, packetType: 4 }, tcp4), 16, false);
    expectDecoded(t, LinkType.LINUX_SLL, sll({ protocol: EtherType.IPV6, arphrd: 772 }, udp6), 16, true);
  });

  test('SLL with an 802.1Q tag in the protocol field', () => {
    const t = new TestDecoder();
    const tagged = concat(Uint8Array.of(0x00, 0x64, 0x08, 0x00), tcp4); // TCI vid 100, then IPv4
    expectDecoded(t, LinkType.LINUX_SLL, sll({ protocol: EtherType.VLAN }, tagged), 20, false);
  });

  test('SLL2: IP after the 20-byte header', () => {
    const t = new TestDecoder();
    expectDecoded(t, LinkType.LINUX_SLL2, sll2({ protocol: EtherType.IPV4, ifindex: 7 }, tcp4), 20, false);
    expectDecoded(t, LinkType.LINUX_SLL2, sll2({ protocol: EtherType.IPV6 }, udp6), 20, true);
  });

  test('SLL2 with 802.1ad and 802.1Q tags, and with a pre-standard 0x9100 tag', () => {
    const t = new TestDecoder();
    // The protocol field is the outer tag's TPID; the payload is its TCI, the inner tag, then IPv6.
    const tagged = concat(Uint8Array.of(0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x86, 0xdd), udp6);
    expectDecoded(t, LinkType.LINUX_SLL2, sll2({ protocol: EtherType.QINQ }, tagged), 28, true);
    expectDecoded(t, LinkType.LINUX_SLL2, sll2({ protocol: EtherType.QINQ_OLD }, tagged), 28, true);
    const once = concat(Uint8Array.of(0x00, 0x64, 0x08, 0x00), tcp4);
    expectDecoded(t, LinkType.LINUX_SLL2, sll2({ protocol: EtherType.VLAN }, once), 24, false);
    expectDecoded(t, LinkType.LINUX_SLL2, sll2({ protocol: EtherType.QINQ_OLD }, once), 24, false);
  });

  test('non-IP protocols are Other; short headers are link.truncated', () => {
    const t = new TestDecoder();
    assert.equal(
      t.decode(LinkType.LINUX_SLL, sll({ protocol: EtherType.ARP }, new Uint8Array(28))).result,
      'Other',
    );
    assert.equal(
      t.decode(LinkType.LINUX_SLL2, sll2({ protocol: 0x0004 }, new Uint8Array(28))).result,
      'Other',
    );
    assert.equal(
      t.decode(LinkType.LINUX_SLL, sll({ protocol: EtherType.IPV4 }, tcp4).subarray(0, 15)).result,
      'Error',
    );
    assert.equal(
      t.decode(LinkType.LINUX_SLL2, sll2({ protocol: EtherType.IPV4 }, tcp4).subarray(0, 19)).result,
      'Error',
    );
    assert.deepEqual(t.errorCounts(), { 'link.truncated': 2 });
  });
});

describe('BSD loopback', () => {
  const families: Array<[string, number, boolean]> = [
    ['AF_INET', AddressFamily.INET, false],
    ['AF_INET6 (Linux, 10)', AddressFamily.INET6_LINUX, true],
    ['AF_INET6 (NetBSD/OpenBSD, 24)', AddressFamily.INET6_BSD, true],
    ['AF_INET6 (FreeBSD, 28)', AddressFamily.INET6_FREEBSD, true],
    ['AF_INET6 (macOS, 30)', AddressFamily.INET6_DARWIN, true],
  ];
  for (const [name, af, v6] of families) {
    test(`NULL with ${name} in either byte order, and LOOP (big-endian)`, () => {
      const t = new TestDecoder();
      const ip = v6 ? udp6 : tcp4;
      expectDecoded(t, LinkType.NULL, bsdNull(af, ip, 'le'), 4, v6);
      expectDecoded(t, LinkType.NULL, bsdNull(af, ip, 'be'), 4, v6);
      expectDecoded(t, LinkType.LOOP, bsdLoop(af, ip), 4, v6);
    });
  }

  test('other address families are Other; fewer than 4 bytes is link.truncated', () => {
    const t = new TestDecoder();
    assert.equal(t.decode(LinkType.NULL, bsdNull(7, tcp4)).result, 'Other');
    assert.equal(t.decode(LinkType.LOOP, bsdLoop(7, tcp4)).result, 'Other');
    assert.equal(t.decode(LinkType.NULL, Uint8Array.of(2, 0, 0)).result, 'Error');
    assert.equal(t.decode(LinkType.LOOP, Uint8Array.of(0, 0, 0)).result, 'Error');
    assert.deepEqual(t.errorCounts(), { 'link.truncated': 2 });
  });
});

describe('raw IP and unsupported link types', () => {
  for (const [name, lt] of [
    ['RAW (101)', LinkType.RAW],
    ['RAW_OLD (12)', LinkType.RAW_OLD],
    ['IPV4 (228)', LinkType.IPV4],
    ['IPV6 (229)', LinkType.IPV6],
  ] as const) {
    test(`${name}: the IP header starts the packet`, () => {
      const t = new TestDecoder();
      if (lt !== LinkType.IPV6) expectDecoded(t, lt, tcp4, 0, false);
      if (lt !== LinkType.IPV4) expectDecoded(t, lt, udp6, 0, true);
    });
  }

  test('an empty raw packet is link.truncated; a version other than 4 or 6 is ip.bad_version', () => {
    const t = new TestDecoder();
    assert.equal(t.decode(LinkType.RAW, new Uint8Array(0)).result, 'Error');
    const v5 = tcp4.slice();
    v5[0] = 0x55;
    assert.equal(t.decode(LinkType.RAW, v5).result, 'Error');
    assert.deepEqual(t.errorCounts(), { 'link.truncated': 1, 'ip.bad_version': 1 });
  });

  test('a link type podwire does not decode (802.11, 105) is link.unsupported', () => {
    const t = new TestDecoder();
    assert.equal(t.decode(105, tcp4).result, 'Error');
    assert.deepEqual(t.errorCounts(), { 'link.unsupported': 1 });
  });
});
