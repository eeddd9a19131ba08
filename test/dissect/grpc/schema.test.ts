/**
 * gRPC with a schema, piece by piece: loading .proto files (imports, include directories, the
 * well-known types, errors with file and line), finding a method by its :path, decoding a message
 * with its type (bytes written by hand from protobuf.dev "Encoding"), the bounds on what is shown,
 * the HTTP/2 session with a schema, and a never-throw fuzz run over real and mutated messages.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { GrpcMessage } from '../../../src/dissect/grpc/messages.js';
import { type GrpcSchema, loadGrpcSchema } from '../../../src/dissect/grpc/schema.js';
import { messageDetail } from '../../../src/dissect/grpc/summary.js';
import { Http2Session, http2Dissector, withGrpcSchema } from '../../../src/dissect/http2/index.js';
import { loadProtoFiles, ProtoLoadError } from '../../../src/dissect/protobuf/load.js';
import { MAX_ITEMS, MAX_STRING } from '../../../src/dissect/protobuf/typed.js';
import { TCP_DISSECTORS } from '../../../src/dissect/registry.js';
import {
  type Detail,
  data,
  grpcMessage,
  HeaderWriter,
  PREFACE,
  RecordingContext,
  settings,
} from '../http2/builders.js';
import { GREET, INCLUDE, SHOP } from './protos.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const shop = loadGrpcSchema([SHOP], [INCLUDE]);
const getOrder = shop.method('/podwire.test.shop.Shop/GetOrder')!;
const Order = getOrder.response;

const tmp = mkdtempSync(join(tmpdir(), 'podwire-proto-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
/** Writes `files` (name -> text) under a fresh directory; returns it. */
function protoDir(files: Record<string, string>): string {
  const dir = join(tmp, String(++n));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function loadError(files: string[], dirs: string[] = []): ProtoLoadError {
  try {
    loadProtoFiles(files, dirs);
  } catch (err) {
    if (err instanceof ProtoLoadError) return err;
    throw err;
  }
  assert.fail('loaded without error');
}

describe('loading .proto files', () => {
  test('shop.proto: four methods, found by :path, with their streaming kinds and types', () => {
    assert.equal(shop.size, 4);
    const kinds = ['GetOrder', 'WatchOrder', 'AddItems', 'Chat'].map((m) => {
      const x = shop.method(`/podwire.test.shop.Shop/${m}`)!;
      return [x.fullName, x.streaming];
    });
    assert.deepEqual(kinds, [
      ['podwire.test.shop.Shop.GetOrder', 'unary'],
      ['podwire.test.shop.Shop.WatchOrder', 'server'],
      ['podwire.test.shop.Shop.AddItems', 'client'],
      ['podwire.test.shop.Shop.Chat', 'bidi'],
    ]);
    assert.equal(shop.method('/podwire.test.shop.Shop/getorder'), null);
    assert.equal(shop.method('/podwire.test.shop.Shop'), null);
    assert.equal(shop.method('/__proto__/constructor'), null);
  });

  test('an import is found beside the importing file, and a file named twice loads once', () => {
    const dir = protoDir({
      'a.proto': 'syntax = "proto3"; package p; import "b.proto"; service S { rpc M(B) returns (B); }',
      'b.proto': 'syntax = "proto3"; package p; message B { int32 x = 1; }',
    });
    const s = loadGrpcSchema([join(dir, 'a.proto'), join(dir, 'b.proto'), join(dir, '.', 'a.proto')]);
    assert.equal(s.method('/p.S/M')!.request.name, 'p.B');
  });

  test('include directories come first, in order (protoc -I)', () => {
    const dir = protoDir({
      'main/a.proto': 'syntax = "proto3"; package p; import "dep.proto"; service S { rpc M(D) returns (D); }',
      'main/dep.proto': 'syntax = "proto3"; package p; message D { int32 beside = 1; }',
      'inc1/dep.proto': 'syntax = "proto3"; package p; message D { int32 first = 1; }',
      'inc2/dep.proto': 'syntax = "proto3"; package p; message D { int32 second = 1; }',
    });
    const s = loadGrpcSchema([join(dir, 'main/a.proto')], [join(dir, 'inc1'), join(dir, 'inc2')]);
    assert.deepEqual(s.method('/p.S/M')!.request.decode(hex('08 01')).json, { first: 1 });
  });

  test('well-known types: bundled ones, and descriptor.proto from protobufjs for custom options', () => {
    const dir = protoDir({
      'a.proto': `syntax = "proto3"; package p;
        import "google/protobuf/descriptor.proto";
        import "google/protobuf/duration.proto";
        import "google/protobuf/wrappers.proto";
        extend google.protobuf.FieldOptions { string label = 50000; }
        message R { google.protobuf.Duration d = 1 [(label) = "x"]; google.protobuf.StringValue s = 2; }
        service S { rpc M(R) returns (R); }`,
    });
    const r = loadGrpcSchema([join(dir, 'a.proto')]).method('/p.S/M')!.request;
    // d = 1 { seconds = 3 }, s = 2 { value = "hi" }.
    assert.deepEqual(r.decode(hex('0a02 0803 1204 0a02 6869')).json, {
      d: { seconds: '3' },
      s: { value: 'hi' },
    });
  });

  test('an import cycle does not loop', () => {
    const dir = protoDir({
      'a.proto':
        'syntax = "proto3"; package p; import "b.proto"; message A { B b = 1; } service S { rpc M(A) returns (B); }',
      'b.proto': 'syntax = "proto3"; package p; import "a.proto"; message B { A a = 1; }',
    });
    assert.equal(loadGrpcSchema([join(dir, 'a.proto')]).size, 1);
  });

  test('a syntax error names the file and line', () => {
    const dir = protoDir({ 'bad.proto': 'syntax = "proto3";\npackage p;\nmessage A {\n  string a = 1\n}\n' });
    const e = loadError([join(dir, 'bad.proto')]);
    assert.equal(e.line, 5);
    assert.match(e.message, /bad\.proto:5: illegal token '}'/);
  });

  test('a missing import names the importing file, the line and where it looked', () => {
    const e = loadError([SHOP]);
    assert.equal(e.file, SHOP);
    assert.equal(e.line, 9);
    assert.match(
      e.detail,
      /import "podwire\/common\/money\.proto" not found \(looked in .*protos; add its directory with --proto-path\)/,
    );
  });

  test('an unknown type names the file and the line of the field or rpc that uses it', () => {
    const dir = protoDir({
      'f.proto': 'syntax = "proto3";\npackage p;\nmessage A {\n  int32 x = 1;\n  Missing m = 2;\n}\n',
      'm.proto': 'syntax = "proto3";\npackage q;\nmessage A {}\nservice S {\n  rpc M(A) returns (Nope);\n}\n',
    });
    const f = loadError([join(dir, 'f.proto')]);
    assert.equal(f.line, 5);
    assert.match(f.detail, /Missing/);
    const m = loadError([join(dir, 'm.proto')]);
    assert.equal(m.line, 5);
    assert.match(m.detail, /Nope/);
  });

  test('a name declared twice names the second declaration', () => {
    const dir = protoDir({
      'one.proto': 'syntax = "proto3";\npackage p;\nmessage A {}\n',
      'two.proto': 'syntax = "proto3";\npackage p;\n\nmessage A {}\n',
    });
    const e = loadError([join(dir, 'one.proto'), join(dir, 'two.proto')]);
    assert.equal(e.line, 4);
    assert.match(e.message, /two\.proto:4: duplicate name 'A'/);
  });

  test('a missing file, or a directory, is no such file', () => {
    assert.equal(loadError([join(tmp, 'nope.proto')]).detail, 'no such file');
    assert.equal(loadError([tmp]).detail, 'no such file');
  });
});

describe('a message decoded with its type', () => {
  test('scalars by name: int64 as a string, enums by name, bytes in base64, a oneof named', () => {
    // id = 1 (varint 2^53+1), status = 2 (SHIPPED), signature = 10 (00 ff), voucher = 7 "v".
    const r = Order.decode(hex('08 8180808080808010 10 02 52 02 00ff 3a 01 76'));
    assert.deepEqual(r, {
      json: {
        id: '9007199254740993',
        status: 'SHIPPED',
        signature: 'AP8=',
        voucher: 'v',
        payment: 'voucher',
      },
      error: null,
      cut: false,
    });
  });

  test('an enum number the .proto does not name stays a number; NaN stays visible', () => {
    // status = 9; rating = 13 (i64) NaN.
    assert.deepEqual(Order.decode(hex('10 09 69 000000000000f87f')).json, { status: 9, rating: 'NaN' });
  });

  test('undeclared fields are kept schema-less where they occur: top level, repeated, map value', () => {
    // field 99 varint 5; items = 3 { sku "X", field 50 varint 7 }; totals = 5 { "E": { currency "E", field 20 varint 1 } }.
    const r = Order.decode(hex('98 06 05  1a 06 0a0158 9003 07  2a 0b 0a0145 12 06 0a0145 a001 01'));
    assert.deepEqual(r.json, {
      items: [{ sku: 'X', $unknown: [{ n: 50, wire: 'varint', value: 7 }] }],
      totals: { E: { currency: 'E', $unknown: [{ n: 20, wire: 'varint', value: 1 }] } },
      $unknown: [{ n: 99, wire: 'varint', value: 5 }],
    });
  });

  test('unknown fields inside map values with 64-bit keys, and extensions by their full name', () => {
    const dir = protoDir({
      'm.proto': `syntax = "proto2"; package p;
        message V { optional int32 x = 1; }
        message M { map<int64, V> byId = 1; map<uint64, V> byU = 2; extensions 100 to 199; }
        extend M { optional string note = 100; }
        service S { rpc X(M) returns (M); }`,
    });
    const M = loadGrpcSchema([join(dir, 'm.proto')]).method('/p.S/X')!.request;
    // byId = 1 { key -1 (ten-byte varint), value { field 25 varint 1 } }; byU = 2 { key 2^60, value { x 3 } };
    // note = 100 "e" (tag 100<<3|2 = a2 06).
    const r = M.decode(
      hex('0a 10 08 ffffffffffffffffff01 12 03 c801 01  12 0e 08 808080808080808010 12 02 0803  a2 06 01 65'),
    );
    assert.deepEqual(r.json, {
      byId: { '-1': { $unknown: [{ n: 25, wire: 'varint', value: 1 }] } },
      byU: { '1152921504606846976': { x: 3 } },
      '.p.note': 'e',
    });
  });

  test('a declared field with another wire type is kept as unknown, not misread', () => {
    // id = 1 sent length-delimited "A".
    assert.deepEqual(Order.decode(hex('0a 01 41')).json, {
      $unknown: [{ n: 1, wire: 'len', length: 1, text: 'A' }],
    });
  });

  test('bytes that are not of the type: an error naming the type', () => {
    for (const [bytes, why] of [
      ['08 96', /index out of range/],
      ['3a 02 fffe', /utf-8/i],
      ['1b 0c', /end group/],
    ] as const) {
      const r = Order.decode(hex(bytes));
      assert.equal(r.json, null);
      assert.match(String(r.error), /^podwire\.test\.shop\.Order: /);
      assert.match(String(r.error), why);
    }
  });

  test('nesting past protobufjs recursion limit (100) is an error, not a stack overflow', () => {
    const dir = protoDir({
      'n.proto':
        'syntax = "proto3"; package p; message N { N child = 1; int32 v = 2; } service S { rpc M(N) returns (N); }',
    });
    const N = loadGrpcSchema([join(dir, 'n.proto')]).method('/p.S/M')!.request;
    const nest = (depth: number): Buffer => {
      let b = Buffer.from([0x10, 0x01]);
      for (let i = 0; i < depth; i++) b = Buffer.concat([Buffer.from([0x0a, ...varint(b.length)]), b]);
      return b;
    };
    const ok = N.decode(nest(50));
    let j = ok.json as Record<string, unknown>;
    for (let i = 0; i < 50; i++) j = j.child as Record<string, unknown>;
    assert.deepEqual(j, { v: 1 });
    const deep = N.decode(nest(150));
    assert.equal(deep.json, null);
    assert.match(String(deep.error), /max depth/);
  });

  test('bounds: long strings cut with …, long arrays and maps cut, cut says so', () => {
    const long = 'x'.repeat(MAX_STRING + 10);
    const notes = Buffer.concat([Buffer.from([0x82, 0x01, ...varint(long.length)]), Buffer.from(long)]);
    const tags = Buffer.alloc(MAX_ITEMS + 50, 0x01);
    const packed = Buffer.concat([Buffer.from([0x7a, ...varint(tags.length)]), tags]);
    const r = Order.decode(Buffer.concat([notes, packed]));
    const json = r.json as { notes: string[]; tags: number[] };
    assert.equal(r.cut, true);
    assert.equal(json.notes[0], `${'x'.repeat(MAX_STRING)}…`);
    assert.equal(json.tags.length, MAX_ITEMS);
    assert.equal(Order.decode(notes.subarray(0, 100)).cut, false);
    // labels = 4, MAX_ITEMS + 1 entries { key "kN", value "" }.
    const entries = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => {
      const key = Buffer.from(`k${i}`);
      return Buffer.concat([
        Buffer.from([0x22, key.length + 4, 0x0a, key.length]),
        key,
        Buffer.from([0x12, 0x00]),
      ]);
    });
    const map = Order.decode(Buffer.concat(entries));
    assert.equal(map.cut, true);
    assert.equal(Object.keys((map.json as { labels: object }).labels).length, MAX_ITEMS);
  });

  test('a map key "__proto__" is a key like any other', () => {
    // labels = 4 { key "__proto__", value "v" }.
    const r = Order.decode(hex('22 0e 0a 09 5f5f70726f746f5f5f 12 01 76'));
    const labels = (r.json as { labels: Record<string, string> }).labels;
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
    assert.deepEqual(Object.entries(labels), [['__proto__', 'v']]);
    assert.equal(JSON.stringify(r.json), '{"labels":{"__proto__":"v"}}');
  });
});

describe('messageDetail with a type', () => {
  const msg = (data: Uint8Array, length = data.length, compressed = false): GrpcMessage => ({
    compressed,
    length,
    data,
  });

  test('json instead of protobuf; the schema-less form when the type does not fit', () => {
    assert.deepEqual(messageDetail(msg(hex('10 02')), undefined, Order), {
      compressed: false,
      length: 2,
      json: { status: 'SHIPPED' },
    });
    const bad = messageDetail(msg(hex('08 96')), undefined, Order);
    assert.match(String(bad.schemaError), /^podwire\.test\.shop\.Order: /);
    assert.deepEqual(bad.protobuf, []);
    assert.match(String(bad.protobufError), /truncated varint/);
  });

  test('a message longer than what is kept is not decoded, and says why', () => {
    const d = messageDetail(msg(hex('10 02'), 9000), undefined, Order);
    assert.equal(d.truncated, true);
    assert.equal(d.json, undefined);
    assert.equal(d.schemaError, 'message longer than the 2 bytes kept: not decoded');
  });

  test('without a type, nothing changes', () => {
    assert.deepEqual(messageDetail(msg(hex('10 02')), undefined), {
      compressed: false,
      length: 2,
      protobuf: [{ n: 2, wire: 'varint', value: 2 }],
    });
  });
});

describe('the HTTP/2 dissector with a schema', () => {
  test('withGrpcSchema replaces the http2 dissector by name and nothing else; the module one is untouched', () => {
    const list = withGrpcSchema(TCP_DISSECTORS, shop);
    assert.equal(list.length, TCP_DISSECTORS.length);
    for (const [i, d] of list.entries()) {
      if (d.name === 'http2') {
        assert.notEqual(d, http2Dissector);
        assert.equal(d.detect, http2Dissector.detect);
        assert.deepEqual(d.ports, http2Dissector.ports);
      } else assert.equal(d, TCP_DISSECTORS[i]);
    }
  });

  /** A unary GetOrder on stream 1 whose request message is `body`, split at `cuts`. */
  function exchange(body: Uint8Array, schema: GrpcSchema | null, cuts: number[] = []): RecordingContext {
    const c = new HeaderWriter();
    const s = new HeaderWriter();
    const client = Buffer.concat([
      PREFACE,
      settings(),
      c.headers(1, [
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', '/podwire.test.shop.Shop/GetOrder'],
        [':authority', 'shop'],
        ['content-type', 'application/grpc'],
      ]),
      data(1, grpcMessage(body), true),
    ]);
    const server = Buffer.concat([
      settings(),
      s.headers(1, [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ]),
      data(1, grpcMessage(hex('08 07 10 03'))),
      s.headers(1, [['grpc-status', '0']], { endStream: true }),
    ]);
    const ctx = new RecordingContext();
    const session = new Http2Session(ctx, { grpcSchema: schema });
    let prev = 0;
    for (const p of [...cuts.map((x) => x % (client.length + 1)).sort((a, b) => a - b), client.length]) {
      const piece = new Uint8Array(client.subarray(prev, p));
      session.onData(0, piece, 1000);
      piece.fill(0xee);
      prev = p;
    }
    session.onData(1, server, 2000);
    session.onClose(3000);
    return ctx;
  }

  test('an exchange decodes with names wherever the bytes are cut', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 6 }), (cuts) => {
        const ctx = exchange(hex('08 2a 10 01'), shop, cuts);
        assert.equal(ctx.entries.length, 1);
        const e = ctx.entries[0]!;
        assert.equal((e.request as Detail).fullMethod, 'podwire.test.shop.Shop.GetOrder');
        assert.deepEqual((e.request as Detail).messages[0].json, { order_id: '42', with_items: true });
        assert.deepEqual((e.response as Detail).messages[0].json, { id: '7', status: 'DELIVERED' });
      }),
      { numRuns: 200 },
    );
  });

  test('another schema (greet.proto) says the method is not in it', () => {
    const e = exchange(hex('08 2a'), loadGrpcSchema([GREET])).entries[0]!;
    assert.equal((e.request as Detail).schema, 'none');
    assert.deepEqual((e.request as Detail).messages[0].protobuf, [{ n: 1, wire: 'varint', value: 42 }]);
  });

  test('fuzz: random and mutated messages never throw, and always come out as json or schema-less', () => {
    const real = hex(
      '08 8180808080808010 10 02 1a 06 0a0158 9003 07 22 0b 0a0467696674 12 03796573 2a 0b 0a0145 12 06 0a0145 a001 01 32 09 0a0434323432 10ef0f 42 0b 0880e2cfaa06 10c0a9d33a 52 02 00ff 7a 03 01 02 03',
    );
    const mutated = fc
      .tuple(
        fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(real.length),
      )
      .map(([edits, cut]) => {
        const b = Buffer.from(real.subarray(0, cut));
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 64 })), (body) => {
        const direct = Order.decode(body);
        assert.ok((direct.json === null) !== (direct.error === null));
        const ctx = exchange(body, shop);
        const m = (ctx.entries[0]!.request as Detail).messages[0];
        assert.ok(m.json !== undefined || Array.isArray(m.protobuf));
        JSON.stringify(ctx.entries);
      }),
      { numRuns: 800 },
    );
  });
});

function varint(v: number): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
