/**
 * gRPC decoded with a schema, from a real @grpc/grpc-js server and client on 127.0.0.1 (both loading
 * protos/shop.proto with @grpc/proto-loader) while tcpdump captures the loopback on the server's port.
 * podwire, given the same .proto files, must show each message as the other side decoded it: every
 * request as the server handed it to its handler, every response as the client received it (both
 * with proto-loader's longs/enums/bytes as strings, oneofs named, defaults left out), and as the
 * client wrote it. Also: the method's full name and streaming kind, a gzip-compressed request, an
 * undeclared field kept schema-less, a method the .proto does not have, and bytes that are no
 * message at all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { analyzeFiles } from '../../../src/cli/analyze.js';
import type { Entry } from '../../../src/dissect/entry.js';
import { loadGrpcSchema } from '../../../src/dissect/grpc/schema.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { captureInterface, sh } from '../../support/netns.js';
import { INCLUDE, PROTOS, SHOP } from './protos.js';
import { podwireProtobufLines, tsharkProtobufLines } from './tshark-protobuf.js';

const require = createRequire(import.meta.url);
// Both are CommonJS; require gives their exports as their own tests use them.
const grpcJs = require('@grpc/grpc-js') as typeof grpc;
const loader = require('@grpc/proto-loader') as typeof protoLoader;

const SERVICE = '/podwire.test.shop.Shop';

type Json = Record<string, unknown>;
type Detail = Json & { messages: Json[] };
/** As JSON would carry it (no prototypes, no undefined). */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

const haveTshark = await tsharkAvailable();
let tcpdump = false;
try {
  await sh('tcpdump', ['--version']);
  tcpdump = process.getuid?.() === 0;
} catch {}

// What the client writes. 64-bit integers as strings (two of them past 2^53), enums by name.
const GET_ORDER = { order_id: '9007199254740993', with_items: true };
const WATCH = { order_id: '42' };
const ITEMS = [
  { sku: 'A-1', quantity: 2, price: { currency: 'EUR', units: '3', nanos: 990000000 } },
  { sku: 'B-22', quantity: 1, price: { currency: 'EUR', units: '-12', nanos: -500000000 } },
  { sku: 'ünï-€', quantity: 4000000000, price: { currency: 'USD', units: '9223372036854775807' } },
];
const CHAT = [
  { from: 'client', text: 'hello', seq: '1' },
  { from: 'client', text: 'how are you', seq: '18446744073709551' },
];
const SIGNATURE = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);

function order(id: string): Json {
  return {
    id,
    status: 'SHIPPED',
    items: ITEMS.slice(0, 2),
    labels: { gift: 'yes', ünï: 'cödé' },
    totals: { EUR: { currency: 'EUR', units: '9007199254740993', nanos: 500000000 } },
    card: { last4: '4242', exp_year: 2031 },
    created: { seconds: '1700000000', nanos: 123000000 },
    ship_to: { street: '1 Main St', city: 'Berlin', geo: { lat: 52.52, lon: -13.405 } },
    signature: SIGNATURE.toString('base64'),
    weight_mg: '18446744073709551615',
    delta: -42,
    rating: 4.5,
    checksum: '1234567890123456789',
    tags: [1, 2, 300, -1],
    notes: ['first', ''],
  };
}

interface Seen {
  /** What the server's handler got, per call, in order. */
  server: unknown[][];
  /** What the client got back, per call. */
  client: unknown[][];
  /** The status code the client saw, per call. */
  codes: number[];
}

describe('gRPC with a schema: real grpc-js client and server on lo', {
  skip: tcpdump ? false : 'needs tcpdump and root',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-grpc-schema-'));
  const pcap = join(dir, 'shop.pcap');
  const seen: Seen = { server: [], client: [], codes: [] };
  let entries: Entry[] = [];

  before(async () => {
    const options = {
      keepCase: true,
      longs: String,
      enums: String,
      bytes: String,
      oneofs: true,
      defaults: false,
      includeDirs: [INCLUDE],
    };
    const pkg = grpcJs.loadPackageDefinition(loader.loadSync(SHOP, options)) as unknown as {
      podwire: { test: { shop: { Shop: grpc.ServiceClientConstructor } } };
    };
    const Shop = pkg.podwire.test.shop.Shop;
    let serverCall: unknown[] = [];
    const server = new grpcJs.Server();
    server.addService(Shop.service, {
      GetOrder: (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => {
        serverCall.push(call.request);
        cb(null, order(String(call.request.order_id)));
      },
      WatchOrder: (call: grpc.ServerWritableStream<Json, Json>) => {
        serverCall.push(call.request);
        for (const [i, status] of ['PENDING', 'SHIPPED', 'DELIVERED'].entries())
          call.write({ order_id: call.request.order_id, status, at: { seconds: String(1700000000 + i) } });
        call.end();
      },
      AddItems: (call: grpc.ServerReadableStream<Json, Json>, cb: grpc.sendUnaryData<Json>) => {
        const items: Json[] = [];
        call.on('data', (m: Json) => {
          serverCall.push(m);
          items.push(m);
        });
        call.on('end', () =>
          cb(null, { items, total: { currency: 'EUR', units: '-7', nanos: -10 }, count: items.length }),
        );
      },
      Chat: (call: grpc.ServerDuplexStream<Json, Json>) => {
        call.on('data', (m: Json) => {
          serverCall.push(m);
          call.write({ from: 'server', text: String(m.text).toUpperCase(), seq: m.seq });
        });
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpcJs.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const cap = await captureInterface('lo', pcap, ['tcp', 'port', String(port)]);
    const target = `127.0.0.1:${port}`;
    const client = new Shop(target, grpcJs.credentials.createInsecure()) as unknown as Record<
      string,
      (...args: unknown[]) => unknown
    > &
      grpc.Client;
    // A second channel that gzips what it sends (grpc.default_compression_algorithm 2 = gzip).
    const gzip = new Shop(target, grpcJs.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': 2,
    }) as unknown as typeof client;

    const record = async (run: (got: unknown[]) => Promise<number>): Promise<void> => {
      serverCall = [];
      const got: unknown[] = [];
      seen.codes.push(await run(got));
      seen.client.push(got);
      seen.server.push(serverCall);
    };
    const unary = (c: typeof client, method: string, arg: unknown) =>
      record(
        (got) =>
          new Promise((resolve) =>
            c[method]!(arg, (err: grpc.ServiceError | null, reply: unknown) => {
              if (reply) got.push(reply);
              resolve(err ? err.code : 0);
            }),
          ),
      );
    const raw = (path: string, bytes: Buffer) =>
      record(
        (got) =>
          new Promise((resolve) =>
            client.makeUnaryRequest(
              path,
              (b: Buffer) => b,
              (b: Buffer) => b,
              bytes,
              (err: grpc.ServiceError | null, reply?: Buffer) => {
                if (reply) got.push(reply);
                resolve(err ? err.code : 0);
              },
            ),
          ),
      );
    const stream = (
      call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
      got: unknown[],
    ) =>
      new Promise<number>((resolve) => {
        call.on('data', (m: unknown) => got.push(m));
        call.on('error', () => {});
        call.on('status', (s: grpc.StatusObject) => resolve(s.code));
      });

    await unary(client, 'GetOrder', GET_ORDER);
    await record((got) => stream(client.WatchOrder!(WATCH) as grpc.ClientReadableStream<unknown>, got));
    await record(
      (got) =>
        new Promise((resolve) => {
          const call = client.AddItems!((err: grpc.ServiceError | null, reply: unknown) => {
            if (reply) got.push(reply);
            resolve(err ? err.code : 0);
          }) as grpc.ClientWritableStream<unknown>;
          for (const item of ITEMS) call.write(item);
          call.end();
        }),
    );
    await record((got) => {
      const call = client.Chat!() as grpc.ClientDuplexStream<unknown, unknown>;
      const done = stream(call, got);
      for (const m of CHAT) call.write(m);
      call.end();
      return done;
    });
    await unary(gzip, 'GetOrder', { order_id: '-5' });
    // GetOrderRequest { order_id = 7, with_items = true } and field 99 (len) "from v2", which
    // shop.proto does not declare: tag 99<<3|2 = 794 = varint 9a 06.
    await raw(
      `${SERVICE}/GetOrder`,
      Buffer.concat([Buffer.from([0x08, 0x07, 0x10, 0x01, 0x9a, 0x06, 0x07]), Buffer.from('from v2')]),
    );
    // A method shop.proto does not have: field 1 = 150 (the encoding guide's example, 08 96 01).
    await raw(`${SERVICE}/Refund`, Buffer.from([0x08, 0x96, 0x01]));
    // No message at all: a varint cut after its first byte.
    await raw(`${SERVICE}/GetOrder`, Buffer.from([0x08, 0x96]));

    client.close();
    gzip.close();
    await new Promise((r) => setTimeout(r, 200));
    server.forceShutdown();
    await cap.stop();

    const found: Entry[] = [];
    await analyzeFiles(
      [pcap],
      {
        tracker: {},
        progress: false,
        grpcSchema: loadGrpcSchema([SHOP], [INCLUDE]),
        onEntry: (e) => found.push(e),
      },
      () => {},
    );
    entries = found.filter((e) => e.protocol === 'grpc').sort((a, b) => a.timestamp - b.timestamp);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const req = (i: number) => entries[i]!.request as Detail;
  const res = (i: number) => entries[i]!.response as Detail;
  const jsons = (d: Detail) => d.messages.map((m) => m.json);

  test('one entry per call, with the status the client saw', () => {
    assert.equal(entries.length, seen.codes.length);
    assert.deepEqual(
      entries.map((e) => e.status),
      seen.codes,
    );
    assert.deepEqual(
      entries.map((e) => e.path),
      ['GetOrder', 'WatchOrder', 'AddItems', 'Chat', 'GetOrder', 'GetOrder', 'Refund', 'GetOrder'].map(
        (m) => `${SERVICE}/${m}`,
      ),
    );
  });

  test('the method full name and streaming kind come from the schema', () => {
    const kinds = entries.slice(0, 4).map((e) => {
      const r = e.request as Json;
      return [r.schema, r.fullMethod, r.streaming, r.requestType, (e.response as Json).responseType];
    });
    const m = 'podwire.test.shop';
    assert.deepEqual(kinds, [
      ['proto', `${m}.Shop.GetOrder`, 'unary', `${m}.GetOrderRequest`, `${m}.Order`],
      ['proto', `${m}.Shop.WatchOrder`, 'server', `${m}.WatchRequest`, `${m}.OrderEvent`],
      ['proto', `${m}.Shop.AddItems`, 'client', `${m}.LineItem`, `${m}.Cart`],
      ['proto', `${m}.Shop.Chat`, 'bidi', `${m}.ChatMessage`, `${m}.ChatMessage`],
    ]);
  });

  test('requests are decoded as the server read them and as the client wrote them', () => {
    for (let i = 0; i < 5; i++) assert.deepEqual(jsons(req(i)), plain(seen.server[i]), `call ${i}`);
    assert.deepEqual(jsons(req(0)), [GET_ORDER]);
    assert.deepEqual(jsons(req(1)), [WATCH]);
    // LineItem 3 has no nanos: a proto3 zero is not on the wire, so it is not shown.
    assert.deepEqual(jsons(req(2)), ITEMS);
    assert.deepEqual(jsons(req(3)), CHAT);
    assert.deepEqual(jsons(req(4)), [{ order_id: '-5' }]);
  });

  test('responses are decoded as the client received them', () => {
    for (let i = 0; i < 5; i++) assert.deepEqual(jsons(res(i)), plain(seen.client[i]), `call ${i}`);
    assert.equal(res(1).messageCount, 3);
    assert.equal(res(3).messageCount, 2);
  });

  test('field by field: int64 and uint64 as strings, enums by name, nested, maps, oneof, bytes, Timestamp', () => {
    const o = jsons(res(0))[0] as Json;
    assert.equal(o.id, '9007199254740993');
    assert.equal(o.weight_mg, '18446744073709551615');
    assert.equal(o.checksum, '1234567890123456789');
    assert.equal(o.delta, -42);
    assert.equal(o.status, 'SHIPPED');
    assert.equal(o.payment, 'card');
    assert.deepEqual(o.card, { last4: '4242', exp_year: 2031 });
    assert.deepEqual(o.ship_to, { street: '1 Main St', city: 'Berlin', geo: { lat: 52.52, lon: -13.405 } });
    assert.deepEqual(o.labels, { gift: 'yes', ünï: 'cödé' });
    assert.deepEqual(o.totals, { EUR: { currency: 'EUR', units: '9007199254740993', nanos: 500000000 } });
    assert.equal(o.signature, SIGNATURE.toString('base64'));
    assert.deepEqual(o.created, { seconds: '1700000000', nanos: 123000000 });
    assert.deepEqual(o.tags, [1, 2, 300, -1]);
    // The empty string of a repeated field is on the wire (repeated elements have no default).
    assert.deepEqual(o.notes, ['first', '']);
    assert.deepEqual(
      jsons(res(1)).map((e) => (e as Json).status),
      ['PENDING', 'SHIPPED', 'DELIVERED'],
    );
    assert.deepEqual((jsons(res(2))[0] as Json).total, { currency: 'EUR', units: '-7', nanos: -10 });
  });

  test('a gzip-compressed request is decompressed, then decoded', () => {
    const m = req(4).messages[0]!;
    assert.equal(req(4).encoding, 'gzip');
    assert.equal(m.compressed, true);
    assert.deepEqual(m.json, { order_id: '-5' });
  });

  test('a field the schema does not declare is kept, schema-less, beside the named ones', () => {
    assert.equal(seen.codes[5], 0);
    assert.deepEqual(req(5).messages[0]!.json, {
      order_id: '7',
      with_items: true,
      $unknown: [{ n: 99, wire: 'len', length: 7, text: 'from v2' }],
    });
    assert.equal(entries[5]!.error, null);
  });

  test('a method the .proto does not have: schema none, messages schema-less', () => {
    const r = req(6);
    assert.equal(seen.codes[6], grpcJs.status.UNIMPLEMENTED);
    assert.equal(r.schema, 'none');
    assert.match(String(r.schemaError), /no method \/podwire\.test\.shop\.Shop\/Refund in the \.proto files/);
    assert.equal(r.fullMethod, undefined);
    assert.equal(r.messages[0]!.json, undefined);
    assert.deepEqual(r.messages[0]!.protobuf, [{ n: 1, wire: 'varint', value: 150 }]);
  });

  test('bytes that are not a message of the type: schemaError, and the schema-less rendering', () => {
    const m = req(7).messages[0]!;
    assert.notEqual(seen.codes[7], 0);
    assert.equal(req(7).schema, 'proto');
    assert.equal(m.json, undefined);
    assert.match(String(m.schemaError), /^podwire\.test\.shop\.GetOrderRequest: /);
    assert.deepEqual(m.protobuf, []);
    assert.match(String(m.protobufError), /truncated varint/);
  });

  test('every named scalar as tshark decodes it with the same .proto files', {
    skip: haveTshark ? false : 'tshark not installed',
  }, async () => {
    const port = entries[0]!.dst.port;
    const theirs = await tsharkProtobufLines(pcap, [`tcp.port==${port},http2`], [PROTOS, INCLUDE]);
    const ours = podwireProtobufLines(entries);
    // GetOrder's Order alone has 30 scalars; every message of the 8 calls is in there.
    assert.ok(ours.length > 150, `${ours.length} lines`);
    assert.deepEqual(ours, theirs);
  });
});
