/**
 * TCP (RFC 9293 §3.1) and UDP (RFC 768): ports, sequence numbers, flags, the data offset with
 * options, the UDP length, and each malformed header counting its error code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LinkType } from '../../src/capture/packet.js';
import { ascii, concat, IpProtocol, ipv4, ipv6, TcpFlags, TcpOption, tcp, udp } from '../support/packets.js';
import { TestDecoder } from './helpers.js';

const RAW = LinkType.RAW;
const DATA = ascii('payload bytes');
const v4 = (protocol: number, seg: Uint8Array) => ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol }, seg);

describe('TCP', () => {
  test('ports, 32-bit sequence and acknowledgment numbers, window', () => {
    const t = new TestDecoder();
    const d = t.decode(
      RAW,
      v4(
        6,
        tcp(
          { srcPort: 65535, dstPort: 1, seq: 0xffffffff, ack: 0x80000000, window: 512, flags: TcpFlags.ACK },
          DATA,
        ),
      ),
    );
    assert.equal(d.result, 'Tcp');
    assert.equal(d.srcPort, 65535);
    assert.equal(d.dstPort, 1);
    assert.equal(d.seq, 0xffffffff);
    assert.equal(d.ack, 0x80000000);
    assert.equal(d.window, 512);
  });

  test('every flag bit comes through as sent', () => {
    const t = new TestDecoder();
    for (let flags = 0; flags < 256; flags++) {
      const d = t.decode(RAW, v4(6, tcp({ srcPort: 1, dstPort: 2, flags })));
      assert.equal(d.tcpFlags, flags);
    }
  });

  const optionSets: Array<[string, Uint8Array]> = [
    ['MSS', TcpOption.mss(1460)],
    [
      'MSS, SACK permitted, timestamps, NOP, window scale (a SYN)',
      concat(
        TcpOption.mss(1460),
        TcpOption.sackPermitted(),
        TcpOption.timestamps(1, 0),
        TcpOption.nop(),
        TcpOption.windowScale(7),
      ),
    ],
    [
      'timestamps and three SACK blocks',
      concat(
        TcpOption.nop(),
        TcpOption.nop(),
        TcpOption.timestamps(5, 6),
        TcpOption.nop(),
        TcpOption.nop(),
        TcpOption.sack([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
      ),
    ],
    ['40 bytes of options (data offset 15)', new Uint8Array(40).fill(1)],
  ];
  for (const [name, options] of optionSets) {
    test(`the data offset skips options: ${name}`, () => {
      const t = new TestDecoder();
      const d = t.decode(RAW, v4(6, tcp({ srcPort: 1, dstPort: 2, options, flags: TcpFlags.SYN }, DATA)));
      assert.equal(d.result, 'Tcp');
      assert.equal(d.payloadStart, 20 + 20 + ((options.length + 3) & ~3));
      assert.deepEqual(d.payload, DATA);
      assert.equal(d.payloadWireLength, DATA.length);
    });
  }

  test('malformed headers count their error codes', () => {
    const ok = tcp({ srcPort: 1, dstPort: 2 }, DATA);
    const cases: Array<[string, Uint8Array, string]> = [
      ['fewer than 20 bytes', v4(6, ok.subarray(0, 19)), 'tcp.truncated'],
      [
        'data offset below 5 words',
        v4(6, tcp({ srcPort: 1, dstPort: 2, dataOffset: 4 }, DATA)),
        'tcp.bad_offset',
      ],
      [
        'data offset past the end of the segment',
        v4(6, tcp({ srcPort: 1, dstPort: 2, dataOffset: 15 })),
        'tcp.bad_offset',
      ],
    ];
    for (const [name, bytes, code] of cases) {
      const t = new TestDecoder();
      assert.equal(t.decode(RAW, bytes).result, 'Error', name);
      assert.deepEqual(t.errorCounts(), { [code]: 1 }, name);
    }
    // Options cut off by the snap length (the segment on the wire was long enough): truncated.
    const t = new TestDecoder();
    const withOpts = v4(6, tcp({ srcPort: 1, dstPort: 2, options: new Uint8Array(20).fill(1) }, DATA));
    assert.equal(t.decode(RAW, withOpts.subarray(0, 50), { wirelen: withOpts.length }).result, 'Error');
    assert.deepEqual(t.errorCounts(), { 'tcp.truncated': 1 });
  });
});

describe('UDP', () => {
  test('ports, and the payload the length field gives', () => {
    const t = new TestDecoder();
    const d = t.decode(RAW, v4(17, udp({ srcPort: 53, dstPort: 33333 }, DATA)));
    assert.equal(d.result, 'Udp');
    assert.equal(d.srcPort, 53);
    assert.equal(d.dstPort, 33333);
    assert.equal(d.protocol, IpProtocol.UDP);
    assert.equal(d.payloadStart, 28);
    assert.deepEqual(d.payload, DATA);
    assert.equal(d.payloadWireLength, DATA.length);
  });

  test('a length shorter than the IP payload ends the datagram there', () => {
    const t = new TestDecoder();
    const d = t.decode(RAW, v4(17, udp({ srcPort: 1, dstPort: 2, length: 8 + 3 }, DATA)));
    assert.equal(d.result, 'Udp');
    assert.deepEqual(d.payload, DATA.subarray(0, 3));
    assert.equal(d.payloadWireLength, 3);
  });

  test('an empty datagram (length 8)', () => {
    const t = new TestDecoder();
    const d = t.decode(RAW, ipv6({ src: '::1', dst: '::2' }, [], 17, udp({ srcPort: 1, dstPort: 2 })));
    assert.equal(d.result, 'Udp');
    assert.equal(d.payloadLength, 0);
  });

  test('a snapped datagram keeps its wire length', () => {
    const t = new TestDecoder();
    const pkt = v4(17, udp({ srcPort: 1, dstPort: 2 }, DATA));
    const d = t.decode(RAW, pkt.subarray(0, 30), { wirelen: pkt.length });
    assert.equal(d.payloadLength, 2);
    assert.equal(d.payloadWireLength, DATA.length);
  });

  test('malformed headers count their error codes', () => {
    const cases: Array<[string, Uint8Array, string]> = [
      ['fewer than 8 bytes', v4(17, udp({ srcPort: 1, dstPort: 2 }).subarray(0, 7)), 'udp.truncated'],
      ['length below 8', v4(17, udp({ srcPort: 1, dstPort: 2, length: 7 }, DATA)), 'udp.bad_length'],
      [
        'length past the IP payload',
        v4(17, udp({ srcPort: 1, dstPort: 2, length: 100 }, DATA)),
        'udp.bad_length',
      ],
    ];
    for (const [name, bytes, code] of cases) {
      const t = new TestDecoder();
      assert.equal(t.decode(RAW, bytes).result, 'Error', name);
      assert.deepEqual(t.errorCounts(), { [code]: 1 }, name);
    }
  });
});
