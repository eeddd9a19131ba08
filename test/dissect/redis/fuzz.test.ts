/**
 * Never-throw fuzzing of detection and the session: random bytes, and real streams (the zeek
 * captures' client and server bytes, and a synthetic stream with every RESP3 type) truncated,
 * flipped and cut into random segments, with random gaps. Nothing may throw or take long, what is
 * held stays bounded, every entry is plain JSON, and garbage is counted as parse errors.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectRedis } from '../../../src/dissect/redis/detect.js';
import { isTypeByte } from '../../../src/dissect/redis/resp.js';
import { MAX_PENDING } from '../../../src/dissect/redis/session.js';
import { tsharkAvailable, tsharkPayloads } from '../../reference/tshark.js';
import { CAPTURES } from '../../support/paths.js';
import { arr, bulk, Conn, cmd, err, int, push, simple } from './support.js';

const SYNTHETIC: [Buffer, Buffer] = [
  Buffer.from(
    cmd('HELLO', '3', 'AUTH', 'u', 'p') +
      cmd('SET', 'k', 'v') +
      'GET k\r\n' +
      cmd('SUBSCRIBE', 'a', 'b') +
      cmd('EVAL', 'return 1', '1', 'k') +
      cmd('X', 'k'),
  ),
  Buffer.from(
    '%1\r\n+proto\r\n:3\r\n' +
      simple('OK') +
      bulk('v') +
      push(bulk('subscribe'), bulk('a'), int(1)) +
      push(bulk('subscribe'), bulk('b'), int(2)) +
      push(bulk('message'), bulk('a'), bulk('hi')) +
      '|1\r\n+ttl\r\n:1\r\n*3\r\n,1.5\r\n(12345678901234567890\r\n=8\r\ntxt:abcd\r\n' +
      '~2\r\n#t\r\n_\r\n!5\r\nERR x\r\n$?\r\n;2\r\nab\r\n;0\r\n*?\r\n:1\r\n.\r\n' +
      err('ERR nope') +
      arr(bulk('x'), '$-1\r\n'),
  ),
];

/** The client and server bytes of each zeek capture (tshark's reassembly of each direction). */
async function captureStreams(): Promise<[Buffer, Buffer][]> {
  if (!(await tsharkAvailable())) return [];
  const out: [Buffer, Buffer][] = [];
  for (const f of [
    'zeek__attr.pcap',
    'zeek__pubsub-resp3.pcap',
    'zeek__stream.pcap',
    'zeek__pipelining-example.pcap',
  ]) {
    out.push(await tsharkPayloads(join(CAPTURES, 'redis', f), 6379));
  }
  return out;
}

const seeds = [SYNTHETIC, ...(await captureStreams())];

const plan = fc.record({
  seed: fc.nat(),
  flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
  truncate: fc.tuple(fc.nat(), fc.nat()),
  cuts: fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 8 }),
  gapAt: fc.option(fc.nat(), { nil: null }),
});

/** Feeds both directions interleaved, cut at `cuts`; returns the connection after close. */
function drive(client: Uint8Array, server: Uint8Array, cuts: number[], gapAt: number | null): Conn {
  const conn = new Conn();
  const start = performance.now();
  const pieces = (b: Uint8Array): Uint8Array[] => {
    const out: Uint8Array[] = [];
    let pos = 0;
    let i = 0;
    while (pos < b.length) {
      // At most ~256 pieces, so that the 200 kB streams stay quick.
      const n = cuts.length ? Math.max(cuts[i++ % cuts.length]!, b.length >> 8) : b.length;
      out.push(b.subarray(pos, pos + n));
      pos += n;
    }
    return out;
  };
  const c = pieces(client);
  const s = pieces(server);
  for (let i = 0; i < Math.max(c.length, s.length); i++) {
    if (c[i]) conn.c(c[i]!);
    if (gapAt !== null && i === gapAt % Math.max(1, s.length)) conn.session.onGap(1, 100, conn.ts);
    if (s[i]) conn.s(s[i]!);
    const { retained, pending } = conn.session.footprint;
    assert.ok(retained < 64 * 1024, `retained ${retained}`);
    assert.ok(pending <= MAX_PENDING);
  }
  const { entries } = conn.close();
  for (const e of entries) JSON.parse(JSON.stringify(e));
  assert.ok(performance.now() - start < 500, 'no input takes long');
  return conn;
}

describe('Redis fuzz', () => {
  test('seeds parse cleanly', () => {
    for (const [c, s] of seeds) {
      const conn = drive(c, s, [], null);
      assert.deepEqual(
        conn.ctx.errors.filter((e) => !e.includes('0x0a')),
        [],
      );
      assert.ok(conn.ctx.entries.length > 0);
    }
  });

  test('random bytes, both directions, random segments', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 5 }),
        (c, s, cuts) => {
          detectRedis(0, c);
          detectRedis(1, s);
          drive(c, s, cuts, null);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('server garbage that starts no RESP value, once in sync, is a parse error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (s) => {
        fc.pre(!isTypeByte(s[0]!));
        // After a first reply (a session's first bytes may be a message cut by the capture's start).
        const conn = new Conn();
        conn.c(cmd('PING')).s(simple('PONG'));
        conn.s(s);
        assert.equal(conn.close().errors.length, 1);
      }),
      { numRuns: 500 },
    );
  });

  test('real streams truncated, flipped, cut and with gaps', () => {
    let errors = 0;
    fc.assert(
      fc.property(plan, (p) => {
        const [c0, s0] = seeds[p.seed % seeds.length]!;
        const c = Uint8Array.from(c0.subarray(0, c0.length - (p.truncate[0] % (c0.length + 1))));
        const s = Uint8Array.from(s0.subarray(0, s0.length - (p.truncate[1] % (s0.length + 1))));
        for (const f of p.flips) {
          const target = f.at % 2 === 0 ? c : s;
          if (target.length) target[f.at % target.length] = f.value;
        }
        errors += drive(c, s, p.cuts, p.gapAt).ctx.errors.length;
      }),
      { numRuns: 500 },
    );
    assert.ok(errors > 0, 'some mutations are malformed');
  });
});
