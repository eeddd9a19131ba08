/**
 * The HTTP/2 session on exact bytes: a prior-knowledge conversation with CONTINUATION, padding,
 * priority, informational responses, trailers, RST_STREAM, server push and gRPC; an h2c upgrade;
 * a connection joined mid-way; gaps; split-point properties (any cut of the byte streams gives the
 * same entries); and a fuzz run (no throw, errors counted).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectHttp2 } from '../../../src/dissect/http2/detect.js';
import { Http2Session } from '../../../src/dissect/http2/session.js';
import type { Direction } from '../../../src/flows/stream.js';
import {
  type Detail,
  data,
  frame,
  grpcMessage,
  HeaderWriter,
  PREFACE,
  RecordingContext,
  rst,
  settings,
  settingsAck,
} from './builders.js';

interface Chunk {
  dir: Direction;
  bytes: Uint8Array;
  ts: number;
}

/** A conversation: client and server writers share nothing but the order of chunks. */
function conversation(): Chunk[] {
  const c = new HeaderWriter();
  const s = new HeaderWriter();
  const out: Chunk[] = [];
  let ts = 1_000_000;
  const send = (dir: Direction, ...parts: Uint8Array[]) => {
    out.push({ dir, bytes: Buffer.concat(parts), ts });
    ts += 1000;
  };
  send(0, PREFACE, settings([[4, 65535]]));
  send(1, settings([[3, 100]]), settingsAck());
  send(0, settingsAck());
  // Stream 1: GET split over HEADERS + 2 CONTINUATION, padded and with priority.
  send(
    0,
    c.headers(
      1,
      [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/index.html?x=1'],
        [':authority', 'example.test'],
        ['user-agent', 'podwire-test'],
        ['cookie', 'a=1'],
        ['cookie', 'b=2'],
      ],
      { endStream: true, pieces: 3, pad: 4, priority: true },
    ),
  );
  // Stream 3: POST with a body, 100-continue, and request trailers.
  send(
    0,
    c.headers(3, [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/upload'],
      [':authority', 'example.test'],
      ['content-type', 'application/json'],
      ['expect', '100-continue'],
    ]),
  );
  send(1, s.headers(3, [[':status', '100']]));
  send(
    0,
    data(3, '{"a":'),
    data(3, '1}', false, 3),
    c.headers(3, [['x-checksum', 'abc']], { endStream: true }),
  );
  send(
    1,
    s.headers(1, [
      [':status', '200'],
      ['content-type', 'text/html'],
    ]),
    data(1, '<html>', false, 10),
    s.pushPromise(1, 2, [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/style.css'],
      [':authority', 'example.test'],
    ]),
    data(1, '</html>', true),
  );
  send(
    1,
    s.headers(2, [
      [':status', '200'],
      ['content-type', 'text/css'],
    ]),
    data(2, 'b{}', true),
  );
  send(
    1,
    s.headers(3, [[':status', '201']]),
    data(3, 'ok', false),
    s.headers(3, [['x-done', '1']], { endStream: true }),
  );
  // Stream 5: cancelled by the client after the response headers.
  send(
    0,
    c.headers(
      5,
      [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/slow'],
        [':authority', 'example.test'],
      ],
      { endStream: true },
    ),
  );
  send(1, s.headers(5, [[':status', '200']]), data(5, 'partial'));
  send(0, rst(5, 8));
  // Stream 7: gRPC server streaming with a status in the trailers.
  const grpcReq = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/pkg.Svc/List'],
    [':authority', 'example.test'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ] as [string, string][];
  send(0, c.headers(7, grpcReq), data(7, grpcMessage(Uint8Array.from([0x08, 0x96, 0x01])), true));
  const two = Buffer.concat([
    grpcMessage(Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63])),
    grpcMessage(new Uint8Array(0)),
  ]);
  send(
    1,
    s.headers(7, [
      [':status', '200'],
      ['content-type', 'application/grpc'],
    ]),
    data(7, two.subarray(0, 7)),
    data(7, two.subarray(7)),
    data(7, grpcMessage(Buffer.from([0x10, 0x01]))),
    s.headers(
      7,
      [
        ['grpc-status', '5'],
        ['grpc-message', 'not%20found: %E2%9C%93'],
      ],
      { endStream: true },
    ),
  );
  // Stream 9: gRPC Trailers-Only error.
  send(
    0,
    c.headers(
      9,
      grpcReq.map(([n, v]) => [n, n === ':path' ? '/pkg.Svc/Get' : v] as [string, string]),
    ),
    data(9, grpcMessage(new Uint8Array(0)), true),
  );
  send(
    1,
    s.headers(
      9,
      [
        [':status', '200'],
        ['content-type', 'application/grpc'],
        ['grpc-status', '12'],
      ],
      { endStream: true },
    ),
  );
  return out;
}

function run(chunks: Chunk[], cuts?: number[][]): RecordingContext {
  const ctx = new RecordingContext();
  const session = new Http2Session(ctx);
  for (const [i, ch] of chunks.entries()) {
    const points = [...new Set((cuts?.[i] ?? []).map((p) => p % (ch.bytes.length + 1)))].sort(
      (a, b) => a - b,
    );
    let prev = 0;
    for (const p of [...points, ch.bytes.length]) {
      // A fresh copy per piece, overwritten afterwards: the session must copy what it keeps.
      const piece = new Uint8Array(ch.bytes.subarray(prev, p));
      session.onData(ch.dir, piece, ch.ts);
      piece.fill(0xee);
      prev = p;
    }
  }
  session.onClose(chunks.at(-1)!.ts + 1000);
  return ctx;
}

describe('HTTP/2 session: a prior-knowledge conversation', () => {
  const ctx = run(conversation());
  const byPath = (p: string) => ctx.entries.find((e) => e.path === p)!;

  test('one entry per stream, no parse error', () => {
    assert.deepEqual(ctx.errors, []);
    assert.deepEqual(ctx.entries.map((e) => e.path).sort(), [
      '/index.html?x=1',
      '/pkg.Svc/Get',
      '/pkg.Svc/List',
      '/slow',
      '/style.css',
      '/upload',
    ]);
  });

  test('GET over HEADERS + CONTINUATION with padding and priority', () => {
    const e = byPath('/index.html?x=1');
    assert.equal(e.protocol, 'http');
    assert.equal(e.method, 'GET');
    assert.equal(e.status, 200);
    assert.equal(e.error, null);
    assert.equal(e.request.httpVersion, '2');
    assert.deepEqual(e.request.headers, { 'user-agent': 'podwire-test', cookie: 'a=1; b=2' });
    assert.deepEqual((e.response as Record<string, unknown>).body, {
      size: 13,
      mimeType: 'text/html',
      encoding: 'utf8',
      text: '<html></html>',
      truncated: false,
    });
    // Request: preface/settings not counted; its HEADERS + 2 CONTINUATION frames.
    assert.ok(e.requestSize > 27);
    assert.equal(e.elapsedMs, 4); // request at chunk 3, response at chunk 7: 4 ms apart
  });

  test('POST with body, 100 Continue and trailers on both sides', () => {
    const e = byPath('/upload');
    assert.equal(e.status, 201);
    const req = e.request as Detail;
    const res = e.response as Detail;
    assert.equal(req.body.text, '{"a":1}');
    assert.deepEqual(req.trailers, { 'x-checksum': 'abc' });
    assert.deepEqual(res.informational, [100]);
    assert.deepEqual(res.trailers, { 'x-done': '1' });
    assert.equal(e.elapsedMs, 1); // the 100 is the response's first byte
  });

  test('server push: the PUSH_PROMISE is the request of the promised stream', () => {
    const e = byPath('/style.css');
    assert.equal(e.request.pushed, true);
    assert.equal(e.status, 200);
    assert.equal((e.response as Detail).body.text, 'b{}');
  });

  test('RST_STREAM ends the stream with an error naming the code and the side', () => {
    const e = byPath('/slow');
    assert.equal(e.status, 200);
    assert.match(String(e.error), /RST_STREAM CANCEL from the client/);
  });

  test('gRPC: messages across DATA frames, status and percent-decoded message from trailers', () => {
    const e = byPath('/pkg.Svc/List');
    assert.equal(e.protocol, 'grpc');
    assert.equal(e.method, 'POST');
    assert.equal(e.status, 5);
    const req = e.request as Detail;
    const res = e.response as Detail;
    assert.equal(req.service, 'pkg.Svc');
    assert.equal(req.rpc, 'List');
    assert.equal(req.messageCount, 1);
    assert.deepEqual(req.messages[0].protobuf, [{ n: 1, wire: 'varint', value: 150 }]);
    assert.equal(res.messageCount, 3);
    assert.deepEqual(res.messages[0].protobuf, [{ n: 1, wire: 'len', length: 3, text: 'abc' }]);
    assert.equal(res.grpcStatusName, 'NOT_FOUND');
    assert.equal(res.grpcMessage, 'not found: ✓');
    assert.equal(e.error, null);
  });

  test('gRPC Trailers-Only: the status comes from the response headers', () => {
    const e = byPath('/pkg.Svc/Get');
    assert.equal(e.status, 12);
    assert.equal((e.response as Detail).grpcStatusName, 'UNIMPLEMENTED');
  });

  test('split-point property: any cut of the byte streams gives the same entries', () => {
    const chunks = conversation();
    const expected = run(chunks).entries;
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(4000), { maxLength: 6 }), {
          minLength: chunks.length,
          maxLength: chunks.length,
        }),
        (cuts) => {
          const got = run(chunks, cuts);
          assert.deepEqual(got.entries, expected);
          assert.deepEqual(got.errors, []);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('every single cut point, byte by byte', () => {
    const chunks = conversation();
    const expected = run(chunks).entries;
    for (const [i, ch] of chunks.entries()) {
      for (let p = 1; p < ch.bytes.length; p++) {
        const cuts = chunks.map((_, j) => (j === i ? [p] : []));
        assert.deepEqual(run(chunks, cuts).entries, expected, `chunk ${i} cut at ${p}`);
      }
    }
  });
});

describe('HTTP/2 session: h2c upgrade and mid-connection', () => {
  test('h2c upgrade: the HTTP/1.1 request is stream 1, its response comes over HTTP/2', () => {
    const ctx = new RecordingContext();
    const session = new Http2Session(ctx);
    session.upgradeRequest({ method: 'GET', path: '/file', headers: [['Host', 'h']], ts: 1000, size: 120 });
    const s = new HeaderWriter();
    session.onData(
      1,
      Buffer.concat([settings(), s.headers(1, [[':status', '206']]), data(1, 'abc', true)]),
      3000,
    );
    session.onData(0, Buffer.concat([PREFACE, settings()]), 3500);
    session.onClose(4000);
    assert.equal(ctx.entries.length, 1);
    const e = ctx.entries[0]!;
    assert.equal(e.method, 'GET');
    assert.equal(e.path, '/file');
    assert.equal(e.status, 206);
    assert.equal(e.elapsedMs, 2);
    assert.equal(e.requestSize, 120);
    assert.equal(e.request.upgradedFrom, 'HTTP/1.1');
    assert.equal(e.error, null);
  });

  test('joined mid-connection: frames without the preface, dynamic-table references marked', () => {
    const c = new HeaderWriter();
    const s = new HeaderWriter();
    // Warm the encoders as if earlier requests had been sent before the capture.
    const req: [string, string][] = [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/a'],
      [':authority', 'h'],
      ['x-token', 'secret'],
    ];
    c.headers(1, req);
    s.headers(1, [
      [':status', '200'],
      ['server', 'x'],
    ]);
    const ctx = new RecordingContext();
    const session = new Http2Session(ctx);
    session.onData(0, c.headers(3, req, { endStream: true }), 1000);
    session.onData(
      1,
      Buffer.concat([
        s.headers(3, [
          [':status', '200'],
          ['server', 'x'],
        ]),
        data(3, 'hi', true),
      ]),
      2000,
    );
    session.onClose(3000);
    const e = ctx.entries[0]!;
    assert.equal(e.method, 'GET');
    assert.equal(e.status, 200);
    assert.match(String(e.error), /HPACK index \d+ refers to a dynamic table entry added before the capture/);
  });

  test('detect: the preface, a request HEADERS frame mid-connection, and not random bytes', () => {
    assert.equal(detectHttp2(0, PREFACE), 'yes');
    assert.equal(detectHttp2(0, PREFACE.subarray(0, 10)), 'more');
    const c = new HeaderWriter();
    const h = c.headers(1, [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'a'],
    ]);
    assert.equal(detectHttp2(0, h), 'yes');
    assert.equal(detectHttp2(0, h.subarray(0, 12)), 'more');
    assert.equal(detectHttp2(0, Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), 'no');
    assert.equal(detectHttp2(1, settings([[3, 100]])), 'more');
    assert.equal(detectHttp2(1, Buffer.from('HTTP/1.1 200 OK\r\n')), 'no');
  });
});

describe('HTTP/2 session: gaps and hostile bytes', () => {
  test('a gap inside a DATA frame marks that stream; the next stream is whole', () => {
    const chunks = conversation();
    const ctx = new RecordingContext();
    const session = new Http2Session(ctx);
    for (const ch of chunks) {
      // Chunk 7 carries stream 1's response: lose 3 bytes inside its first DATA frame's payload.
      if (chunks.indexOf(ch) === 7) {
        // HEADERS frame, then DATA's 9-byte header and Pad Length: "<html>" starts there.
        const html = 9 + ((ch.bytes[1]! << 8) | ch.bytes[2]!) + 10;
        session.onData(ch.dir, ch.bytes.subarray(0, html + 1), ch.ts);
        session.onGap(ch.dir, 3, ch.ts);
        session.onData(ch.dir, ch.bytes.subarray(html + 4), ch.ts);
      } else session.onData(ch.dir, ch.bytes, ch.ts);
    }
    session.onClose(1e9);
    const e = ctx.entries.find((x) => x.path === '/index.html?x=1')!;
    assert.match(String(e.error), /DATA lost in a gap/);
    assert.equal(ctx.entries.find((x) => x.path === '/upload')!.error, null);
    assert.equal(ctx.entries.length, 6);
  });

  test('a gap across frame boundaries: sync is found again on the next frame header', () => {
    const s = new HeaderWriter();
    const c = new HeaderWriter();
    const ctx = new RecordingContext();
    const session = new Http2Session(ctx);
    session.onData(0, Buffer.concat([PREFACE, settings()]), 1);
    session.onData(
      0,
      c.headers(
        1,
        [
          [':method', 'GET'],
          [':scheme', 'http'],
          [':path', '/x'],
          [':authority', 'a'],
        ],
        { endStream: true },
      ),
      2,
    );
    session.onData(1, settings(), 3);
    session.onGap(1, 17, 4); // a lost PING frame
    session.onData(1, Buffer.concat([s.headers(1, [[':status', '404']]), data(1, 'no', true)]), 5);
    session.onClose(6);
    assert.equal(ctx.entries[0]!.status, 404);
    assert.match(String(ctx.entries[0]!.error), /bytes lost in a gap/);
  });

  test('fuzz: random and mutated bytes never throw; parse errors are counted', () => {
    const base = conversation();
    let errors = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(5000), fc.integer({ min: 0, max: 255 })), {
          maxLength: 12,
        }),
        fc.array(
          fc.record({ dir: fc.constantFrom<Direction>(0, 1), bytes: fc.uint8Array({ maxLength: 300 }) }),
          {
            maxLength: 6,
          },
        ),
        fc.nat(base.length),
        (mutations, random, cutAt) => {
          const chunks = base.slice(0, cutAt).map((c) => ({ ...c, bytes: c.bytes.slice() }));
          for (const [i, pos, val] of mutations) {
            const ch = chunks[i];
            if (ch?.bytes.length) ch.bytes[pos % ch.bytes.length] = val;
          }
          const ctx = new RecordingContext();
          const session = new Http2Session(ctx);
          for (const ch of chunks) session.onData(ch.dir, ch.bytes, ch.ts);
          for (const r of random) session.onData(r.dir, r.bytes, 1);
          session.onGap(0, 5, 2);
          session.onData(1, frame(1, 4, 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 3);
          session.onClose(10);
          errors += ctx.errors.length;
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(errors > 0);
  });

  test('a huge frame length is skipped, not buffered', () => {
    const ctx = new RecordingContext();
    const session = new Http2Session(ctx);
    session.onData(0, PREFACE, 1);
    // HEADERS of 16 MiB - 1: bigger than what is kept; its bytes are skipped as they come.
    session.onData(
      0,
      frame(1, 4, 1, []).map((b, i) => (i < 3 ? 0xff : b)),
      2,
    );
    for (let i = 0; i < 64; i++) session.onData(0, new Uint8Array(64 * 1024), 3);
    session.onClose(4);
    assert.match(ctx.errors.join('\n'), /exceeds the 262144-byte bound/);
  });
});
