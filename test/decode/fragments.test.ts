/**
 * IP fragment reassembly through the decoder: IPv4 pieces in order, reversed, shuffled, duplicated,
 * overlapping (with the same bytes, and with different bytes), missing one (held, then counted as
 * fragment.timeout 30 s of capture time later), past the end, too many at once (fragment.limit);
 * IPv6 fragments with unfragmentable and fragmentable extension headers; and pieces that arrive in
 * different reads of a capture file.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { readCaptureFile } from '../../src/capture/file-source.js';
import { LinkType } from '../../src/capture/packet.js';
import { analyzeFiles } from '../../src/cli/analyze.js';
import { Decoder } from '../../src/decode/decoder.js';
import { Defragmenter } from '../../src/decode/fragments.js';
import { DecodeResult } from '../../src/decode/packet.js';
import { ErrorCounters } from '../../src/wire/errors.js';
import { filler } from '../capture/samples.js';
import {
  ascii,
  EtherType,
  ethernet,
  IpProtocol,
  type Ipv4Options,
  ipv4,
  ipv4Address,
  ipv4Fragment,
  ipv4Fragments,
  ipv6Fragment,
  ipv6FragmentablePart,
  ipv6Fragments,
  TcpFlags,
  tcp,
  udp,
  withTransportChecksum,
} from '../support/packets.js';
import { tempDir, writeFile, writePcap } from '../support/pcap-writer.js';
import { TestDecoder } from './helpers.js';

const RAW = LinkType.RAW;
const T0 = 1_700_000_000_000_000;
const { dir, cleanup } = tempDir('podwire-frag-');
after(cleanup);

const V4: Ipv4Options = { src: '172.16.0.1', dst: '172.16.0.2', protocol: IpProtocol.UDP, id: 0x4242 };
const DATA = filler(3000, 7);
const SEGMENT = udp({ srcPort: 5000, dstPort: 6000 }, DATA);
/** The UDP datagram with its checksum, as the fragments carry it. */
const WHOLE = withTransportChecksum(ipv4Address(V4.src), ipv4Address(V4.dst), IpProtocol.UDP, SEGMENT);

/** Feeds packets one per millisecond; returns the results by name. */
function feed(t: TestDecoder, packets: Uint8Array[], start = T0): string[] {
  return packets.map((p, i) => t.decode(RAW, p, { tsMicros: start + i * 1000 }).result);
}

function expectWhole(t: TestDecoder, packets: Uint8Array[]) {
  const results = feed(t, packets.slice(0, -1));
  assert.ok(
    results.every((r) => r === 'Fragment'),
    `held: ${results}`,
  );
  const last = packets[packets.length - 1]!;
  const d = t.decode(RAW, last, { tsMicros: T0 + packets.length * 1000 });
  assert.equal(d.result, 'Udp');
  assert.equal(d.srcPort, 5000);
  assert.equal(d.dstPort, 6000);
  assert.equal(d.src, '172.16.0.1');
  assert.equal(d.payloadLength, DATA.length);
  assert.equal(d.payloadWireLength, DATA.length);
  assert.deepEqual(d.payload, DATA);
  assert.equal(t.decoder.defrag.size, 0);
  assert.deepEqual(t.errorCounts(), {});
}

describe('IPv4 fragments', () => {
  const pieces = ipv4Fragments(V4, SEGMENT, [1480, 1000, 8]);

  test('in order: held, then the datagram decodes when the last piece arrives', () => {
    assert.equal(pieces.length, 4);
    expectWhole(new TestDecoder(), pieces);
  });

  test('in reverse order', () => {
    expectWhole(new TestDecoder(), [...pieces].reverse());
  });

  test('shuffled, with the last piece (MF clear) in the middle', () => {
    expectWhole(new TestDecoder(), [pieces[1]!, pieces[3]!, pieces[0]!, pieces[2]!]);
  });

  test('duplicated pieces before completion', () => {
    expectWhole(new TestDecoder(), [pieces[0]!, pieces[0]!, pieces[2]!, pieces[1]!, pieces[2]!, pieces[3]!]);
  });

  test('overlapping pieces that carry the same bytes reassemble', () => {
    // The last one fills the hole [1600, 2000) and overlaps three others.
    const overlapping = [
      ipv4Fragment(V4, WHOLE, 0, 1600, true),
      ipv4Fragment(V4, WHOLE, 2000, WHOLE.length - 2000, false),
      ipv4Fragment(V4, WHOLE, 1496, 16, true),
      ipv4Fragment(V4, WHOLE, 800, 1600, true),
    ];
    expectWhole(new TestDecoder(), overlapping);
  });

  test('overlapping pieces that change bytes drop the datagram as fragment.bad', () => {
    const t = new TestDecoder();
    const forged = WHOLE.slice();
    forged.fill(0x58, 1000, 1600);
    const results = feed(t, [
      ipv4Fragment(V4, WHOLE, 0, 1600, true),
      ipv4Fragment(V4, forged, 1000, 1600, true),
      ipv4Fragment(V4, WHOLE, 2600, WHOLE.length - 2600, false),
    ]);
    assert.deepEqual(results, ['Fragment', 'Fragment', 'Fragment']);
    assert.equal(t.decoder.defrag.size, 0);
    assert.deepEqual(t.errorCounts(), { 'fragment.bad': 1 });
  });

  test('a piece past the end the last piece declares is ignored, never thrown', () => {
    // Pieces [0,1600) and [1600,3200) with MF, then a last piece [8,16) with MF clear: the datagram
    // is 16 bytes long by the last piece, and the pieces reach past it without a hole.
    const t = new TestDecoder();
    const big = new Uint8Array(3200).fill(0x41);
    const whole = udp({ srcPort: 1, dstPort: 2, length: 16 }, big.subarray(0, 3192));
    const results = feed(t, [
      ipv4Fragment(V4, whole, 0, 1600, true),
      ipv4Fragment(V4, whole, 1600, 1600, true),
      ipv4Fragment(V4, whole, 8, 8, false),
    ]);
    assert.deepEqual(results, ['Fragment', 'Fragment', 'Udp']);
    assert.equal(t.decoder.defrag.size, 0);
    // And when a stray piece lies beyond a hole past the end, the datagram still completes.
    const t2 = new TestDecoder();
    const r2 = feed(t2, [
      ipv4Fragment(V4, WHOLE, 0, 1480, true),
      ipv4Fragment(V4, new Uint8Array(4000), 3200, 800, true),
      ipv4Fragment(V4, WHOLE, 1480, WHOLE.length - 1480, false),
    ]);
    assert.deepEqual(r2, ['Fragment', 'Fragment', 'Udp']);
  });

  test('a missing piece keeps the datagram held, then fragment.timeout 30 s of capture time later', () => {
    const t = new TestDecoder();
    assert.deepEqual(feed(t, [pieces[0]!, pieces[1]!, pieces[3]!]), ['Fragment', 'Fragment', 'Fragment']);
    assert.equal(t.decoder.defrag.size, 1);
    const other = ipv4({ ...V4, id: 1 }, udp({ srcPort: 9, dstPort: 9 }, ascii('later')));
    // 29 s later: still held. No fragment follows; ordinary packets move the clock.
    assert.equal(t.decode(RAW, other, { tsMicros: T0 + 29_000_000 }).result, 'Udp');
    assert.equal(t.decoder.defrag.size, 1);
    assert.deepEqual(t.errorCounts(), {});
    assert.equal(t.decode(RAW, other, { tsMicros: T0 + 31_000_000 }).result, 'Udp');
    assert.equal(t.decoder.defrag.size, 0);
    assert.deepEqual(t.errorCounts(), { 'fragment.timeout': 1 });
    // The missing piece now arrives too late: it starts a new datagram, which is held.
    assert.equal(t.decode(RAW, pieces[2]!, { tsMicros: T0 + 31_500_000 }).result, 'Fragment');
  });

  test('at most maxDatagrams are held: the oldest is dropped as fragment.limit', () => {
    const t = new TestDecoder({ maxDatagrams: 4, timeoutMicros: 30_000_000 });
    for (let id = 0; id < 10; id++) {
      assert.equal(
        t.decode(RAW, ipv4Fragments({ ...V4, id }, SEGMENT, [1480])[0]!, { tsMicros: T0 + id }).result,
        'Fragment',
      );
      assert.ok(t.decoder.defrag.size <= 4);
    }
    assert.deepEqual(t.errorCounts(), { 'fragment.limit': 6 });
    // The newest four are still there: completing id 9 works, id 0 was dropped.
    const rest9 = ipv4Fragments({ ...V4, id: 9 }, SEGMENT, [1480]).slice(1);
    assert.deepEqual(feed(t, rest9, T0 + 100), ['Udp']);
    const rest0 = ipv4Fragments({ ...V4, id: 0 }, SEGMENT, [1480]).slice(1);
    assert.deepEqual(feed(t, rest0, T0 + 200), ['Fragment']);
  });

  test('datagrams are told apart by addresses, protocol and id', () => {
    const t = new TestDecoder();
    const a = ipv4Fragments(V4, SEGMENT, [1000, 1000]);
    const b = ipv4Fragments({ ...V4, id: 0x4243 }, SEGMENT, [1000, 1000]);
    const c = ipv4Fragments({ ...V4, src: '172.16.0.3' }, SEGMENT, [1000, 1000]);
    const tcpSeg = tcp({ srcPort: 5000, dstPort: 6000, flags: TcpFlags.ACK }, DATA);
    const d = ipv4Fragments({ ...V4, protocol: IpProtocol.TCP }, tcpSeg, [1000, 1000]);
    const results = feed(t, [
      a[0]!,
      b[0]!,
      c[0]!,
      d[0]!,
      a[1]!,
      b[1]!,
      c[1]!,
      d[1]!,
      d[2]!,
      c[2]!,
      b[2]!,
      a[2]!,
    ]);
    assert.deepEqual(results.slice(8), ['Tcp', 'Udp', 'Udp', 'Udp']);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('impossible and truncated fragments', () => {
    const t = new TestDecoder();
    // Offset 65528 + 16 bytes is past 65535.
    const far = ipv4(
      { ...V4, mf: true, fragmentOffset: 65528, transportChecksum: false },
      new Uint8Array(16),
    );
    assert.equal(t.decode(RAW, far).result, 'Fragment');
    assert.deepEqual(t.errorCounts(), { 'fragment.bad': 1 });
    // A fragment cut by the snap length cannot be reassembled.
    const t2 = new TestDecoder();
    assert.equal(t2.decode(RAW, pieces[0]!.subarray(0, 100), { wirelen: pieces[0]!.length }).result, 'Error');
    assert.deepEqual(t2.errorCounts(), { 'ipv4.truncated': 1 });
    // Two different last pieces (different total lengths).
    const t3 = new TestDecoder();
    feed(t3, [ipv4Fragment(V4, WHOLE, 1480, 8, false), ipv4Fragment(V4, WHOLE, 1480, 16, false)]);
    assert.deepEqual(t3.errorCounts(), { 'fragment.bad': 1 });
    assert.equal(t3.decoder.defrag.size, 0);
  });
});

describe('IPv6 fragments', () => {
  const base = { src: '2001:db8::1', dst: '2001:db8::2' };
  const seg = tcp({ srcPort: 7000, dstPort: 8000, seq: 1, ack: 2, flags: TcpFlags.PSH | TcpFlags.ACK }, DATA);

  test('a Hop-by-Hop header repeated in every fragment, a Destination Options header inside the payload', () => {
    const frags = ipv6Fragments(
      base,
      [{ type: 'hop-by-hop' }],
      [{ type: 'destination' }],
      IpProtocol.TCP,
      seg,
      [1232, 1232],
      0xabcdef01,
    );
    assert.equal(frags.length, 3);
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      const t = new TestDecoder();
      const results = feed(
        t,
        order.map((i) => frags[i]!),
      );
      assert.deepEqual(results, ['Fragment', 'Fragment', 'Tcp'], `order ${order}`);
      const d = t.decode(RAW, frags[order[2]!]!); // decode again: a new datagram, held
      assert.equal(d.result, 'Fragment');
    }
    const t = new TestDecoder();
    feed(t, frags.slice(0, 2));
    const d = t.decode(RAW, frags[2]!);
    assert.equal(d.result, 'Tcp');
    assert.equal(d.src, '2001:db8::1');
    assert.equal(d.srcPort, 7000);
    assert.equal(d.seq, 1);
    assert.deepEqual(d.payload, DATA);
    assert.deepEqual(t.errorCounts(), {});
  });

  test('Routing and Destination Options before the Fragment header, UDP inside', () => {
    const u = udp({ srcPort: 53, dstPort: 5353 }, DATA);
    const frags = ipv6Fragments(
      base,
      [{ type: 'hop-by-hop' }, { type: 'routing' }],
      [],
      IpProtocol.UDP,
      u,
      [1000],
      77,
    );
    const t = new TestDecoder();
    const results = feed(t, frags);
    assert.equal(results[results.length - 1], 'Udp');
    assert.deepEqual(t.errorCounts(), {});
  });

  test('a fragment header inside a reassembled payload is ipv6.bad_extension', () => {
    const whole = ipv6FragmentablePart(
      base,
      [{ type: 'fragment', offset: 8, more: true, id: 5 }],
      IpProtocol.TCP,
      seg,
    );
    const t = new TestDecoder();
    const results = feed(t, [
      ipv6Fragment(base, [], IpProtocol.FRAGMENT, whole, 0, 1000, true, 6),
      ipv6Fragment(base, [], IpProtocol.FRAGMENT, whole, 1000, whole.length - 1000, false, 6),
    ]);
    assert.deepEqual(results, ['Fragment', 'Error']);
    assert.deepEqual(t.errorCounts(), { 'ipv6.bad_extension': 1 });
  });

  test('an IPv6 fragment missing a piece times out', () => {
    const frags = ipv6Fragments(base, [], [], IpProtocol.TCP, seg, [1000, 1000], 9);
    const t = new TestDecoder();
    feed(t, [frags[0]!, frags[2]!]);
    assert.equal(t.decoder.defrag.size, 1);
    t.decode(RAW, frags[1]!.subarray(0, 40), { tsMicros: T0 + 40_000_000 }); // anything, 40 s later
    assert.equal(t.decoder.defrag.size, 0);
    assert.equal(t.errors.get('fragment.timeout'), 1);
  });
});

describe('Defragmenter bounds', () => {
  test('at most 64 pieces per datagram', () => {
    const errors = new ErrorCounters();
    const f = new Defragmenter(errors);
    const piece = new Uint8Array(8);
    for (let i = 0; i < 70; i++) f.add('k', i * 8, true, piece, 0, 8, T0);
    assert.equal(errors.get('fragment.bad'), 1);
    assert.ok(f.size <= 1);
  });

  test('duplicates cannot hold more than twice a maximal datagram', () => {
    const errors = new ErrorCounters();
    const f = new Defragmenter(errors);
    const piece = new Uint8Array(60000);
    assert.equal(f.add('k', 0, true, piece, 0, 60000, T0), null);
    assert.equal(f.add('k', 0, true, piece, 0, 60000, T0), null);
    assert.equal(errors.get('fragment.bad'), 0);
    assert.equal(f.add('k', 0, true, piece, 0, 60000, T0), null);
    assert.equal(errors.get('fragment.bad'), 1);
    assert.equal(f.size, 0);
  });
});

test('fragments whose pieces arrive in different reads of the file reassemble to the right bytes', async () => {
  const frags = ipv4Fragments(V4, SEGMENT, [1480, 1480]);
  const frames = frags.map((p) => ethernet({ etherType: EtherType.IPV4 }, p));
  const c = writePcap(
    { linkType: LinkType.ETHERNET },
    frames.map((data, i) => ({ data, sec: 1_700_000_000, frac: i })),
  );
  const path = writeFile(dir, 'frags.pcap', c.bytes);
  for (const chunkSize of [64, 1600, 4096]) {
    const errors = new ErrorCounters();
    const decoder = new Decoder(errors);
    const payloads: Uint8Array[] = [];
    await readCaptureFile(
      path,
      (pkt) => {
        if (decoder.decode(pkt) === DecodeResult.Udp) {
          const d = decoder.packet;
          payloads.push(d.data.slice(d.payloadOffset, d.payloadOffset + d.payloadLength));
        }
      },
      errors,
      { chunkSize },
    );
    assert.equal(payloads.length, 1, `chunk size ${chunkSize}`);
    assert.deepEqual(payloads[0], DATA, `chunk size ${chunkSize}: reassembled bytes`);
  }
});

test('a datagram still missing a piece when the file ends is counted as fragment.timeout', async () => {
  const frags = ipv4Fragments(V4, SEGMENT, [1480, 1480]);
  const frames = [frags[0]!, frags[2]!].map((p) => ethernet({ etherType: EtherType.IPV4 }, p));
  const c = writePcap(
    { linkType: LinkType.ETHERNET },
    frames.map((data, i) => ({ data, sec: 1_700_000_000, frac: i })),
  );
  const path = writeFile(dir, 'frags-incomplete.pcap', c.bytes);
  const { summary } = await analyzeFiles([path], { tracker: {}, progress: false }, () => {});
  assert.equal(summary.fragments, 2);
  assert.deepEqual(summary.errors, { 'fragment.timeout': 1 });
});
