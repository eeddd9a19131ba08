/**
 * The connection table: one lookup finds a connection from either direction, the hash is the same
 * both ways, and connections whose hashes collide share a chain that lookups, removal and iteration
 * walk correctly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { DecodedPacket } from '../../src/decode/packet.js';
import { Connection } from '../../src/flows/connection.js';
import { FlowTable, packetHash } from '../../src/flows/flow-table.js';
import { segment } from '../support/segments.js';

let nextId = 1;

/** A connection keyed like the tracker keys it: src/dst taken from the packet as sent. */
function connFor(d: DecodedPacket, hash = packetHash(d)): Connection {
  const c = new Connection(nextId++);
  c.hash = hash;
  c.ipVersion = d.ipVersion;
  [c.s0, c.s1, c.s2, c.s3, c.srcPort] = [d.src0, d.src1, d.src2, d.src3, d.srcPort];
  [c.d0, c.d1, c.d2, c.d3, c.dstPort] = [d.dst0, d.dst1, d.dst2, d.dst3, d.dstPort];
  return c;
}

function reverse(d: DecodedPacket): DecodedPacket {
  const r = segment({ src: '0.0.0.0', dst: '0.0.0.0', sport: d.dstPort, dport: d.srcPort });
  [r.src0, r.src1, r.src2, r.src3] = [d.dst0, d.dst1, d.dst2, d.dst3];
  [r.dst0, r.dst1, r.dst2, r.dst3] = [d.src0, d.src1, d.src2, d.src3];
  r.ipVersion = d.ipVersion;
  return r;
}

const pkt = (src: string, sport: number, dst: string, dport: number): DecodedPacket =>
  segment({ src, dst, sport, dport });

const wordArb = fc.integer({ min: 0, max: 0xffffffff });
const endpointArb = fc.record({
  w: fc.tuple(wordArb, wordArb, wordArb, wordArb),
  port: fc.integer({ min: 0, max: 0xffff }),
});

function fromEndpoints(
  a: { w: [number, number, number, number]; port: number },
  b: { w: [number, number, number, number]; port: number },
): DecodedPacket {
  const d = segment({ src: '::', dst: '::', sport: a.port, dport: b.port });
  [d.src0, d.src1, d.src2, d.src3] = a.w;
  [d.dst0, d.dst1, d.dst2, d.dst3] = b.w;
  return d;
}

describe('packetHash', () => {
  test('is the same both ways', () => {
    fc.assert(
      fc.property(endpointArb, endpointArb, (a, b) => {
        assert.equal(packetHash(fromEndpoints(a, b)), packetHash(fromEndpoints(b, a)));
      }),
      { numRuns: 500 },
    );
  });

  test('depends on every address word and port', () => {
    const base = pkt('10.0.0.1', 1234, '10.0.0.2', 80);
    const h = packetHash(base);
    const variants: ((d: DecodedPacket) => void)[] = [
      (d) => {
        d.src3 ^= 1;
      },
      (d) => {
        d.dst3 ^= 1;
      },
      (d) => {
        d.src0 = 1;
      },
      (d) => {
        d.dst1 = 1;
      },
      (d) => {
        d.srcPort++;
      },
      (d) => {
        d.dstPort++;
      },
    ];
    for (const change of variants) {
      const d = pkt('10.0.0.1', 1234, '10.0.0.2', 80);
      change(d);
      assert.notEqual(packetHash(d), h);
    }
    // Swapping only the ports (not the addresses) is another connection.
    assert.notEqual(packetHash(pkt('10.0.0.1', 80, '10.0.0.2', 1234)), h);
  });

  test('spreads ordinary client ports over distinct hashes', () => {
    const seen = new Set<number>();
    for (let port = 30000; port < 40000; port++) seen.add(packetHash(pkt('10.0.0.1', port, '10.0.0.2', 80)));
    assert.ok(seen.size >= 9990, `${seen.size} distinct hashes of 10000`);
  });
});

describe('FlowTable', () => {
  test('finds a connection from either direction and says which', () => {
    const t = new FlowTable();
    const d = pkt('10.0.0.1', 40000, '10.0.0.2', 443);
    const c = connFor(d);
    t.insert(c);
    assert.equal(t.size, 1);
    assert.equal(t.find(d, packetHash(d)), c);
    assert.equal(t.direction, 0);
    const r = reverse(d);
    assert.equal(t.find(r, packetHash(r)), c);
    assert.equal(t.direction, 1);
    // Same addresses, other port; same ports, other address; the IPv4-compatible IPv6 addresses
    // (::10.0.0.1, which differ from the IPv4-mapped form only in their third word).
    for (const other of [
      pkt('10.0.0.1', 40001, '10.0.0.2', 443),
      pkt('10.0.0.3', 40000, '10.0.0.2', 443),
      pkt('::a00:1', 40000, '::a00:2', 443),
    ]) {
      assert.equal(t.find(other, packetHash(d)), null, 'looked up in the same bucket: the key decides');
    }
  });

  test('IPv6 connections are found both ways', () => {
    const t = new FlowTable();
    const d = pkt('2001:db8::1', 5000, '2001:db8::2', 6000);
    const c = connFor(d);
    t.insert(c);
    const r = reverse(d);
    assert.equal(t.find(r, packetHash(r)), c);
    assert.equal(t.direction, 1);
    // An address that differs only in its first word is another connection.
    const near = pkt('2001:db9::1', 5000, '2001:db8::2', 6000);
    assert.equal(t.find(near, packetHash(d)), null);
  });

  /** Five connections forced into one bucket. */
  function chain(): { t: FlowTable; pkts: DecodedPacket[]; conns: Connection[] } {
    const t = new FlowTable();
    const pkts = [0, 1, 2, 3, 4].map((i) => pkt('10.0.0.1', 40000 + i, '10.0.0.2', 80));
    const conns = pkts.map((d) => connFor(d, 7));
    for (const c of conns) t.insert(c);
    return { t, pkts, conns };
  }

  test('connections with equal hashes are chained, and each is found both ways', () => {
    const { t, pkts, conns } = chain();
    assert.equal(t.size, 5);
    pkts.forEach((d, i) => {
      assert.equal(t.find(d, 7), conns[i]);
      assert.equal(t.direction, 0);
      assert.equal(t.find(reverse(d), 7), conns[i]);
      assert.equal(t.direction, 1);
    });
    assert.equal(t.find(pkt('10.0.0.1', 40009, '10.0.0.2', 80), 7), null, 'not in the chain');
    assert.equal(t.find(pkts[0]!, 8), null, 'another bucket');
  });

  for (const [where, index] of [
    ['head', 4], // the last inserted is the head of the chain
    ['middle', 2],
    ['tail', 0],
  ] as const) {
    test(`removing from the ${where} of a chain keeps the others findable`, () => {
      const { t, pkts, conns } = chain();
      t.remove(conns[index]!);
      assert.equal(t.size, 4);
      assert.equal(conns[index]!.nextInBucket, null);
      pkts.forEach((d, i) => {
        assert.equal(t.find(d, 7), i === index ? null : conns[i]);
      });
      assert.deepEqual(
        [...t].map((c) => c.id).sort((a, b) => a - b),
        conns
          .filter((_, i) => i !== index)
          .map((c) => c.id)
          .sort((a, b) => a - b),
      );
    });
  }

  test('removing every connection of a chain, in any order, empties the table', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 5, maxLength: 5 }), (order) => {
        const { t, pkts, conns } = chain();
        const left = new Set([0, 1, 2, 3, 4]);
        for (const i of order) {
          t.remove(conns[i]!);
          left.delete(i);
          pkts.forEach((d, j) => {
            assert.equal(t.find(d, 7), left.has(j) ? conns[j] : null);
          });
          assert.equal(t.size, left.size);
          assert.equal([...t].length, left.size);
        }
        assert.deepEqual([...t], []);
      }),
      { numRuns: 120 },
    );
  });

  test('removing a connection that is not in the table changes nothing', () => {
    const { t, conns } = chain();
    const stranger = connFor(pkt('10.9.9.9', 1, '10.9.9.8', 2), 7);
    t.remove(stranger);
    t.remove(connFor(pkt('10.9.9.9', 1, '10.9.9.8', 2), 99));
    assert.equal(t.size, 5);
    assert.equal([...t].length, 5);
    t.remove(conns[0]!);
    t.remove(conns[0]!);
    assert.equal(t.size, 4);
  });

  test('iteration visits every connection once, across buckets and chains', () => {
    const t = new FlowTable();
    const conns: Connection[] = [];
    for (let i = 0; i < 50; i++) {
      // Ten buckets of five.
      const c = connFor(pkt('10.0.0.1', 1000 + i, '10.0.0.2', 80), i % 10);
      conns.push(c);
      t.insert(c);
    }
    const seen = [...t];
    assert.equal(seen.length, 50);
    assert.equal(new Set(seen).size, 50);
    for (const c of conns) assert.ok(seen.includes(c));
  });
});
