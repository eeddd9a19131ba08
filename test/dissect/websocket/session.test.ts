/**
 * WebSocket frames and messages (RFC 6455 §5) and permessage-deflate (RFC 7692) on hand-built
 * frames: masking, fragmentation with interleaved control frames, close codes, context takeover,
 * a session started without its handshake (decode-as), gaps, split points and fuzzing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constants, createDeflateRaw } from 'node:zlib';
import fc from 'fast-check';
import { http1Dissector } from '../../../src/dissect/http1/index.js';
import { parseFrameHeader } from '../../../src/dissect/websocket/frame.js';
import { websocketDissector } from '../../../src/dissect/websocket/index.js';
import type { WebSocketSession } from '../../../src/dissect/websocket/session.js';
import { websocket, wsFrame } from '../http1/fixtures.js';
import { ascii, bytes, FakeContext, run, type Wire } from '../http1/harness.js';

const MASK = [1, 2, 3, 4];

/** Deflates messages one after another on one stream (context takeover), each sync-flushed. */
async function deflateMessages(texts: string[]): Promise<Uint8Array[]> {
  const d = createDeflateRaw();
  const out: Uint8Array[] = [];
  for (const t of texts) {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    d.on('data', onData);
    d.write(t);
    await new Promise<void>((resolve) => d.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    d.off('data', onData);
    const all = Buffer.concat(chunks);
    // RFC 7692 §7.2.1: the trailing 0x00 0x00 0xff 0xff is removed.
    out.push(all.subarray(0, all.length - 4));
  }
  d.close();
  return out;
}

describe('frame header (RFC 6455 §5.2)', () => {
  test('lengths 7, 16 and 64 bits, mask', () => {
    const h = (b: Uint8Array) => parseFrameHeader(b);
    assert.deepEqual(h(wsFrame(1, 'abc')), {
      kind: 'frame',
      header: { fin: true, rsv: 0, opcode: 1, mask: null, payloadLength: 3, headerLength: 2 },
    });
    const r16 = h(wsFrame(2, new Uint8Array(300), { mask: MASK }));
    assert.equal(r16.kind === 'frame' && r16.header.payloadLength, 300);
    assert.equal(r16.kind === 'frame' && r16.header.headerLength, 8);
    const r64 = h(wsFrame(2, new Uint8Array(70000)));
    assert.equal(r64.kind === 'frame' && r64.header.payloadLength, 70000);
    assert.equal(h(Uint8Array.of(0x81)).kind, 'need-more');
    assert.equal(h(Uint8Array.of(0x81, 0xfe, 0)).kind, 'need-more');
  });
  test('malformed: reserved opcode, long or fragmented control frame, 64-bit MSB', () => {
    const m = (b: number[]) => {
      const r = parseFrameHeader(Uint8Array.from(b));
      return r.kind === 'malformed' ? r.detail : r.kind;
    };
    assert.match(m([0x83, 0]), /§5\.2: reserved opcode 0x3/);
    assert.match(m([0x89, 126, 0, 200]), /§5\.5/);
    assert.match(m([0x09, 0]), /§5\.5/);
    assert.match(m([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), /64-bit/);
  });
});

describe('permessage-deflate with context takeover (RFC 7692)', () => {
  test('each message inflated with the previous ones as dictionary', async () => {
    const texts = ['{"type":"hello","value":1}', '{"type":"hello","value":2}', '{"type":"hello","value":3}'];
    const compressed = await deflateMessages(texts);
    const convo: Wire[] = [
      {
        dir: 0,
        ts: 1,
        data: ascii(
          'GET /z HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
        ),
      },
      {
        dir: 1,
        ts: 2,
        data: ascii(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
        ),
      },
      ...compressed.map((c, i): Wire => ({ dir: 1, ts: 3 + i, data: wsFrame(1, c, { rsv1: true }) })),
    ];
    const ctx = run(http1Dissector, convo);
    assert.deepEqual(ctx.errors, []);
    const ws = ctx.entries.filter((e) => e.protocol === 'websocket');
    assert.deepEqual(
      ws.map((e) => e.request.payload),
      texts,
    );
    assert.deepEqual(
      ws.map((e) => e.request.payloadSize),
      compressed.map((c) => c.length),
    );
    assert.ok((ws[2]!.request.payloadSize as number) < texts[2]!.length, 'later messages use the context');
  });
});

describe('a session without its handshake (decode-as)', () => {
  test('frames from the first byte; no masking rule without knowing who is the client', () => {
    const ctx = run(websocketDissector, [
      { dir: 0, ts: 1, data: wsFrame(1, 'server speaks first') },
      { dir: 1, ts: 2, data: wsFrame(1, 'masked reply', { mask: MASK }) },
    ]);
    assert.deepEqual(
      ctx.entries.map((e) => [e.method, e.request.payload, e.path, e.request.upgradeEntryId]),
      [
        ['text', 'server speaks first', '', null],
        ['text', 'masked reply', '', null],
      ],
    );
    assert.deepEqual(ctx.errors, []);
  });
});

describe('gaps and malformed frames', () => {
  test('a gap inside a payload keeps the framing and marks the message', () => {
    const ctx = new FakeContext(websocketDissector);
    const f = wsFrame(2, new Uint8Array(1000));
    ctx.session.onData(0, f.subarray(0, 100), 1);
    ctx.session.onGap(0, 800, 2);
    ctx.session.onData(0, f.subarray(900), 3);
    ctx.session.onData(0, wsFrame(1, 'next'), 4);
    ctx.session.onClose(5);
    assert.deepEqual(
      ctx.entries.map((e) => [e.method, e.request.payloadSize, e.error !== null]),
      [
        ['binary', 1000, true],
        ['text', 4, false],
      ],
    );
  });
  test('a gap across a frame boundary stops the direction, the partial message is marked', () => {
    const ctx = new FakeContext(websocketDissector);
    ctx.session.onData(0, wsFrame(1, 'ab', { fin: false }), 1);
    ctx.session.onGap(0, 50, 2);
    ctx.session.onData(0, wsFrame(1, 'lost'), 3);
    ctx.session.onClose(4);
    assert.equal(ctx.entries.length, 1);
    assert.match(ctx.entries[0]!.error!, /gap/);
  });
  test('a reserved opcode is a parse error citing §5.2', () => {
    const ctx = run(websocketDissector, [{ dir: 0, ts: 1, data: Uint8Array.of(0x83, 0x00) }]);
    assert.match(ctx.errors[0]!, /RFC 6455 §5\.2/);
  });
});

describe('split points (property)', () => {
  test('frames cut anywhere give the same messages', () => {
    const convo: Wire[] = [
      {
        dir: 0,
        ts: 1,
        data: bytes(
          wsFrame(1, 'x'.repeat(200), { fin: false, mask: MASK }),
          wsFrame(9, 'ping', { mask: MASK }),
          wsFrame(0, 'y'.repeat(70000), { mask: MASK }),
        ),
      },
      { dir: 1, ts: 2, data: bytes(wsFrame(10, 'ping'), wsFrame(8, Uint8Array.of(3, 0xe9, 0x62))) },
    ];
    const whole = run(websocketDissector, convo);
    assert.equal(whole.entries.length, 4);
    fc.assert(
      fc.property(
        fc.tuple(
          fc.array(fc.integer({ min: 1, max: convo[0]!.data.length - 1 }), { maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: convo[1]!.data.length - 1 }), { maxLength: 4 }),
        ),
        (cuts) => {
          assert.deepEqual(run(websocketDissector, convo, cuts).entries, whole.entries);
        },
      ),
      { numRuns: 200 },
    );
  });
  test('the upgrade fixture byte by byte', () => {
    const convo = websocket();
    const every = convo.map((w) => Array.from({ length: w.data.length }, (_, i) => i));
    assert.deepEqual(run(http1Dissector, convo, every).entries, run(http1Dissector, convo).entries);
  });
});

describe('fuzz', () => {
  test('random and mutated frames never throw; kept payloads stay capped', () => {
    const base = bytes(
      wsFrame(1, 'hello', { mask: MASK }),
      wsFrame(2, new Uint8Array(500), { fin: false }),
      wsFrame(0, 'z', {}),
      wsFrame(8, Uint8Array.of(3, 0xe8)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(base.length),
        (flips, tail, cut) => {
          const data = base.slice(0, cut);
          for (const [p, v] of flips) if (p < data.length) data[p] = v;
          const ctx = new FakeContext(websocketDissector);
          (ctx.session as WebSocketSession).attachUpgrade({
            upgradeEntryId: null,
            path: '/',
            extensions: 'permessage-deflate',
            subprotocol: undefined,
          });
          ctx.session.onData(0, data, 1);
          ctx.session.onData(1, tail, 2);
          ctx.session.onClose(3);
          for (const e of ctx.entries) assert.ok(String(e.request.payload ?? '').length <= 100_000);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
