/**
 * The AMQP session on hand-made traffic (frames encoded by amqplib): a whole connection cut at
 * every point, channels interleaved, channel and connection errors, publisher confirms, nowait,
 * gaps, broken framing, streams picked up mid-way, a refused protocol version, credentials, and
 * the bounds on what a connection may hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AmqpSession, MAX_PENDING, MAX_UNCONFIRMED } from '../../../src/dissect/amqp/session.js';
import type { SessionContext } from '../../../src/dissect/dissector.js';
import {
  body,
  c,
  concat,
  type Emitted,
  FakeContext,
  frame,
  HEARTBEAT,
  header,
  message,
  method,
  PROTOCOL_HEADER,
  play,
  s,
  type Wire,
} from './build.js';
import { BODY, conversation, EXPECTED, PASSWORD, PROPERTIES } from './conversation.js';

const create = (ctx: SessionContext) => new AmqpSession(ctx);

function summary(entries: Emitted[]): [string, string, number | null, string | null][] {
  return entries.map((e) => [
    e.method,
    e.path,
    e.status as number | null,
    (e.response?.method as string) ?? null,
  ]);
}

function find(entries: Emitted[], m: string, i = 0): Emitted {
  const e = entries.filter((x) => x.method === m)[i];
  assert.ok(e, `an entry ${m}`);
  return e;
}

const sorted = (entries: Emitted[]) => [...entries].sort((a, b) => a.timestamp - b.timestamp);

describe('a whole connection', () => {
  const ctx = play(create, conversation());
  const entries = sorted(ctx.entries);

  test('one entry per exchange, with the columns of DESIGN.md', () => {
    assert.deepEqual(summary(entries), EXPECTED);
    assert.deepEqual(ctx.errors, []);
    for (const e of entries) assert.equal(e.error, null, `${e.method}: ${e.error}`);
  });

  test('the handshake: server and client properties, the user but never the password', () => {
    const start = find(entries, 'connection.start');
    assert.deepEqual(start.src, ctx.server, 'connection.start is asked by the server');
    assert.equal((start.request.serverProperties as Record<string, unknown>).product, 'RabbitMQ');
    assert.equal(start.request.mechanisms, 'PLAIN AMQPLAIN');
    const ok = start.response!;
    assert.deepEqual(ok.clientProperties, {
      product: 'test-client',
      version: '1.0',
      connection_name: 'orders',
    });
    assert.equal(ok.mechanism, 'PLAIN');
    assert.equal(ok.user, 'guest');
    assert.equal(ok.responseLength, 1 + 5 + 1 + PASSWORD.length);
    assert.ok(!JSON.stringify(ctx.entries).includes(PASSWORD), 'the password is nowhere');
    assert.ok(!('response' in ok));
  });

  test('queue.declare-ok counts and the declare arguments', () => {
    const e = find(entries, 'queue.declare');
    assert.equal(e.request.durable, true);
    assert.deepEqual(e.request.arguments, { 'x-max-length': 1000 });
    assert.equal(e.response!.messageCount, 3);
    assert.equal(e.response!.consumerCount, 1);
    assert.equal(e.elapsedMs, 1);
    assert.deepEqual(e.src, ctx.client);
  });

  test('the published message: every property, the body across two frames, the wire size', () => {
    const e = find(entries, 'basic.publish');
    assert.equal(e.response, null);
    assert.equal(e.request.mandatory, true);
    assert.deepEqual(e.request.properties, PROPERTIES);
    assert.equal(e.request.bodySize, BODY.length);
    assert.equal(e.request.body, BODY);
    assert.equal(e.request.bodyEncoding, 'utf8');
    assert.equal(e.request.bodyTruncated, false);
    // method frame (8 + 4 + 2 + 1+4 + 1+13 + 1) + header + two body frames, each 8 bytes of framing
    const publish = method('basic.publish', 1, {
      exchange: 'shop',
      routingKey: 'order.created',
      mandatory: true,
    });
    const head = header(1, BODY.length, PROPERTIES);
    assert.equal(e.requestSize, publish.length + head.length + 8 + 10 + 8 + (BODY.length - 10));
  });

  test('the delivery and its ack, each an entry of its own', () => {
    const d = find(entries, 'basic.deliver');
    assert.deepEqual(d.src, ctx.server);
    assert.equal(d.request.consumerTag, 'ctag-1');
    assert.equal(d.request.deliveryTag, 1);
    assert.equal(d.request.body, BODY);
    assert.deepEqual(d.request.properties, { contentType: 'application/json' });
    const a = find(entries, 'basic.ack');
    assert.equal(a.request.deliveryTag, 1);
    assert.equal(a.response, null);
  });

  test('basic.get answered by get-empty, then by get-ok with an empty body', () => {
    assert.equal(find(entries, 'basic.get', 0).response!.method, 'basic.get-empty');
    const ok = find(entries, 'basic.get', 1).response!;
    assert.equal(ok.bodySize, 0);
    assert.equal(ok.body, '');
    assert.equal(ok.redelivered, true);
    assert.equal(ok.routingKey, 'orders');
  });

  test('heartbeats are counted, not entries', () => {
    assert.deepEqual((ctx.annotations.amqp as Record<string, unknown>).heartbeats, { sent: 1, received: 1 });
    assert.equal((ctx.annotations.amqp as Record<string, unknown>).version, '0-9-1');
  });

  test('cut anywhere, the same entries (split-point property)', () => {
    const whole = JSON.stringify(entries);
    // Every segment cut at one point, for every point of the longest message.
    const longest = Math.max(...conversation().map((w) => w.data.length));
    for (let p = 1; p < longest; p++) {
      assert.equal(JSON.stringify(sorted(play(create, conversation(), [p]).entries)), whole, `cut at ${p}`);
    }
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 600 }), { maxLength: 6 }), (cuts) => {
        const got = play(create, conversation(), cuts);
        assert.deepEqual(got.errors, []);
        assert.equal(JSON.stringify(sorted(got.entries)), whole);
      }),
      { numRuns: 200 },
    );
  });

  test('one byte at a time, the same entries', () => {
    const bytes = conversation().map((w) => ({ ...w, cuts: [...Array(w.data.length).keys()] }));
    const got = play(
      create,
      bytes.map(({ dir, data, ts }) => ({ dir, data, ts })),
      Array.from({ length: 2048 }, (_, i) => i),
    );
    assert.equal(JSON.stringify(sorted(got.entries)), JSON.stringify(entries));
  });
});

describe('channels, errors and confirms', () => {
  test('two channels interleaving their frames keep their messages apart', () => {
    const a = message('basic.publish', 1, { exchange: 'x', routingKey: 'a' }, 'AAAA');
    const b = message('basic.publish', 2, { exchange: 'x', routingKey: 'b' }, 'BBBBBBBB');
    // method 1, method 2, header 1, header 2, body 1, body 2
    const frames = (m: Uint8Array) => {
      const out: Uint8Array[] = [];
      for (let p = 0; p < m.length; ) {
        const size = new DataView(m.buffer, m.byteOffset).getUint32(p + 3);
        out.push(m.subarray(p, p + size + 8));
        p += size + 8;
      }
      return out;
    };
    const [fa, fb] = [frames(a), frames(b)];
    const ctx = play(create, [c(concat(fa[0]!, fb[0]!, fa[1]!, fb[1]!, fa[2]!, fb[2]!))]);
    assert.deepEqual(
      ctx.entries.map((e) => [e.path, e.request.channel, e.request.body]),
      [
        ['x/a', 1, 'AAAA'],
        ['x/b', 2, 'BBBBBBBB'],
      ],
    );
    assert.deepEqual(ctx.errors, []);
  });

  test('a passive declare of a missing queue fails with the server`s channel.close 404', () => {
    const ctx = play(create, [
      c(method('queue.declare', 3, { queue: 'missing', passive: true }), 10),
      s(
        method('channel.close', 3, {
          replyCode: 404,
          replyText: "NOT_FOUND - no queue 'missing' in vhost '/'",
          classId: 50,
          methodId: 10,
        }),
        30,
      ),
      c(method('channel.close-ok', 3, {}), 50),
    ]);
    const [declare, close] = sorted(ctx.entries);
    assert.equal(declare!.method, 'queue.declare');
    assert.equal(declare!.path, 'missing');
    assert.equal(declare!.status, 404);
    assert.equal(declare!.response!.method, 'channel.close');
    assert.equal(declare!.response!.replyName, 'NOT_FOUND');
    assert.equal(declare!.response!.failedMethod, 'queue.declare');
    assert.equal(declare!.elapsedMs, 0.02);
    assert.equal(close!.method, 'channel.close');
    assert.equal(close!.status, 404);
    assert.deepEqual(close!.src, ctx.server, 'the server closed the channel');
    assert.equal(close!.response!.method, 'channel.close-ok');
    assert.equal(ctx.entries.length, 2);
  });

  test('connection.close 530 answers a connection.open to a missing vhost', () => {
    const ctx = play(create, [
      c(method('connection.open', 0, { virtualHost: '/bad' })),
      s(
        method('connection.close', 0, {
          replyCode: 530,
          replyText: 'NOT_ALLOWED - vhost /bad not found',
          classId: 10,
          methodId: 40,
        }),
      ),
    ]);
    const open = find(ctx.entries, 'connection.open');
    assert.equal(open.status, 530);
    assert.equal(open.path, '/bad');
    const close = find(ctx.entries, 'connection.close');
    assert.equal(close.error, 'no reply seen: connection ended');
  });

  test('requests still waiting when the channel closes are reported without reply', () => {
    const ctx = play(create, [
      c(method('basic.consume', 1, { queue: 'q' })),
      c(method('channel.close', 1, { replyCode: 200, replyText: '', classId: 0, methodId: 0 })),
      s(method('channel.close-ok', 1, {})),
    ]);
    assert.equal(find(ctx.entries, 'basic.consume').error, 'no reply seen: channel closed');
    assert.equal(find(ctx.entries, 'channel.close').error, null);
  });

  test('nowait requests are entries at once, without reply and without error', () => {
    const ctx = play(create, [
      c(method('exchange.declare', 1, { exchange: 'e', type: 'topic', nowait: true })),
      c(method('queue.bind', 1, { queue: 'q', exchange: 'e', routingKey: 'k', nowait: true })),
    ]);
    assert.deepEqual(summary(ctx.entries), [
      ['exchange.declare', 'e', null, null],
      ['queue.bind', 'q', null, null],
    ]);
    assert.ok(ctx.entries.every((e) => e.error === null));
  });

  test('publisher confirms: each publish gets the broker`s ack or nack, multiple acks included', () => {
    const pub = (rk: string, ts: number) =>
      c(message('basic.publish', 1, { exchange: '', routingKey: rk }, rk), ts);
    const ctx = play(create, [
      c(method('confirm.select', 1, {}), 0),
      s(method('confirm.select-ok', 1, {}), 1000),
      pub('one', 2000),
      pub('two', 3000),
      pub('three', 4000),
      pub('four', 5000),
      s(method('basic.ack', 1, { deliveryTag: 2, multiple: true }), 6000),
      s(method('basic.nack', 1, { deliveryTag: 3, multiple: false, requeue: false }), 7000),
    ]);
    const pubs = sorted(ctx.entries.filter((e) => e.method === 'basic.publish'));
    assert.deepEqual(
      pubs.map((e) => [
        e.path,
        e.response?.method ?? null,
        e.response?.deliveryTag ?? null,
        e.elapsedMs,
        e.error,
      ]),
      [
        ['/one', 'basic.ack', 2, 4, null],
        ['/two', 'basic.ack', 2, 3, null],
        ['/three', 'basic.nack', 3, 3, null],
        ['/four', null, null, null, 'no confirm seen: connection ended'],
      ],
    );
    // The multiple ack's 21 bytes count once, with the publish it names.
    assert.deepEqual(
      pubs.map((e) => e.responseSize),
      [0, 21, 21, 0],
    );
    assert.equal(ctx.entries.filter((e) => e.method === 'basic.ack').length, 0, 'confirms are not entries');
    assert.equal(find(ctx.entries, 'confirm.select').response!.method, 'confirm.select-ok');
  });

  test('consumer acks on a confirm channel stay entries of their own', () => {
    const ctx = play(create, [
      c(method('confirm.select', 1, { nowait: true })),
      c(method('basic.ack', 1, { deliveryTag: 7, multiple: false })),
    ]);
    assert.deepEqual(summary(ctx.entries), [
      ['confirm.select', '', null, null],
      ['basic.ack', '', null, null],
    ]);
  });

  test('a reply whose request was not captured is an entry of its own', () => {
    const ctx = play(create, [
      s(method('queue.declare-ok', 1, { queue: 'q', messageCount: 1, consumerCount: 0 })),
    ]);
    assert.equal(ctx.entries[0]!.method, 'queue.declare-ok');
    assert.equal(ctx.entries[0]!.error, 'no request seen');
    assert.deepEqual(ctx.entries[0]!.request, {});
    assert.deepEqual(ctx.entries[0]!.src, ctx.client, 'the entry still reads client -> server');
  });

  test('a refused protocol version (§4.2.2): the server answers with its own header', () => {
    const ctx = play(create, [c(PROTOCOL_HEADER), s(Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0))]);
    assert.equal(ctx.entries.length, 1);
    const e = ctx.entries[0]!;
    assert.equal(e.method, 'protocol-header');
    assert.equal(e.request.version, '0-9-1');
    assert.equal(e.response!.version, '1-0-0');
    assert.match(e.error!, /refused/);
  });
});

describe('credentials', () => {
  test('AMQPLAIN: the LOGIN of the response table, not its PASSWORD', () => {
    // AMQPLAIN's response is a field table without its size: LOGIN and PASSWORD as long strings.
    const table = (k: string, v: string) => [
      k.length,
      ...Buffer.from(k),
      0x53,
      0,
      0,
      0,
      v.length,
      ...Buffer.from(v),
    ];
    const response = Buffer.from([...table('LOGIN', 'alice'), ...table('PASSWORD', 's3cr3t-value')]);
    const ctx = play(create, [
      s(
        method('connection.start', 0, {
          versionMajor: 0,
          versionMinor: 9,
          serverProperties: {},
          mechanisms: Buffer.from('AMQPLAIN'),
          locales: Buffer.from('en_US'),
        }),
      ),
      c(
        method('connection.start-ok', 0, {
          clientProperties: {},
          mechanism: 'AMQPLAIN',
          response,
          locale: 'en_US',
        }),
      ),
      s(method('connection.secure', 0, { challenge: Buffer.from('challenge-bytes') })),
      c(method('connection.secure-ok', 0, { response: Buffer.from('another-secret') })),
    ]);
    const json = JSON.stringify(ctx.entries);
    assert.ok(
      !json.includes('s3cr3t-value') && !json.includes('another-secret') && !json.includes('challenge-bytes'),
    );
    assert.equal(find(ctx.entries, 'connection.start').response!.user, 'alice');
    assert.equal(find(ctx.entries, 'connection.secure').response!.responseLength, 14);
  });

  test('connection.update-secret keeps the reason, not the secret', () => {
    const ctx = play(create, [
      c(
        method('connection.update-secret', 0, {
          newSecret: Buffer.from('jwt-token-value'),
          reason: 'refresh',
        }),
      ),
      s(method('connection.update-secret-ok', 0, {})),
    ]);
    assert.ok(!JSON.stringify(ctx.entries).includes('jwt-token-value'));
    assert.equal(ctx.entries[0]!.request.reason, 'refresh');
  });
});

describe('field tables (§4.2.5.5, RabbitMQ`s types)', () => {
  test('every type amqplib writes reads back', () => {
    const headers = {
      bool: true,
      int8: { '!': 'int8', value: -5 },
      uint8: { '!': 'uint8', value: 200 },
      int16: { '!': 'int16', value: -300 },
      uint16: { '!': 'uint16', value: 60000 },
      int32: { '!': 'int32', value: -70000 },
      uint32: { '!': 'uint32', value: 4000000000 },
      int64: { '!': 'int64', value: -5000000000 },
      float: { '!': 'float', value: 1.5 },
      double: 2.25,
      decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
      timestamp: { '!': 'timestamp', value: 1700000000 },
      string: 'héllo',
      long: 'x'.repeat(300),
      bytes: Buffer.from([1, 2, 3]),
      void: null,
      array: [1, 'two', [3]],
      table: { nested: { deeper: true } },
    };
    const ctx = play(create, [
      c(message('basic.publish', 1, { exchange: 'e', routingKey: 'k' }, '', { headers })),
    ]);
    assert.deepEqual(ctx.errors, []);
    assert.deepEqual((ctx.entries[0]!.request.properties as Record<string, unknown>).headers, {
      bool: true,
      int8: -5,
      uint8: 200,
      int16: -300,
      uint16: 60000,
      int32: -70000,
      uint32: 4000000000,
      int64: -5000000000,
      float: 1.5,
      double: 2.25,
      decimal: 123.45,
      timestamp: 1700000000,
      string: 'héllo',
      long: { truncated: 'x'.repeat(256), length: 300 },
      bytes: { base64: 'AQID', length: 3 },
      void: null,
      array: [1, 'two', [3]],
      table: { nested: { deeper: true } },
    });
  });

  test('an unknown field type spoils only its table, and is counted', () => {
    // queue.declare with arguments {a: <type 'Z'>}: the table is cut there, the method still reads.
    const args = [0, 0, 0, 4, 1, 0x61, 0x5a, 0];
    const payload = [0, 50, 0, 10, 0, 0, 1, 0x71, 0, ...args];
    const ctx = play(create, [c(frame(1, 1, payload))]);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /unknown field type 0x5a/);
    const e = ctx.entries[0]!;
    assert.equal(e.path, 'q');
    assert.match(e.error!, /malformed/);
  });
});

describe('gaps, broken framing and streams picked up mid-way', () => {
  const publish = (rk: string, content: string) =>
    message('basic.publish', 1, { exchange: 'x', routingKey: rk }, content);

  test('a gap inside a body frame: the message keeps its size, the loss is said, framing holds', () => {
    const ctx = new FakeContext();
    const session = new AmqpSession(ctx);
    const m = publish('a', 'abcdefghijklmnopqrstuvwxyz');
    const bodyStart = m.length - 8 - 26 + 7;
    session.onData(0, m.subarray(0, bodyStart + 5), 1);
    session.onGap(0, 10, 2);
    session.onData(0, m.subarray(bodyStart + 15), 3);
    session.onData(0, publish('b', 'next'), 4);
    session.onClose(5);
    assert.deepEqual(ctx.errors, []);
    const [a, b] = ctx.entries;
    assert.equal(a!.request.bodySize, 26);
    assert.equal(a!.request.bodyLost, 10);
    assert.equal(a!.request.body, 'abcde');
    assert.equal(a!.request.bodyTruncated, true);
    assert.match(a!.error!, /10 body bytes lost/);
    assert.equal(b!.request.body, 'next');
    assert.equal(b!.error, null);
  });

  test('a gap across frames: what it cut is reported, parsing resumes at the next method frame', () => {
    const ctx = new FakeContext();
    const session = new AmqpSession(ctx);
    const m = publish('a', 'x'.repeat(100));
    session.onData(0, m.subarray(0, 40), 1);
    session.onGap(0, 500, 2);
    // Resumes inside garbage, then a whole publish.
    session.onData(0, concat(Uint8Array.of(9, 9, 9), publish('b', 'ok')), 3);
    session.onClose(4);
    assert.deepEqual(ctx.errors, [], 'a gap is not malformed input');
    assert.deepEqual(
      ctx.entries.map((e) => [e.path, e.request.body, e.error]),
      [
        ['x/a', '', 'cut by a capture gap'],
        ['x/b', 'ok', null],
      ],
    );
    assert.equal((ctx.annotations.amqp as { skippedBytes: number }).skippedBytes, 3);
  });

  test('a wrong frame-end is a parse error, and the next frame is found again', () => {
    const bad = frame(1, 1, method('basic.qos', 1, { prefetchCount: 1 }).subarray(7, -1), 0x00);
    const ctx = play(create, [c(concat(PROTOCOL_HEADER, bad, publish('a', 'fine')))]);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /frame-end 0x00 instead of 0xce/);
    assert.deepEqual(
      ctx.entries.map((e) => e.path),
      ['x/a'],
    );
  });

  test('an unknown frame type is a parse error', () => {
    const ctx = play(create, [c(concat(PROTOCOL_HEADER, frame(5, 1, [1, 2, 3]), HEARTBEAT))]);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /unknown frame type 5/);
    assert.deepEqual((ctx.annotations.amqp as { heartbeats: unknown }).heartbeats, { sent: 1, received: 0 });
  });

  test('picked up in the middle of a message: its rest is dropped quietly, the next one is read', () => {
    const m = concat(
      message(
        'basic.deliver',
        1,
        { consumerTag: 't', deliveryTag: 1, exchange: 'x', routingKey: 'a' },
        'y'.repeat(300),
      ),
      message('basic.deliver', 1, { consumerTag: 't', deliveryTag: 2, exchange: 'x', routingKey: 'b' }, 'zz'),
    );
    for (const from of [1, 20, 60, 100]) {
      const ctx = play(create, [s(m.subarray(from))]);
      assert.deepEqual(ctx.errors, [], `from ${from}`);
      assert.deepEqual(
        ctx.entries.map((e) => [e.path, e.request.deliveryTag, e.request.body]),
        [['x/b', 2, 'zz']],
        `from ${from}`,
      );
    }
  });

  test('a header or body frame without its method on a channel in sync is malformed', () => {
    const ctx = play(create, [c(concat(method('channel.open', 1, {}), header(1, 3), body(1, 'abc')))]);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /content header frame on channel 1 without a message method/);
  });

  test('a method before the previous message was whole cuts that message, and is counted', () => {
    const ctx = play(create, [
      c(
        concat(method('basic.publish', 1, { exchange: 'x', routingKey: 'a' }), header(1, 10), body(1, 'abc')),
      ),
      c(publish('b', 'ok')),
    ]);
    assert.equal(ctx.errors.length, 1);
    assert.deepEqual(
      ctx.entries.map((e) => [e.path, e.request.bodyReceived ?? null, e.error]),
      [
        ['x/a', 3, 'content incomplete: basic.publish came first'],
        ['x/b', null, null],
      ],
    );
  });

  test('a method frame over the 1 MiB limit is skipped by its length, and counted', () => {
    const huge = frame(1, 1, [0, 60, 0, 40, ...new Uint8Array((1 << 20) + 10)]);
    const ctx = new FakeContext();
    const session = new AmqpSession(ctx);
    session.onData(0, PROTOCOL_HEADER, 0);
    for (let i = 0; i < huge.length; i += 1460) session.onData(0, huge.subarray(i, i + 1460), 1);
    assert.ok(session.buffered < 70_000, `held ${session.buffered} bytes`);
    session.onData(0, publish('a', 'after'), 2);
    session.onClose(3);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /over the 1048576-byte limit/);
    assert.deepEqual(
      ctx.entries.map((e) => e.path),
      ['x/a'],
    );
  });

  test('a large body is counted, never held', () => {
    const big = new Uint8Array(3_000_000).fill(0x61);
    const ctx = new FakeContext();
    const session = new AmqpSession(ctx);
    const m = message('basic.publish', 1, { exchange: 'x', routingKey: 'big' }, big, {}, 131072);
    let peak = 0;
    for (let i = 0; i < m.length; i += 65536) {
      session.onData(0, m.subarray(i, i + 65536), 1);
      peak = Math.max(peak, session.buffered);
    }
    session.onClose(2);
    assert.ok(peak < 1024, `held ${peak} bytes`);
    const e = ctx.entries[0]!;
    assert.equal(e.request.bodySize, 3_000_000);
    assert.equal(e.request.bodyTruncated, true);
    assert.equal((e.request.body as string).length, 256);
    assert.equal(e.requestSize, m.length);
  });
});

describe('bounds', () => {
  test(`at most ${MAX_PENDING} requests wait for replies; the oldest leave reported`, () => {
    const wires: Wire[] = [];
    for (let i = 0; i < MAX_PENDING + 10; i++)
      wires.push(c(method('queue.declare', 1, { queue: `q${i}` }), i));
    const ctx = play(create, wires.slice(0, MAX_PENDING + 10));
    const evicted = ctx.entries.filter((e) => e.error === 'no reply seen (too many requests waiting)');
    assert.equal(evicted.length, 10);
    assert.deepEqual(
      evicted.map((e) => e.path),
      Array.from({ length: 10 }, (_, i) => `q${i}`),
    );
    assert.equal(ctx.entries.length, MAX_PENDING + 10);
  });

  test(`at most ${MAX_UNCONFIRMED} publishes wait for confirms`, () => {
    const wires: Wire[] = [c(method('confirm.select', 1, { nowait: true }))];
    for (let i = 0; i < MAX_UNCONFIRMED + 5; i++) {
      wires.push(c(message('basic.publish', 1, { exchange: '', routingKey: `k${i}` }, 'm'), i));
    }
    const ctx = play(create, wires);
    const early = ctx.entries.filter((e) => e.error === 'no confirm seen (too many publishes waiting)');
    assert.equal(early.length, 5);
    assert.equal(ctx.entries.filter((e) => e.method === 'basic.publish').length, MAX_UNCONFIRMED + 5);
  });
});
