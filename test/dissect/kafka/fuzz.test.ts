/**
 * Never-throw fuzzing: random bytes, and real-looking Kafka streams truncated, mutated and cut at
 * random points, through detection, the body parsers of every API key and version, and the session.
 * Nothing may throw (nor reach the session's safety net, which would hide a parser bug), nothing may
 * take long, buffers stay within their caps, and garbage is counted as a parse error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { API_KEYS } from '../../../src/dissect/kafka/apis.js';
import { parseRequestBody, parseResponseBody } from '../../../src/dissect/kafka/bodies.js';
import { detectKafka } from '../../../src/dissect/kafka/detect.js';
import { KafkaReader } from '../../../src/dissect/kafka/reader.js';
import { summarizeRecords } from '../../../src/dissect/kafka/records.js';
import { KafkaSession, KEEP_BYTES } from '../../../src/dissect/kafka/session.js';
import { concat, recordBatch, records, request, response, W } from './build.js';
import { context } from './support.js';

/** A client stream and the broker's answers: flexible and classic versions, records, tags. */
function seed(): [Uint8Array, Uint8Array] {
  const produce = request(
    { key: 0, version: 9, correlationId: 1, clientId: 'p', header: 2, headerTags: [[0, [1]]] },
    new W()
      .str(null, true)
      .i16(1)
      .i32(100)
      .array(['t'], true, (w, n) => {
        w.str(n, true)
          .array([0], true, (w2, p) => {
            w2.i32(p)
              .bytes(recordBatch({ records: 2, payload: records(['a', 'b']) }), true)
              .tags();
          })
          .tags();
      })
      .tags(),
  );
  const fetch = request(
    { key: 1, version: 4, correlationId: 2, clientId: 'c', header: 1 },
    new W()
      .i32(-1)
      .i32(1)
      .i32(1)
      .i32(100)
      .i8(0)
      .array(['t'], false, (w, n) => {
        w.str(n).array([0], false, (w2, p) => {
          w2.i32(p).i64(0).i32(100);
        });
      }),
  );
  const metadata = request(
    { key: 3, version: 1, correlationId: 3, clientId: 'c', header: 1 },
    new W().array(['t', 'u'], false, (w, n) => {
      w.str(n);
    }),
  );
  const produceResponse = response(
    1,
    1,
    new W()
      .array(['t'], true, (w, n) => {
        w.str(n, true)
          .array([0], true, (w2, p) => {
            w2.i32(p)
              .i16(0)
              .i64(1)
              .i64(-1)
              .i64(0)
              .array([], true, () => {})
              .str(null, true)
              .tags();
          })
          .tags();
      })
      .i32(0)
      .tags([[0, [1, 2]]]),
  );
  const fetchResponse = response(
    2,
    0,
    new W().i32(0).array(['t'], false, (w, n) => {
      w.str(n).array([0], false, (w2, p) => {
        w2.i32(p)
          .i16(1)
          .i64(3)
          .i64(3)
          .array([], false, () => {})
          .bytes(recordBatch({ records: 3 }));
      });
    }),
  );
  const metadataResponse = response(
    3,
    0,
    new W()
      .array([1], false, (w, id) => {
        w.i32(id).str('h').i32(9092).str(null);
      })
      .i32(1)
      .array(['t'], false, (w, n) => {
        w.i16(0)
          .str(n)
          .i8(0)
          .array([], false, () => {});
      }),
  );
  return [concat(produce, fetch, metadata), concat(produceResponse, fetchResponse, metadataResponse)];
}

const [CLIENT_STREAM, SERVER_STREAM] = seed();

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(
  seed: Uint8Array,
  ms: { kind: 'flip' | 'truncate' | 'insert'; at: number; value: number }[],
): Uint8Array {
  let b: Uint8Array = Uint8Array.from(seed);
  for (const m of ms) {
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = m.value;
    else if (m.kind === 'truncate') b = b.slice(0, Math.max(at, 1));
    else b = concat(b.subarray(0, at), Uint8Array.of(m.value), b.subarray(at));
  }
  return b;
}

/** Feeds both streams, cut at `cuts`, interleaved; returns the parse errors. */
function exercise(client: Uint8Array, server: Uint8Array, cuts: number[] = []): string[] {
  const start = performance.now();
  detectKafka(0, client);
  detectKafka(1, server);
  const ctx = context();
  const s = new KafkaSession(ctx);
  const points = (len: number) => [...new Set(cuts.map((c) => c % (len + 1)))].sort((a, b) => a - b);
  const pieces = (b: Uint8Array) => {
    const out: Uint8Array[] = [];
    let at = 0;
    for (const p of [...points(b.length), b.length]) {
      if (p > at) out.push(b.slice(at, p));
      at = Math.max(at, p);
    }
    return out;
  };
  const c = pieces(client);
  const r = pieces(server);
  for (let i = 0; i < Math.max(c.length, r.length); i++) {
    if (c[i]) s.onData(0, c[i]!, i * 10);
    assert.ok(s.buffered <= KEEP_BYTES);
    if (r[i]) s.onData(1, r[i]!, i * 10 + 5);
    assert.ok(s.buffered <= KEEP_BYTES);
  }
  s.onClose(1e9);
  assert.ok(performance.now() - start < 250, 'no input takes long');
  assert.deepEqual(
    ctx.errors.filter((e) => e.includes('internal error')),
    [],
    'no exception reached the safety net',
  );
  for (const e of ctx.entries) assert.deepEqual(JSON.parse(JSON.stringify(e)), e, 'entries are plain JSON');
  return ctx.errors;
}

describe('Kafka fuzz', () => {
  test('the seed streams are well-formed', () => {
    assert.deepEqual(exercise(CLIENT_STREAM, SERVER_STREAM), []);
    assert.equal(detectKafka(0, CLIENT_STREAM), 'yes');
  });

  test('body parsers of every API key and version on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const api of API_KEYS) {
          for (let v = 0; v <= api.maxVersion + 1; v++) {
            const q = parseRequestBody(new KafkaReader(b), api.key, v);
            const r = parseResponseBody(new KafkaReader(b), api.key, v);
            for (const body of [q, r]) assert.ok(body.error === null || typeof body.error === 'string');
          }
        }
        summarizeRecords(b);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes in both directions', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 500 }),
        fc.uint8Array({ maxLength: 500 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (a, b, cuts) => {
          exercise(a, b, cuts);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('mutated streams cut at random points', () => {
    let counted = 0;
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 5 }),
        fc.array(mutation, { minLength: 0, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (mc, ms, cuts) => {
          if (
            exercise(mutate(CLIENT_STREAM, mc), mutate(SERVER_STREAM, ms.length ? ms : mc), cuts).length > 0
          )
            counted++;
        },
      ),
      { numRuns: 2000 },
    );
    assert.ok(counted > 0, 'some mutations are counted as parse errors');
  });

  test('garbage after a request is counted once, and the session resumes at the next request', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 200 }), (junk) => {
        const bad = Uint8Array.from(junk);
        bad[4] = 0x7f; // an API key no one has: not a request start
        const ctx = context();
        const s = new KafkaSession(ctx);
        const produceSize = 4 + new DataView(CLIENT_STREAM.buffer, CLIENT_STREAM.byteOffset).getInt32(0);
        s.onData(0, CLIENT_STREAM.subarray(0, produceSize), 0);
        s.onData(0, bad, 1);
        s.onData(0, CLIENT_STREAM.subarray(produceSize), 3);
        s.onData(1, SERVER_STREAM, 4);
        s.onClose(5);
        assert.equal(ctx.errors.length, 1, ctx.errors.join('; '));
        assert.deepEqual(
          ctx.entries.map((e) => [e.method, e.error]),
          [
            ['Produce', null],
            ['Fetch', null],
            ['Metadata', null],
          ],
        );
      }),
      { numRuns: 300 },
    );
  });
});
