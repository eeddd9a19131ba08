/**
 * One packet seen on two interfaces counts once: the copy is dropped when the same segment was seen
 * on another interface within the window; retransmissions and copies on the same wire are kept.
 * Packets are built byte by byte (test/support/packets.ts), as a bridge or a router would forward them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CrossInterfaceDedupe } from '../../src/agent/dedupe.js';
import { CapturedPacket, LinkType } from '../../src/capture/packet.js';
import { innermostIp } from '../../src/decode/tunnels.js';
import {
  EtherType,
  ethernet,
  geneve,
  gre,
  IpProtocol,
  ipv4,
  ipv6,
  TcpFlags,
  TunnelType,
  tcp,
  udp,
  vxlan,
} from '../support/packets.js';

interface Seg {
  id?: number;
  ttl?: number;
  seq?: number;
  ack?: number;
  tsval?: number;
  payload?: string;
  v6?: boolean;
}

function frame(s: Seg): Uint8Array {
  const options = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  new DataView(options.buffer).setUint32(4, s.tsval ?? 1000);
  const seg = tcp(
    {
      srcPort: 40000,
      dstPort: 8080,
      seq: s.seq ?? 1,
      ack: s.ack ?? 1,
      flags: TcpFlags.ACK | TcpFlags.PSH,
      options,
    },
    new TextEncoder().encode(s.payload ?? 'GET / HTTP/1.1\r\n\r\n'),
  );
  const ip = s.v6
    ? ipv6({ src: 'fd00::10', dst: 'fd00::11', hopLimit: s.ttl ?? 64 }, [], IpProtocol.TCP, seg)
    : ipv4(
        { src: '198.18.1.10', dst: '198.18.1.11', protocol: IpProtocol.TCP, id: s.id ?? 7, ttl: s.ttl ?? 64 },
        seg,
      );
  return ethernet({ etherType: s.v6 ? EtherType.IPV6 : EtherType.IPV4 }, ip);
}

function packet(bytes: Uint8Array, ts: number): CapturedPacket {
  const p = new CapturedPacket();
  p.data = bytes;
  p.offset = 0;
  p.caplen = bytes.length;
  p.wirelen = bytes.length;
  p.tsMicros = ts;
  p.linkType = LinkType.ETHERNET;
  return p;
}

describe('cross-interface dedupe', () => {
  test('the same segment on a second interface is a duplicate; on a third too', () => {
    const d = new CrossInterfaceDedupe();
    const f = frame({});
    assert.equal(d.isDuplicate(packet(f, 1_000), 0), false);
    assert.equal(d.isDuplicate(packet(f, 1_012), 1), true);
    assert.equal(d.isDuplicate(packet(f, 1_020), 2), true);
    assert.equal(d.duplicates, 2);
  });

  test('the copy may be handed over first, and long after (another ring, read later)', () => {
    const d = new CrossInterfaceDedupe();
    const f = frame({});
    assert.equal(d.isDuplicate(packet(f, 5_000), 1), false);
    assert.equal(d.isDuplicate(packet(f, 4_990), 0), true);
  });

  test('a copy on the same interface is kept (a duplicate on that wire)', () => {
    const d = new CrossInterfaceDedupe();
    const f = frame({});
    assert.equal(d.isDuplicate(packet(f, 1_000), 0), false);
    assert.equal(d.isDuplicate(packet(f, 1_001), 0), false);
    // ...and then counts once more across interfaces.
    assert.equal(d.isDuplicate(packet(f, 1_002), 1), true);
  });

  test('routed: a decremented TTL (and so another header checksum) is still the same packet', () => {
    const d = new CrossInterfaceDedupe();
    assert.equal(d.isDuplicate(packet(frame({ ttl: 64 }), 1_000), 0), false);
    assert.equal(d.isDuplicate(packet(frame({ ttl: 63 }), 1_030), 1), true);
    assert.equal(d.isDuplicate(packet(frame({ v6: true, ttl: 64 }), 2_000), 0), false);
    assert.equal(d.isDuplicate(packet(frame({ v6: true, ttl: 63 }), 2_030), 1), true);
  });

  test('a retransmission is not a copy: new IP identification, new TCP timestamp', () => {
    const d = new CrossInterfaceDedupe();
    assert.equal(d.isDuplicate(packet(frame({ id: 7, tsval: 1000 }), 1_000), 0), false);
    assert.equal(d.isDuplicate(packet(frame({ id: 8, tsval: 1000 }), 1_500), 1), false);
    assert.equal(d.isDuplicate(packet(frame({ id: 7, tsval: 1201 }), 1_600), 1), false);
    // Different sequence, acknowledgement or payload length: different segments.
    assert.equal(d.isDuplicate(packet(frame({ seq: 2 }), 1_700), 1), false);
    assert.equal(d.isDuplicate(packet(frame({ ack: 9 }), 1_700), 1), false);
    assert.equal(d.isDuplicate(packet(frame({ payload: 'GET /x HTTP/1.1\r\n\r\n' }), 1_700), 1), false);
  });

  test('outside the window, the same bytes are another packet', () => {
    const d = new CrossInterfaceDedupe(20_000);
    const f = frame({});
    assert.equal(d.isDuplicate(packet(f, 1_000_000), 0), false);
    assert.equal(d.isDuplicate(packet(f, 1_030_000), 1), false);
  });

  test('encapsulated on the uplink, plain on the veth: VXLAN (both ports), Geneve, IP in IP and GRE copies are caught', () => {
    // The node routes the pod's packet into the overlay: the inner TTL is one less.
    const plain = frame({});
    const inner = frame({ ttl: 63 });
    const innerIp = inner.subarray(14);
    const underlay = (protocol: number, payload: Uint8Array) =>
      ethernet(
        { etherType: EtherType.IPV4 },
        ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol, id: 999, ttl: 64 }, payload),
      );
    const overUdp = (port: number, payload: Uint8Array) =>
      underlay(IpProtocol.UDP, udp({ srcPort: 51000, dstPort: port }, payload));
    const wrapped = {
      'VXLAN 4789': overUdp(4789, vxlan(42, inner)),
      'VXLAN 8472': overUdp(8472, vxlan(1, inner)),
      'Geneve, Ethernet inside': overUdp(6081, geneve(7, TunnelType.BRIDGED, inner)),
      'Geneve, IP inside': overUdp(6081, geneve(7, EtherType.IPV4, innerIp)),
      'IP in IP': underlay(IpProtocol.IPIP, innerIp),
      'GRE with a key': underlay(IpProtocol.GRE, gre({ protocol: EtherType.IPV4, key: 5 }, innerIp)),
    };
    for (const [kind, outer] of Object.entries(wrapped)) {
      const d = new CrossInterfaceDedupe();
      assert.equal(d.isDuplicate(packet(plain, 1_000), 0), false, kind);
      assert.equal(d.isDuplicate(packet(outer, 1_030), 1), true, `${kind}: the copy on the uplink`);
      // And the other way round: the uplink's copy first.
      const e = new CrossInterfaceDedupe();
      assert.equal(e.isDuplicate(packet(outer, 2_000), 1), false, kind);
      assert.equal(e.isDuplicate(packet(plain, 2_010), 0), true, `${kind}: the copy on the veth`);
    }
    // Another segment inside the tunnel is another packet; a UDP datagram on 4789 without VXLAN's I
    // flag is not a tunnel, so it is only itself.
    const d = new CrossInterfaceDedupe();
    assert.equal(d.isDuplicate(packet(plain, 1_000), 0), false);
    assert.equal(
      d.isDuplicate(packet(overUdp(4789, vxlan(42, frame({ ttl: 63, seq: 2 }))), 1_010), 1),
      false,
    );
    assert.equal(d.isDuplicate(packet(overUdp(4789, vxlan(42, inner, 0x00)), 1_020), 1), false);
  });

  test('UDP and non-IP: UDP copies are caught; ARP is never a duplicate', () => {
    const d = new CrossInterfaceDedupe();
    const dns = ethernet(
      { etherType: EtherType.IPV4 },
      ipv4(
        { src: '198.18.1.10', dst: '198.18.1.2', protocol: IpProtocol.UDP, id: 3 },
        udp({ srcPort: 5353, dstPort: 53 }, new Uint8Array(30)),
      ),
    );
    assert.equal(d.isDuplicate(packet(dns, 1), 0), false);
    assert.equal(d.isDuplicate(packet(dns, 2), 1), true);
    const arp = ethernet({ etherType: EtherType.ARP }, new Uint8Array(28));
    assert.equal(d.isDuplicate(packet(arp, 3), 0), false);
    assert.equal(d.isDuplicate(packet(arp, 4), 1), false);
  });

  test('under load: 50,000 segments interleaved with their copies 2,000 packets later, every copy caught', () => {
    const d = new CrossInterfaceDedupe();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 50_000; i++) frames.push(frame({ id: i & 0xffff, seq: 1 + i * 100, tsval: i }));
    let dups = 0;
    for (let i = 0; i < frames.length + 2_000; i++) {
      if (i < frames.length && d.isDuplicate(packet(frames[i]!, i), 0)) dups++;
      const j = i - 2_000;
      if (j >= 0 && d.isDuplicate(packet(frames[j]!, j + 5), 1)) dups++;
    }
    assert.equal(dups, 50_000);
  });
});

describe('innermostIp (the tunnels the dedupe looks through)', () => {
  test('on mutated and cut tunnel frames: no exception, and an answer inside the frame or -1', () => {
    const inner = frame({ ttl: 63 });
    const seeds = [
      ethernet(
        { etherType: EtherType.IPV4 },
        ipv4(
          { src: '192.0.2.1', dst: '192.0.2.2', protocol: IpProtocol.UDP },
          udp({ srcPort: 1, dstPort: 4789 }, vxlan(1, inner)),
        ),
      ),
      ethernet(
        { etherType: EtherType.IPV4 },
        ipv4(
          { src: '192.0.2.1', dst: '192.0.2.2', protocol: IpProtocol.GRE },
          gre({ protocol: EtherType.IPV4 }, inner.subarray(14)),
        ),
      ),
    ];
    const scratch = { at: 0, type: 0 };
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (seed, flips, cut) => {
          const b = seed.slice();
          for (const [at, v] of flips) b[at % b.length] = v;
          const end = cut % (b.length + 1);
          const ip = innermostIp(LinkType.ETHERNET, b, 0, end, scratch);
          return ip === -1 || (ip >= 14 && ip < end);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
