/**
 * gRPC Length-Prefixed-Messages across arbitrary DATA boundaries, grpc-message percent-decoding,
 * and schemaless protobuf decoding (protobuf.dev Encoding), with a never-throw fuzz run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type GrpcMessage, GrpcMessageReader } from '../../../src/dissect/grpc/messages.js';
import { decodeGrpcMessage, grpcStatusName } from '../../../src/dissect/grpc/status.js';
import { decodeProtobuf } from '../../../src/dissect/protobuf/decode.js';
import { grpcMessage } from '../http2/builders.js';

function readAll(
  chunks: Uint8Array[],
  keep = 4096,
): { messages: GrpcMessage[]; errors: string[]; count: number } {
  const messages: GrpcMessage[] = [];
  const errors: string[] = [];
  const r = new GrpcMessageReader(
    (m) => messages.push(m),
    (e) => errors.push(e),
    keep,
  );
  for (const c of chunks) r.feed(c);
  return { messages, errors, count: r.count };
}

describe('gRPC Length-Prefixed-Message reader', () => {
  test('split-point property: any cut of a message sequence gives the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()), { maxLength: 8 }),
        fc.array(fc.nat(3000), { maxLength: 10 }),
        (msgs, cuts) => {
          const whole = Buffer.concat(msgs.map(([m, c]) => grpcMessage(m, c)));
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, whole.length]) {
            chunks.push(new Uint8Array(whole.subarray(prev, p)));
            prev = p;
          }
          const got = readAll(chunks);
          assert.deepEqual(
            got.messages.map((m) => [Buffer.from(m.data).toString('hex'), m.compressed, m.length]),
            msgs.map(([m, c]) => [Buffer.from(m).toString('hex'), c, m.length]),
          );
          assert.deepEqual(got.errors, []);
        },
      ),
    );
  });

  test('only the first keepBytes of a message are kept; its length stays exact', () => {
    const got = readAll([grpcMessage(new Uint8Array(10_000).fill(1))], 100);
    assert.equal(got.messages[0]!.length, 10_000);
    assert.equal(got.messages[0]!.data.length, 100);
  });

  test('a Compressed-Flag other than 0 or 1 is an error and stops the stream', () => {
    const got = readAll([Uint8Array.from([2, 0, 0, 0, 1, 9, 0, 0, 0, 0, 0])]);
    assert.equal(got.count, 0);
    assert.match(got.errors[0]!, /Compressed-Flag 2/);
  });
});

describe('gRPC status', () => {
  test('names and percent-decoded messages', () => {
    assert.equal(grpcStatusName(0), 'OK');
    assert.equal(grpcStatusName(16), 'UNAUTHENTICATED');
    assert.equal(grpcStatusName(99), 'code 99');
    assert.equal(decodeGrpcMessage('no%20such%20thing%3A%20%E2%9C%93'), 'no such thing: ✓');
    assert.equal(decodeGrpcMessage('100%'), '100%');
  });
});

describe('protobuf without a schema', () => {
  test('protobuf.dev examples: 150 as field 1, "testing" as field 2, a nested message as field 3', () => {
    assert.deepEqual(decodeProtobuf(Buffer.from('089601', 'hex')).fields, [
      { n: 1, wire: 'varint', value: 150 },
    ]);
    assert.deepEqual(decodeProtobuf(Buffer.from('120774657374696e67', 'hex')).fields, [
      { n: 2, wire: 'len', length: 7, text: 'testing' },
    ]);
    assert.deepEqual(decodeProtobuf(Buffer.from('1a03089601', 'hex')).fields, [
      { n: 3, wire: 'len', length: 3, message: [{ n: 1, wire: 'varint', value: 150 }] },
    ]);
  });
  test('fixed-width fields and varints past 2^53', () => {
    const r = decodeProtobuf(
      Buffer.from('0d01000000' + '11ffffffffffffffff' + '08ffffffffffffffffff01', 'hex'),
    );
    assert.deepEqual(r.fields, [
      { n: 1, wire: 'i32', value: 1 },
      { n: 2, wire: 'i64', value: '18446744073709551615' },
      { n: 1, wire: 'varint', value: '18446744073709551615' },
    ]);
  });
  test('truncations and bad wire types are errors, not exceptions', () => {
    assert.match(String(decodeProtobuf(Buffer.from('0a05616263', 'hex')).error), /runs past/);
    assert.match(String(decodeProtobuf(Buffer.from('0f', 'hex')).error), /wire type 7/);
    assert.match(String(decodeProtobuf(Buffer.from('08', 'hex')).error), /truncated varint/);
  });
  test('fuzz: random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        decodeProtobuf(b);
        readAll([b]);
      }),
      { numRuns: 3000 },
    );
  });
});
