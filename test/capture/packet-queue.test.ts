/**
 * The agent's queue between the kernel rings and the pipeline (src/capture/packet-queue.ts):
 * whatever it accepts comes out byte for byte, with its header, in the order it went in; it refuses
 * only when it is really full; the deadline bounds a slice. Checked against a plain array model on
 * random sequences of pushes and drains (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CapturedPacket } from '../../src/capture/packet.js';
import { PacketQueue } from '../../src/capture/packet-queue.js';

const CAPACITY = 65_536;

interface Model {
  bytes: Uint8Array;
  ts: number;
  iface: number;
  linkType: number;
  wirelen: number;
}

/** A packet of `len` bytes at offset 3 of a larger buffer (as a source's chunk holds it). */
function packet(len: number, n: number): CapturedPacket {
  const p = new CapturedPacket();
  const buf = new Uint8Array(len + 7);
  for (let i = 0; i < buf.length; i++) buf[i] = (n * 31 + i * 7) & 0xff;
  p.data = buf;
  p.offset = 3;
  p.caplen = len;
  p.wirelen = len + (n % 5);
  p.tsMicros = 1_700_000_000_000_000 + n;
  p.interfaceId = n % 4;
  p.linkType = n % 2 ? 1 : 113;
  return p;
}

function copyOf(p: CapturedPacket): Model {
  return {
    bytes: p.data.slice(p.offset, p.offset + p.caplen),
    ts: p.tsMicros,
    iface: p.interfaceId,
    linkType: p.linkType,
    wirelen: p.wirelen,
  };
}

const op = fc.oneof(
  // Packet sizes from empty to 9,000 bytes (an offloaded segment), most of them small as on a real wire; more
  // pushes than drains, and drains of a few packets, so that the queue fills and wraps around.
  {
    weight: 3,
    arbitrary: fc.record({
      push: fc.oneof(fc.integer({ min: 0, max: 1_600 }), fc.integer({ min: 0, max: 9_000 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ drain: fc.integer({ min: 1, max: 4 }) }) },
);

describe('PacketQueue', () => {
  test('FIFO, byte for byte, headers kept; refuses only when full; bytes within the capacity', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 600, size: 'max' }), (ops) => {
        const q = new PacketQueue(CAPACITY);
        const model: Model[] = [];
        let n = 0;
        let refused = 0;
        /** Takes k packets (all when fewer wait): the handler stops the drain by throwing. */
        const take = (k: number) => {
          let i = 0;
          const stop = new Error('stop');
          try {
            const handed = q.drain((p) => {
              const want = model.shift();
              assert.ok(want, 'the queue handed a packet it was never given');
              assert.deepEqual(copyOf(p), want);
              if (++i === k) throw stop;
            });
            assert.equal(handed, i);
          } catch (err) {
            if (err !== stop) throw err;
          }
        };
        for (const o of ops) {
          if ('push' in o) {
            const p = packet(o.push, n++);
            const before = q.bytes;
            if (q.push(p)) model.push(copyOf(p));
            else {
              refused++;
              // Refused only when even the best layout could not hold it (the end skipped on wrap).
              assert.ok(before + 2 * Math.max(1, o.push) > CAPACITY, `refused ${o.push} with ${before} held`);
            }
          } else take(o.drain);
          assert.equal(q.length, model.length);
          assert.ok(q.bytes <= CAPACITY);
          // Held: the packets (an empty one takes a byte), plus at most one skipped end, shorter
          // than the largest packet.
          const sum = model.reduce((a, m) => a + Math.max(1, m.bytes.length), 0);
          assert.ok(q.bytes >= sum && q.bytes < sum + 9_001, `${q.bytes} held for ${sum} bytes of packets`);
          assert.equal(q.oldestTs, model.length ? model[0]!.ts : Number.POSITIVE_INFINITY);
        }
        assert.equal(q.refused, refused);
        take(Number.POSITIVE_INFINITY);
        assert.equal(model.length, 0);
        assert.equal(q.bytes, 0);
      }),
      { numRuns: 300 },
    );
  });

  test('an empty queue takes any packet up to its capacity; starts again at the front when emptied', () => {
    const q = new PacketQueue(CAPACITY);
    assert.equal(q.push(packet(CAPACITY, 1)), true);
    assert.equal(q.push(packet(1, 2)), false);
    assert.equal(
      q.drain(() => {}),
      1,
    );
    assert.equal(q.bytes, 0);
    assert.equal(q.push(packet(CAPACITY + 1, 3)), false, 'larger than the whole queue');
    assert.equal(q.refused, 2);
  });

  test('a slice stops at the deadline (checked every 64 packets) but always hands one over', () => {
    const q = new PacketQueue(CAPACITY);
    for (let i = 0; i < 1000; i++) assert.ok(q.push(packet(60, i)));
    let clock = 0;
    assert.equal(
      q.drain(
        () => {},
        10,
        () => clock++,
      ),
      64 * 11,
      'the clock passes 10 at its 11th reading',
    );
  });

  test('a throwing handler does not get the same packet again', () => {
    const q = new PacketQueue(CAPACITY);
    q.push(packet(10, 1));
    q.push(packet(10, 2));
    assert.throws(() =>
      q.drain(() => {
        throw new Error('boom');
      }),
    );
    const seen: number[] = [];
    q.drain((p) => seen.push(p.tsMicros));
    assert.deepEqual(seen, [1_700_000_000_000_002]);
  });
});
