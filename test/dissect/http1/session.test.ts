/**
 * The HTTP/1.x session on hand-written conversations: every framing rule, pipelining, upgrades,
 * gaps and mid-stream starts; then the split-point property (any cuts, same entries) and a fuzz.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { TcpDissector, TcpSession } from '../../../src/dissect/dissector.js';
import { detectHttp1 } from '../../../src/dissect/http1/detect.js';
import { http1Dissector } from '../../../src/dissect/http1/index.js';
import { MAX_HEAD_BYTES, MAX_HELD_BYTES, MAX_LINE_BYTES } from '../../../src/dissect/http1/parser.js';
import type { Http1Session } from '../../../src/dissect/http1/session.js';
import { GZIPPED, keepAlive, pipelined, websocket } from './fixtures.js';
import { ascii, bytes, FakeContext, run, type Wire } from './harness.js';

const cols = (ctx: FakeContext) => ctx.entries.map((e) => `${e.protocol} ${e.method} ${e.path} ${e.status}`);

describe('HTTP/1.x framing (RFC 9112 §6.3)', () => {
  const ctx = run(http1Dissector, keepAlive());
  const [get, chunked, head, del, cached, cont, gz, old] = ctx.entries;

  test('one entry per exchange, in order, no parse errors', () => {
    assert.deepEqual(cols(ctx), [
      'http GET /a?x=1 200',
      'http POST /upload 201',
      'http HEAD /big 200',
      'http DELETE /item/7 204',
      'http GET /cached 304',
      'http POST /form 200',
      'http GET /json 200',
      'http GET /old 200',
    ]);
    assert.deepEqual(ctx.errors, []);
    for (const e of ctx.entries) assert.equal(e.error, null, `${e.path}: ${e.error}`);
  });

  test('sizes are the bytes on the wire, latency from first byte to first byte', () => {
    const convo = keepAlive();
    assert.equal(get!.requestSize, convo[0]!.data.length);
    assert.equal(get!.responseSize, convo[1]!.data.length);
    assert.equal(get!.elapsedMs, 1.5);
    assert.equal(get!.timestamp, convo[0]!.ts);
    assert.equal(chunked!.requestSize, convo[2]!.data.length);
    assert.equal(chunked!.responseSize, convo[3]!.data.length);
    // The interim 100 is part of the response's bytes; latency runs to the final response.
    assert.equal(cont!.responseSize, convo[11]!.data.length + convo[13]!.data.length);
    assert.equal(cont!.requestSize, convo[10]!.data.length + convo[12]!.data.length);
    assert.equal(cont!.elapsedMs, 0.5);
  });

  test('chunked bodies are de-chunked; version, headers and bodies shown', () => {
    assert.equal(chunked!.request.body, 'abcdefghij');
    assert.equal(chunked!.request.bodySize, 10);
    assert.equal(chunked!.response!.body, 'ok!');
    assert.equal(get!.request.httpVersion, '1.1');
    assert.deepEqual(get!.request.headers, { Host: 'h' });
    assert.equal(get!.response!.body, 'hello');
    assert.equal(old!.request.httpVersion, '1.0');
  });

  test('HEAD, 204 and 304 have no body whatever their headers announce', () => {
    assert.equal(head!.response!.bodySize, 0);
    assert.equal(del!.response!.bodySize, 0);
    assert.equal(cached!.response!.bodySize, 0);
  });

  test('100 Continue is kept as an interim response', () => {
    assert.deepEqual(
      (cont!.response!.informational as { status: number }[]).map((i) => i.status),
      [100],
    );
    assert.equal(cont!.request.body, 'name=podwire&kind=sniffer');
  });

  test('gzip bodies are decoded for display, the raw size kept', () => {
    assert.equal(gz!.response!.body, '{"hello":"world"}'.repeat(50));
    assert.equal(gz!.response!.bodySize, GZIPPED.length);
    assert.equal(gz!.response!.decodedSize, 17 * 50);
    assert.equal(gz!.response!.contentEncoding, 'gzip');
  });

  test('a body without length runs to the end of the stream', () => {
    assert.equal(old!.response!.body, 'until the end');
  });
});

describe('pairing', () => {
  test('pipelined requests pair in order; HEAD response without body', () => {
    const ctx = run(http1Dissector, pipelined());
    assert.deepEqual(cols(ctx), ['http GET /1 200', 'http GET /2 404', 'http HEAD /3 200']);
    assert.deepEqual(ctx.errors, []);
  });

  test('a request never answered leaves with "no response"', () => {
    const ctx = run(http1Dissector, [{ dir: 0, ts: 1, data: ascii('GET /x HTTP/1.1\r\n\r\n') }]);
    assert.equal(ctx.entries.length, 1);
    assert.equal(ctx.entries[0]!.response, null);
    assert.equal(ctx.entries[0]!.error, 'no response');
    assert.equal(ctx.entries[0]!.elapsedMs, null);
  });
});

describe('mid-stream and gaps', () => {
  test('a capture that starts inside a body resynchronises on the next message', () => {
    const ctx = run(http1Dissector, [
      { dir: 1, ts: 1, data: ascii('tail of a body\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi') },
      { dir: 0, ts: 2, data: ascii('xyz body bytesGET /next HTTP/1.1\r\nHost: h\r\n\r\n') },
      { dir: 1, ts: 3, data: ascii('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') },
    ]);
    // The first response's request was never seen: an entry marked so, then the pair.
    assert.deepEqual(cols(ctx), ['http   200', 'http GET /next 200']);
    assert.equal(ctx.entries[0]!.error, 'request not captured');
  });

  test('a gap inside a Content-Length body keeps the framing', () => {
    const ctx = new FakeContext(http1Dissector);
    const s = ctx.session;
    s.onData(0, ascii('GET /f HTTP/1.1\r\n\r\n'), 1);
    s.onData(1, ascii('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'), 2);
    s.onGap(1, 80, 3);
    s.onData(1, ascii('0123456789'), 4);
    s.onData(0, ascii('GET /g HTTP/1.1\r\n\r\n'), 5);
    s.onData(1, ascii('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 6);
    s.onClose(7);
    assert.deepEqual(cols(ctx), ['http GET /f 200', 'http GET /g 200']);
    assert.match(ctx.entries[0]!.error!, /80 bytes of the response body lost in a gap/);
    assert.equal(ctx.entries[0]!.response!.bodySize, 100);
    assert.equal(ctx.entries[1]!.error, null);
  });

  test('a gap in a head drops that message, marks the exchange and resynchronises', () => {
    const ctx = new FakeContext(http1Dissector);
    const s = ctx.session;
    s.onData(0, ascii('GET /lost HTTP/1.1\r\nHo'), 1);
    s.onGap(0, 10, 2);
    s.onData(0, ascii('er: x\r\n\r\nGET /ok HTTP/1.1\r\n\r\n'), 3);
    s.onData(
      1,
      ascii('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
      4,
    );
    s.onClose(5);
    assert.deepEqual(cols(ctx), ['http   500', 'http GET /ok 200']);
    assert.match(ctx.entries[0]!.error!, /request lost/);
  });

  test('malformed heads are counted, cite the RFC, and parsing resumes', () => {
    const ctx = run(http1Dissector, [
      { dir: 0, ts: 1, data: ascii('GET /a HTTP/1.1\r\nBad Header Line\r\n\r\nGET /b HTTP/1.1\r\n\r\n') },
      { dir: 1, ts: 2, data: ascii('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') },
    ]);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /RFC 9112 §5\.1/);
    assert.deepEqual(cols(ctx), ['http GET /b 200']);
  });
});

describe('upgrades', () => {
  test('WebSocket: the 101 is an entry, then one entry per message linked to it', () => {
    const ctx = run(http1Dissector, websocket());
    assert.deepEqual(ctx.switches, ['websocket']);
    assert.deepEqual(cols(ctx), [
      'http GET /chat?room=1 101',
      'websocket text /chat?room=1 null',
      'websocket ping /chat?room=1 null',
      'websocket text /chat?room=1 null',
      'websocket pong /chat?room=1 null',
      'websocket binary /chat?room=1 null',
      'websocket close /chat?room=1 1000',
      'websocket close /chat?room=1 1000',
    ]);
    assert.deepEqual(ctx.errors, []);
    const upgrade = ctx.entries[0]!;
    for (const e of ctx.entries.slice(1)) assert.equal(e.request.upgradeEntryId, upgrade.id);
    assert.equal(ctx.entries[1]!.request.payload, 'welcome');
    assert.equal(ctx.entries[1]!.src.port, 8080, 'server to client');
    assert.equal(ctx.entries[3]!.request.payload, 'Hello!');
    assert.equal(ctx.entries[3]!.request.frames, 3);
    assert.equal(ctx.entries[5]!.request.payloadSize, 300);
    assert.equal(ctx.entries[6]!.request.closeReason, 'bye');
  });

  test('h2c: the bytes after the 101 and the client preface go to http2', () => {
    const got: { dir: number; data: string }[] = [];
    const fakeH2: TcpDissector = {
      name: 'http2',
      protocol: 'http',
      ports: [],
      spec: '',
      detect: () => 'no',
      createSession: (): TcpSession => ({
        onData: (dir, data) => got.push({ dir, data: Buffer.from(data).toString('latin1') }),
        onGap() {},
        onEnd() {},
        onClose() {},
      }),
    };
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    const ctx = run(
      http1Dissector,
      [
        {
          dir: 0,
          ts: 1,
          data: ascii(
            'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
          ),
        },
        {
          dir: 1,
          ts: 2,
          data: ascii(
            'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nSETTINGS',
          ),
        },
        { dir: 0, ts: 3, data: ascii(preface) },
      ],
      [],
      [fakeH2],
    );
    assert.deepEqual(cols(ctx), ['http GET / 101']);
    assert.deepEqual(got, [
      { dir: 1, data: 'SETTINGS' },
      { dir: 0, data: preface },
    ]);
  });

  test('h2c without an http2 dissector: dissection stops quietly', () => {
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1, data: ascii('GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n') },
        {
          dir: 1,
          ts: 2,
          data: ascii('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\0\0\x12\x04\0\0\0\0\0'),
        },
        { dir: 0, ts: 3, data: ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') },
      ],
      [],
      [],
    );
    assert.deepEqual(cols(ctx), ['http GET / 101']);
    assert.deepEqual(ctx.errors, []);
  });

  test('a refused upgrade: the held client bytes are HTTP after all', () => {
    const ctx = run(http1Dissector, [
      { dir: 0, ts: 1, data: ascii('GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n') },
      { dir: 0, ts: 2, data: ascii('GET /next HTTP/1.1\r\n\r\n') },
      {
        dir: 1,
        ts: 3,
        data: ascii(
          'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
        ),
      },
    ]);
    assert.deepEqual(cols(ctx), ['http GET /ws 400', 'http GET /next 200']);
  });

  test('CONNECT: the exchange is an entry, the tunnel is not parsed as HTTP', () => {
    const ctx = run(http1Dissector, [
      { dir: 0, ts: 1, data: ascii('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n') },
      { dir: 1, ts: 2, data: ascii('HTTP/1.1 200 Connection established\r\n\r\n') },
      { dir: 0, ts: 3, data: ascii('GET /not-http-any-more HTTP/1.1\r\n\r\n') },
    ]);
    assert.deepEqual(cols(ctx), ['http CONNECT example.com:443 200']);
    assert.deepEqual(ctx.errors, []);
  });
});

describe('detect', () => {
  const d = (dir: 0 | 1, s: string) => detectHttp1(dir, ascii(s));
  test('request and status lines, by content', () => {
    assert.equal(d(0, 'GET / HTTP/1.1\r\n'), 'yes');
    assert.equal(d(0, 'PROPFIND /x HTTP/1.0\n'), 'yes');
    assert.equal(d(0, 'GE'), 'more');
    assert.equal(d(0, 'GET /long/path/still/coming'), 'more');
    assert.equal(d(1, 'HTTP/1.1 200 OK\r\n'), 'yes');
    assert.equal(d(1, 'HTTP/1'), 'more');
  });
  test('other protocols are refused', () => {
    assert.equal(d(0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'no');
    assert.equal(d(0, 'OPTIONS rtsp://cam/ RTSP/1.0\r\n'), 'no');
    assert.equal(detectHttp1(0, Uint8Array.of(0x16, 0x03, 0x01, ...new Uint8Array(9000))), 'no');
  });
});

/** Random cut points for every message of a conversation. */
function cutsFor(convo: Wire[]) {
  return fc.tuple(
    ...convo.map((w) =>
      fc.array(fc.integer({ min: 1, max: Math.max(1, w.data.length - 1) }), { maxLength: 6 }),
    ),
  );
}

describe('split points (property): any cuts give the same entries', () => {
  for (const [name, make] of [
    ['keep-alive', keepAlive],
    ['pipelined', pipelined],
    ['websocket', websocket],
  ] as const) {
    test(name, () => {
      const convo = make();
      const whole = run(http1Dissector, convo);
      fc.assert(
        fc.property(cutsFor(convo), (cuts) => {
          const ctx = run(http1Dissector, convo, cuts);
          assert.deepEqual(ctx.entries, whole.entries);
          assert.deepEqual(ctx.errors, whole.errors);
        }),
        { numRuns: 150 },
      );
      // Byte by byte, the extreme case.
      const every = convo.map((w) => Array.from({ length: w.data.length }, (_, i) => i));
      assert.deepEqual(run(http1Dissector, convo, every).entries, whole.entries);
    });
  }
});

describe('fuzz: hostile bytes never throw, memory stays bounded', () => {
  const base = keepAlive();
  test('mutated and truncated conversations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 4 }),
        (flips, cutAt, splits) => {
          const convo = base.map((w) => ({ ...w, data: w.data.slice() }));
          for (const [pos, val] of flips) {
            const w = convo[pos % convo.length]!;
            if (w.data.length) w.data[(pos >> 4) % w.data.length] = val;
          }
          const n = cutAt % (convo.length + 1);
          const ctx = run(
            http1Dissector,
            convo.slice(0, n),
            convo.map(() => splits),
          );
          for (const e of ctx.entries) {
            assert.ok((e.request.body as string | undefined)?.length ?? 0 <= 200_000);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('random bytes both ways', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }),
        (chunks) => {
          const ctx = new FakeContext(http1Dissector);
          ctx.session.onData(0, ascii('GET / HTTP/1.1\r\n\r\n'), 0);
          for (const [d, data] of chunks) ctx.session.onData(d ? 1 : 0, data, 1);
          ctx.session.onClose(2);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a head that never ends, a chunk line that never ends, a held upgrade: all capped', () => {
    const ctx = new FakeContext(http1Dissector);
    const s = ctx.session as Http1Session;
    s.onData(0, ascii('GET / HTTP/1.1\r\nX: '), 0);
    const junk = new Uint8Array(4096).fill(0x61);
    for (let i = 0; i < 200; i++) s.onData(0, junk, 1);
    assert.ok(s.buffered <= MAX_HEAD_BYTES + junk.length, `head buffered ${s.buffered}`);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /head longer than/);

    const c2 = new FakeContext(http1Dissector);
    const s2 = c2.session as Http1Session;
    s2.onData(0, ascii('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'), 0);
    for (let i = 0; i < 10; i++) s2.onData(0, junk, 1);
    assert.ok(s2.buffered <= MAX_LINE_BYTES + MAX_HEAD_BYTES);
    assert.match(c2.errors[0]!, /RFC 9112 §7\.1/);

    const c3 = new FakeContext(http1Dissector);
    const s3 = c3.session as Http1Session;
    s3.onData(0, ascii('GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'), 0);
    for (let i = 0; i < 100; i++) s3.onData(0, junk, 1);
    assert.ok(s3.buffered <= MAX_HELD_BYTES);
  });

  test('a huge compressed body shows a capped prefix', () => {
    const big = Buffer.alloc(5 << 20, 'z');
    const gz = (zlib: typeof import('node:zlib')) => zlib.gzipSync(big);
    return import('node:zlib').then((zlib) => {
      const body = gz(zlib);
      const ctx = run(http1Dissector, [
        { dir: 0, ts: 1, data: ascii('GET /bomb HTTP/1.1\r\n\r\n') },
        {
          dir: 1,
          ts: 2,
          data: bytes(
            `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`,
            body,
          ),
        },
      ]);
      const r = ctx.entries[0]!.response!;
      assert.equal(r.bodySize, body.length);
      assert.equal(r.bodyTruncated, true);
      assert.ok((r.body as string).length <= 64 * 1024);
      assert.ok((r.body as string).length > 0);
    });
  });
});
