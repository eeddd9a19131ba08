/**
 * Split-point properties for DNS over TCP (RFC 1035 §4.2.2): however the segments cut the stream —
 * several messages in one segment, one message across many, a cut inside the length prefix — the
 * framer yields the same messages and the session the same entries as for the stream in one piece.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LengthPrefixFramer } from '../../../src/dissect/dns/framer.js';
import { DnsTcpSession } from '../../../src/dissect/dns/tcp.js';
import { query, response, tcpFrame } from './build.js';
import { tcpContext } from './support.js';

/** Cuts `b` at the given points (any order, duplicates allowed). */
function cut(b: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...at, b.length]) {
    out.push(b.slice(prev, p));
    prev = p;
  }
  return out;
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const qname = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const exchange = fc.record({
  name: qname,
  type: fc.constantFrom(1, 28),
  addresses: fc.array(fc.ipV4(), { maxLength: 3 }),
  rcode: fc.constantFrom(0, 2, 3),
});

describe('DNS over TCP split points', () => {
  test('the framer yields the same messages however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, points) => {
          const stream = concat(messages.map(tcpFrame));
          const got: number[][] = [];
          const f = new LengthPrefixFramer();
          for (const part of cut(stream, points)) f.push(part, 0, (m) => got.push([...m]));
          assert.deepEqual(
            got,
            messages.map((m) => [...m]),
          );
          assert.equal(f.partial, false);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the session reports the same entries for every cut of both directions', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(exchange, { minLength: 1, maxLength: 5, selector: (e) => e.name }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (exchanges, cutsQ, cutsR, reverse) => {
          const queries = concat(exchanges.map((e, i) => tcpFrame(query(i + 1, e.name, e.type))));
          const order = reverse ? [...exchanges.keys()].reverse() : [...exchanges.keys()];
          const responses = concat(
            order.map((i) => {
              const e = exchanges[i]!;
              return tcpFrame(response(i + 1, e.name, e.addresses, e.rcode, e.type));
            }),
          );
          const run = (q: Uint8Array[], r: Uint8Array[]) => {
            const ctx = tcpContext();
            const s = new DnsTcpSession(ctx);
            for (const part of q) s.onData(0, part, 0);
            for (const part of r) s.onData(1, part, 0);
            s.onClose(0);
            assert.deepEqual(ctx.errors, []);
            return ctx.entries;
          };
          const whole = run([queries], [responses]);
          assert.equal(whole.length, exchanges.length);
          assert.ok(whole.every((e) => e.error === null && e.response !== null));
          assert.deepEqual(run(cut(queries, cutsQ), cut(responses, cutsR)), whole);
        },
      ),
      { numRuns: 200 },
    );
  });
});
