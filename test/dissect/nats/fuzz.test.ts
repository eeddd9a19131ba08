/**
 * Never-throw fuzzing of NATS detection and the session: random bytes, and the real streams of
 * test/captures/nats (each direction's bytes, as tshark reassembles them) truncated, flipped, cut into
 * random segments, with gaps. Nothing may throw or take long, what is held stays bounded, entries
 * are plain JSON, and garbage is counted.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectNats } from '../../../src/dissect/nats/detect.js';
import { MAX_PENDING } from '../../../src/dissect/nats/session.js';
import { tsharkAvailable, tsharkPayloads } from '../../reference/tshark.js';
import { CAPTURES } from '../../support/paths.js';
import { Conn, INFO } from './support.js';

const SYNTHETIC: [Buffer, Buffer] = [
  Buffer.from(
    'CONNECT {"verbose":true,"pass":"x"}\r\nSUB a q 1\r\nPUB a r 3\r\nabc\r\nHPUB a 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\nUNSUB 1 2\r\nPING\r\nPONG\r\nBAD\r\n',
  ),
  Buffer.from(
    `${INFO}+OK\r\n+OK\r\n+OK\r\nMSG a 1 r 3\r\nabc\r\n+OK\r\nHMSG a 1 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n+OK\r\nPONG\r\nPING\r\n-ERR 'Unknown Protocol Operation'\r\n`,
  ),
];

async function captureStreams(): Promise<[Buffer, Buffer][]> {
  if (!(await tsharkAvailable())) return [];
  const out: [Buffer, Buffer][] = [];
  for (const f of readdirSync(join(CAPTURES, 'nats'))) {
    out.push(await tsharkPayloads(join(CAPTURES, 'nats', f), 4222));
  }
  return out;
}

const seeds = [SYNTHETIC, ...(await captureStreams())];

function drive(client: Uint8Array, server: Uint8Array, cuts: number[], gapAt: number | null): Conn {
  const conn = new Conn();
  const start = performance.now();
  const pieces = (b: Uint8Array): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let pos = 0, i = 0; pos < b.length; i++) {
      const n = cuts.length ? cuts[i % cuts.length]! : b.length;
      out.push(b.subarray(pos, pos + n));
      pos += n;
    }
    return out;
  };
  const c = pieces(client);
  const s = pieces(server);
  for (let i = 0; i < Math.max(c.length, s.length); i++) {
    if (s[i]) conn.s(s[i]!);
    if (gapAt !== null && i === gapAt % Math.max(1, c.length)) conn.session.onGap(0, 50, conn.ts);
    if (c[i]) conn.c(c[i]!);
    const { retained, pending } = conn.session.footprint;
    assert.ok(retained <= 80 * 1024, `retained ${retained}`);
    assert.ok(pending <= MAX_PENDING + 128);
  }
  conn.close();
  for (const e of conn.entries) JSON.parse(JSON.stringify(e));
  assert.ok(performance.now() - start < 500, 'no input takes long');
  return conn;
}

describe('NATS fuzz', () => {
  test('seeds', () => {
    for (const [c, s] of seeds) assert.ok(drive(c, s, [], null).entries.length > 0);
  });

  test('random bytes, both directions', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 5 }),
        (c, s, cuts) => {
          detectNats(0, c);
          detectNats(1, s);
          drive(c, s, cuts, null);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('a line that starts with no verb, once in sync, is counted', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,12}$/), (word) => {
        fc.pre(!['connect', 'pub', 'hpub', 'sub', 'unsub', 'ping', 'pong'].includes(word));
        // Once in sync (a session's first bytes may be a payload cut by the capture's start).
        const conn = new Conn().c('PING\r\n').c(`${word} x\r\n`).close();
        assert.equal(conn.errors.length, 1);
      }),
      { numRuns: 200 },
    );
  });

  test('real streams truncated, flipped, cut and with gaps', () => {
    let errors = 0;
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        fc.tuple(fc.nat(), fc.nat()),
        fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 6 }),
        fc.option(fc.nat(), { nil: null }),
        (seed, flips, truncate, cuts, gapAt) => {
          const [c0, s0] = seeds[seed % seeds.length]!;
          const c = Uint8Array.from(c0.subarray(0, c0.length - (truncate[0] % (c0.length + 1))));
          const s = Uint8Array.from(s0.subarray(0, s0.length - (truncate[1] % (s0.length + 1))));
          for (const f of flips) {
            const target = f.at % 2 === 0 ? c : s;
            if (target.length) target[f.at % target.length] = f.value;
          }
          errors += drive(c, s, cuts, gapAt).errors.length;
        },
      ),
      { numRuns: 1000 },
    );
    assert.ok(errors > 0);
  });
});
