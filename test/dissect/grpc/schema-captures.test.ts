/**
 * The gRPC captures of test/captures/grpc with and without a schema. Without one, entries are as they
 * always were (no schema fields, messages schema-less). With protos/greet/greet.proto, the book's
 * four captures decode with field names exactly as tshark decodes them with the same file, each
 * method's streaming kind is the one its capture is named after, and nothing else of the entry moves.
 * With a schema that lacks a capture's method, the entry only gains `schema: 'none'` and why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyzeFiles } from '../../../src/cli/analyze.js';
import type { Entry } from '../../../src/dissect/entry.js';
import { type GrpcSchema, loadGrpcSchema } from '../../../src/dissect/grpc/schema.js';
import { parseDecodeAs } from '../../../src/dissect/registry.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';
import { GREET, INCLUDE, PROTOS, SHOP } from './protos.js';
import { podwireProtobufLines, tsharkProtobufLines } from './tshark-protobuf.js';

type Json = Record<string, unknown>;

const BOOK: { file: string; method: string; streaming: string }[] = [
  { file: 'Unary', method: 'Greet', streaming: 'unary' },
  { file: 'Server_Streaming', method: 'GreetManyTimes', streaming: 'server' },
  { file: 'Client_Streaming', method: 'LongGreet', streaming: 'client' },
  { file: 'Bidi_Streaming', method: 'GreetEveryone', streaming: 'bidi' },
];
const bookFile = (name: string) => `grpc/gRPC-Go-for-Professionals__${name}.pcapng`;
const ALL = [
  'grpc/deepflow__grpc-segmented.pcap',
  'grpc/deepflow__grpc-server-stream.pcap',
  'grpc/deepflow__grpc-unary.pcap',
  ...BOOK.map((b) => bookFile(b.file)),
];

async function entriesOf(relative: string, grpcSchema?: GrpcSchema): Promise<Entry[]> {
  const decodeAs = new Map<number, string>();
  for (const d of decodeAsFor(relative)) {
    const r = parseDecodeAs(d);
    if (r) decodeAs.set(r.port, r.name);
  }
  const entries: Entry[] = [];
  await analyzeFiles(
    [join(CAPTURES, relative)],
    {
      tracker: {},
      progress: false,
      decodeAs,
      ...(grpcSchema ? { grpcSchema } : {}),
      onEntry: (e) => entries.push(e),
    },
    () => {},
  );
  // Plain JSON, as every output format carries it.
  return JSON.parse(JSON.stringify(entries.sort((a, b) => a.timestamp - b.timestamp)));
}

const haveTshark = await tsharkAvailable();
const greet = loadGrpcSchema([GREET]);
const shop = loadGrpcSchema([SHOP], [INCLUDE]);

describe('gRPC captures without a schema', () => {
  for (const file of ALL) {
    test(`${file}: no schema fields, every whole message schema-less`, async () => {
      const entries = (await entriesOf(file)).filter((e) => e.protocol === 'grpc');
      assert.ok(entries.length > 0);
      for (const e of entries) {
        const req = e.request as Json;
        for (const k of ['schema', 'schemaError', 'fullMethod', 'streaming', 'requestType'])
          assert.equal(k in req, false, k);
        assert.equal('responseType' in ((e.response ?? {}) as Json), false);
        for (const side of [req, e.response as Json | null]) {
          for (const m of (side?.messages ?? []) as Json[]) {
            assert.equal('json' in m, false);
            assert.equal('schemaError' in m, false);
            if (!m.truncated && !m.compressed) assert.ok(Array.isArray(m.protobuf));
          }
        }
      }
    });
  }
});

describe('gRPC captures with a schema that lacks their methods', () => {
  for (const file of ALL.slice(0, 3)) {
    test(`${file}: the entry only gains schema 'none' and why`, async () => {
      const [without, withShop] = await Promise.all([entriesOf(file), entriesOf(file, shop)]);
      assert.equal(withShop.length, without.length);
      for (const [i, e] of withShop.entries()) {
        const req = e.request as Json;
        const path = e.path;
        assert.equal(req.schema, 'none');
        assert.equal(req.schemaError, `no method ${path} in the .proto files`);
        const { schema: _s, schemaError: _e, ...rest } = req;
        assert.deepEqual({ ...e, request: rest, id: without[i]!.id }, without[i]);
      }
    });
  }
});

describe('the book captures with greet.proto', () => {
  for (const b of BOOK) {
    const file = bookFile(b.file);
    test(`${file}: greet.GreetService.${b.method}, ${b.streaming}; nothing but the schema fields changes`, async () => {
      const [without, withGreet] = await Promise.all([entriesOf(file), entriesOf(file, greet)]);
      assert.equal(withGreet.length, without.length);
      // Unary.pcapng also holds mDNS and other traffic: those entries are untouched.
      const at = withGreet.findIndex((x) => x.protocol === 'grpc');
      assert.deepEqual(
        withGreet.filter((_, i) => i !== at),
        without.filter((_, i) => i !== at),
      );
      assert.equal(withGreet.filter((x) => x.protocol === 'grpc').length, 1);
      const e = withGreet[at]!;
      const req = e.request as Json & { messages: Json[] };
      const res = e.response as Json & { messages: Json[] };
      assert.equal(req.schema, 'proto');
      assert.equal(req.fullMethod, `greet.GreetService.${b.method}`);
      assert.equal(req.streaming, b.streaming);
      assert.equal(req.requestType, 'greet.GreetRequest');
      assert.equal(res.responseType, 'greet.GreetResponse');
      // Take the schema fields away and put each message's schema-less form back: the entry without a schema.
      const old = without[at]!;
      const oldReq = old.request as Json & { messages: Json[] };
      const oldRes = old.response as Json & { messages: Json[] };
      const strip = (
        side: Json & { messages: Json[] },
        before: Json & { messages: Json[] },
        drop: string[],
      ) => {
        const copy: Json = { ...side };
        for (const k of drop) delete copy[k];
        copy.messages = side.messages.map((m, i) => {
          assert.ok(m.json && typeof m.json === 'object', `message ${i} has json`);
          const { json: _j, ...rest } = m;
          return { ...rest, protobuf: before.messages[i]!.protobuf };
        });
        return copy;
      };
      assert.deepEqual(
        {
          ...e,
          request: strip(req, oldReq, ['schema', 'fullMethod', 'streaming', 'requestType']),
          response: strip(res, oldRes, ['responseType']),
        },
        old,
      );
    });
  }

  test('Unary: the request is {first_name: "Clement"}, the response {result: "Hello Clement"}', async () => {
    const e = (await entriesOf(bookFile('Unary'), greet)).find((x) => x.protocol === 'grpc');
    assert.deepEqual((e!.request as { messages: Json[] }).messages[0]!.json, { first_name: 'Clement' });
    assert.deepEqual((e!.response as { messages: Json[] }).messages[0]!.json, { result: 'Hello Clement' });
  });

  test('every named field as tshark decodes it with greet.proto', {
    skip: haveTshark ? false : 'tshark not installed',
  }, async () => {
    let total = 0;
    for (const b of BOOK) {
      const file = bookFile(b.file);
      const [entries, theirs] = await Promise.all([
        entriesOf(file, greet),
        tsharkProtobufLines(join(CAPTURES, file), decodeAsFor(file), [join(PROTOS, 'greet')]),
      ]);
      const ours = podwireProtobufLines(entries);
      assert.deepEqual(ours, theirs, file);
      total += ours.length;
    }
    // Unary 1+1, server streaming 1+10, client streaming 3+1, bidi 3+3 messages, one field each.
    assert.equal(total, 23);
  });
});
