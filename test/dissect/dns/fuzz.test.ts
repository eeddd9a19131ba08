/**
 * Never-throw fuzzing: random bytes and mutated valid messages — flipped bytes, truncations,
 * compression pointers planted anywhere (loops, forward and out-of-bounds pointers) — through
 * detection, the parser, the UDP handler and the TCP session. Nothing may throw or hang, and every
 * malformed message must be counted as a parse error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectDatagram, detectStream } from '../../../src/dissect/dns/detect.js';
import { parseMessage } from '../../../src/dissect/dns/parser.js';
import { DnsTcpSession } from '../../../src/dissect/dns/tcp.js';
import { DnsUdpHandler } from '../../../src/dissect/dns/udp.js';
import { a, message, name, opt, tcpFrame, u16 } from './build.js';
import { CLIENT, SERVER, tcpContext, udpContext } from './support.js';

/** A response using most decoders, compressed, to mutate. */
const SEED = message({
  id: 0x1234,
  flags: { qr: true, rd: true, ra: true },
  questions: [{ name: 'www.example.com', type: 65 }],
  answers: [
    { name: [0xc0, 12], type: 5, rdata: [3, 0x63, 0x64, 0x6e, 0xc0, 16] },
    {
      name: [0xc0, 12],
      type: 65,
      rdata: [...u16(1), 0, ...u16(1), ...u16(3), 2, 0x68, 0x32, ...u16(3), ...u16(2), 1, 187],
    },
    { name: [0xc0, 16], type: 257, rdata: [0, 5, ...Buffer.from('issueca.example')] },
    { name: [0xc0, 16], type: 33, rdata: [...u16(1), ...u16(1), ...u16(443), 0xc0, 12] },
  ],
  authority: [{ name: [0xc0, 16], type: 2, rdata: name('ns1.example.com') }],
  additional: [
    { name: 'ns1.example.com', type: 1, rdata: a('192.0.2.53') },
    opt(1232, [...u16(8), ...u16(7), ...u16(1), 24, 0, 198, 18, 14]),
  ],
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('pointer' as const),
    at: fc.nat(),
    target: fc.integer({ min: 0, max: 0x3fff }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

interface Mutation {
  kind: 'flip' | 'pointer' | 'truncate';
  at: number;
  value?: number;
  target?: number;
}

function mutate(seed: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(seed);
  for (const m of ms) {
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = m.value!;
    else if (m.kind === 'pointer' && at + 1 < b.length) {
      b[at] = 0xc0 | (m.target! >> 8);
      b[at + 1] = m.target! & 0xff;
    } else if (m.kind === 'truncate') b = b.slice(0, Math.max(at, 1));
  }
  return b;
}

/** Runs one input everywhere; returns whether the parser called it malformed. */
function exercise(b: Uint8Array): boolean {
  const start = performance.now();
  detectDatagram(b);
  detectStream(b);
  const { error } = parseMessage(b);
  parseMessage(b, { mdns: true });
  const udp = udpContext();
  const h = new DnsUdpHandler(udp);
  h.onDatagram(CLIENT, SERVER, b, 0);
  h.onDatagram(SERVER, CLIENT, b, 1);
  h.close(2);
  assert.equal(udp.errors.length, error ? 2 : 0, 'each malformed datagram is counted');
  const tcp = tcpContext();
  const s = new DnsTcpSession(tcp);
  s.onData(0, tcpFrame(b), 0);
  s.onData(1, b, 1);
  s.onClose(2);
  assert.ok(performance.now() - start < 250, 'no input takes long');
  return error !== null;
}

describe('DNS fuzz', () => {
  test('the seed is well-formed', () => {
    assert.equal(parseMessage(SEED).error, null);
    assert.equal(detectDatagram(SEED), 'yes');
  });

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        exercise(b);
      }),
      { numRuns: 3000 },
    );
  });

  test('random bytes behind a plausible header', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.uint8Array({ maxLength: 400 }),
        (flags, qd, an, body) => {
          exercise(Uint8Array.from([0, 1, ...u16(flags), ...u16(qd), ...u16(an), 0, 0, 0, 1, ...body]));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('mutated messages: flipped bytes, planted pointers, truncation', () => {
    let malformed = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
        if (exercise(mutate(SEED, ms))) malformed++;
      }),
      { numRuns: 5000 },
    );
    assert.ok(malformed > 0);
  });

  test('pointer loops and out-of-bounds pointers are parse errors', () => {
    const header = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
    for (const name of [
      [0xc0, 12], // to itself
      [0xc0, 14, 0xc0, 12], // forward, then back
      [1, 0x61, 0xc0, 12], // back to its own start
      [0xff, 0xff], // past the end
      [0xc0], // cut
    ]) {
      const b = Uint8Array.from([...header, ...name, 0, 1, 0, 1]);
      const udp = udpContext();
      new DnsUdpHandler(udp).onDatagram(SERVER, CLIENT, b, 0);
      assert.equal(udp.errors.length, 1, `${name}`);
    }
  });
});
