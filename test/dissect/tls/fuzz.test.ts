/**
 * Never-throw fuzzing of the TLS session: random bytes, and real conversations with bytes flipped,
 * fed in random chunks to both directions; and memory stays bounded when a peer announces handshake
 * messages of the largest size the spec allows (2^24-1 bytes, RFC 8446 §4).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TlsSession } from '../../../src/dissect/tls/session.js';
import {
  appData,
  ccs,
  certificate,
  clientHello,
  FIXTURE_CERT,
  handshake,
  recordingContext,
  records,
  serverHello,
  serverHelloDone,
} from './build.js';

const conversation = [
  {
    dir: 0 as const,
    bytes: records(22, clientHello({ sni: 'f.test', alpn: ['h2'], versions: [0x0304, 0x0303] }), 100),
  },
  {
    dir: 1 as const,
    bytes: records(22, Buffer.concat([serverHello(), certificate([FIXTURE_CERT]), serverHelloDone()]), 300),
  },
  { dir: 0 as const, bytes: Buffer.concat([ccs(), appData(50)]) },
  { dir: 1 as const, bytes: Buffer.concat([ccs(), appData(70)]) },
];

describe('TLS fuzz', () => {
  test('random bytes in random chunks: no throw', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dir: fc.constantFrom(0 as const, 1 as const),
            bytes: fc.uint8Array({ maxLength: 600 }),
          }),
          {
            maxLength: 12,
          },
        ),
        (chunks) => {
          const { ctx, out } = recordingContext();
          const s = new TlsSession(ctx);
          for (const c of chunks) s.onData(c.dir, c.bytes, 1);
          s.onClose(2);
          assert.ok(out.entries.length <= chunks.length + 1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('valid handshakes with flipped bytes: no throw, problems counted', () => {
    let errors = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.nat(5000), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.nat(5000), { maxLength: 5 }),
        (flips, gaps) => {
          const flights = conversation.map((f) => ({ dir: f.dir, bytes: Buffer.from(f.bytes) }));
          for (const [i, at, x] of flips) {
            const b = flights[i]!.bytes;
            const j = at % Math.max(b.length, 1);
            if (j < b.length) b[j] = b[j]! ^ x;
          }
          const { ctx, out } = recordingContext();
          const s = new TlsSession(ctx);
          flights.forEach((f, i) => {
            const g = gaps[i];
            if (g !== undefined && g < f.bytes.length) {
              s.onData(f.dir, f.bytes.subarray(0, g), 1);
              s.onGap(f.dir, 3, 1);
              s.onData(f.dir, f.bytes.subarray(g + 3), 1);
            } else s.onData(f.dir, f.bytes, 1);
          });
          s.onClose(2);
          errors += out.parseErrors.length;
          for (const e of out.entries) assert.equal(e.method, 'handshake');
        },
      ),
      { numRuns: 1500 },
    );
    assert.ok(errors > 0, 'corruption shows up as parse errors');
  });

  test('a 16 MiB Certificate is skipped without being held, and the handshake still completes', () => {
    const { ctx, out } = recordingContext();
    const s = new TlsSession(ctx);
    s.onData(0, records(22, clientHello({ sni: 'big.test' })), 1);
    const length = (1 << 24) - 1;
    s.onData(1, records(22, serverHello()), 2);
    // Header of a maximal Certificate message, then its body in 16 KiB records.
    s.onData(1, records(22, Buffer.from([11, length >> 16, (length >> 8) & 255, length & 255])), 2);
    const before = process.memoryUsage().arrayBuffers;
    const chunk = records(22, Buffer.alloc(1 << 14, 0x30));
    let sent = 0;
    while (sent + (1 << 14) <= length) {
      s.onData(1, chunk, 2);
      sent += 1 << 14;
    }
    s.onData(1, records(22, Buffer.alloc(length - sent, 0x30)), 2);
    const grown = process.memoryUsage().arrayBuffers - before;
    s.onData(1, records(22, serverHelloDone()), 3);
    assert.ok(grown < 4 << 20, `memory grew by ${grown} bytes`);
    assert.equal(out.entries.length, 1);
    assert.equal(out.entries[0]!.path, 'big.test');
    assert.match(String(out.entries[0]!.error), /not kept/);
    assert.equal(out.parseErrors.length, 1);
    s.onClose(4);
  });

  test('a record header claiming more than 2^14+2048 bytes is malformed', () => {
    const { ctx, out } = recordingContext();
    const s = new TlsSession(ctx);
    s.onData(0, Buffer.from([22, 3, 3, 0xff, 0xff, 1, 0, 0, 0]), 1);
    s.onData(0, records(22, handshake(1, Buffer.alloc(3))), 1);
    s.onClose(2);
    assert.ok(out.parseErrors.some((e) => /2\^14\+2048/.test(e)));
  });
});
