/**
 * Hand-written HTTP/1.1 conversations, byte-exact (RFC 9112 framing written out), with the entries
 * they must give. Bodies are built in code so the lengths in the heads are right.
 */
import { gzipSync } from 'node:zlib';
import { bytes, type Wire } from './harness.js';

const T0 = 1_700_000_000_000_000;

export const GZIPPED = gzipSync(Buffer.from('{"hello":"world"}'.repeat(50)));

/** Keep-alive connection exercising every framing rule of RFC 9112 §6.3. */
export function keepAlive(): Wire[] {
  const post = 'name=podwire&kind=sniffer';
  return [
    { dir: 0, ts: T0, data: bytes('GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n') },
    {
      dir: 1,
      ts: T0 + 1500,
      data: bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello'),
    },
    // Chunked request with an extension and a trailer; chunked response.
    {
      dir: 0,
      ts: T0 + 2000,
      data: bytes(
        'POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n',
        '4;ext=1\r\nabcd\r\n',
        '6\r\nefghij\r\n',
        '0\r\nX-Trailer: t\r\n\r\n',
      ),
    },
    {
      dir: 1,
      ts: T0 + 3000,
      data: bytes('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n', '3\r\nok!\r\n', '0\r\n\r\n'),
    },
    // HEAD: the response announces a length but has no body (RFC 9110 §9.3.2).
    { dir: 0, ts: T0 + 4000, data: bytes('HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n') },
    { dir: 1, ts: T0 + 4100, data: bytes('HTTP/1.1 200 OK\r\nContent-Length: 123456\r\n\r\n') },
    // 204 and 304 carry no body whatever their headers say.
    { dir: 0, ts: T0 + 5000, data: bytes('DELETE /item/7 HTTP/1.1\r\nHost: h\r\n\r\n') },
    { dir: 1, ts: T0 + 5100, data: bytes('HTTP/1.1 204 No Content\r\n\r\n') },
    { dir: 0, ts: T0 + 6000, data: bytes('GET /cached HTTP/1.1\r\nIf-None-Match: "e1"\r\n\r\n') },
    {
      dir: 1,
      ts: T0 + 6100,
      data: bytes('HTTP/1.1 304 Not Modified\r\nETag: "e1"\r\nContent-Length: 99\r\n\r\n'),
    },
    // 100-continue: head, interim response, body, final response.
    {
      dir: 0,
      ts: T0 + 7000,
      data: bytes(`POST /form HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: ${post.length}\r\n\r\n`),
    },
    { dir: 1, ts: T0 + 7100, data: bytes('HTTP/1.1 100 Continue\r\n\r\n') },
    { dir: 0, ts: T0 + 7200, data: bytes(post) },
    { dir: 1, ts: T0 + 7500, data: bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') },
    // gzip-encoded body, decoded for display.
    { dir: 0, ts: T0 + 8000, data: bytes('GET /json HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n') },
    {
      dir: 1,
      ts: T0 + 8300,
      data: bytes(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${GZIPPED.length}\r\n\r\n`,
        GZIPPED,
      ),
    },
    // HTTP/1.0 response without a length: the body runs to the close.
    { dir: 0, ts: T0 + 9000, data: bytes('GET /old HTTP/1.0\r\n\r\n') },
    {
      dir: 1,
      ts: T0 + 9400,
      data: bytes('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'),
    },
  ];
}

/** Pipelined requests in one segment, responses in one segment. */
export function pipelined(): Wire[] {
  return [
    {
      dir: 0,
      ts: T0,
      data: bytes(
        'GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: h\r\n\r\n',
      ),
    },
    {
      dir: 1,
      ts: T0 + 100,
      data: bytes(
        'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na',
        'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno',
        'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',
      ),
    },
  ];
}

/** RFC 6455 frame, masked when `mask` is given. */
export function wsFrame(
  opcode: number,
  payload: Uint8Array | string,
  opts: { fin?: boolean; mask?: number[]; rsv1?: boolean } = {},
): Uint8Array {
  const p = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const b0 = (opts.fin === false ? 0 : 0x80) | (opts.rsv1 ? 0x40 : 0) | opcode;
  const m = opts.mask ? 0x80 : 0;
  let head: number[];
  if (p.length < 126) head = [b0, m | p.length];
  else if (p.length < 65536) head = [b0, m | 126, p.length >> 8, p.length & 0xff];
  else
    head = [
      b0,
      m | 127,
      0,
      0,
      0,
      0,
      (p.length >>> 24) & 0xff,
      (p.length >>> 16) & 0xff,
      (p.length >>> 8) & 0xff,
      p.length & 0xff,
    ];
  const body = Buffer.from(p);
  if (opts.mask) for (let i = 0; i < body.length; i++) body[i]! ^= opts.mask[i & 3]!;
  return bytes(Uint8Array.from(head), opts.mask ? Uint8Array.from(opts.mask) : new Uint8Array(0), body);
}

const MASK = [0x37, 0xfa, 0x21, 0x3d];

/** An upgrade to WebSocket, frames right after the 101 in the same segment, fragments, control frames. */
export function websocket(): Wire[] {
  return [
    {
      dir: 0,
      ts: T0,
      data: bytes(
        'GET /chat?room=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    },
    {
      dir: 1,
      ts: T0 + 500,
      data: bytes(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
        wsFrame(1, 'welcome'),
      ),
    },
    // A fragmented text message with a ping between its fragments (RFC 6455 §5.4).
    {
      dir: 0,
      ts: T0 + 1000,
      data: bytes(
        wsFrame(1, 'Hel', { fin: false, mask: MASK }),
        wsFrame(9, 'p', { mask: MASK }),
        wsFrame(0, 'lo', { fin: false, mask: MASK }),
        wsFrame(0, '!', { mask: MASK }),
      ),
    },
    { dir: 1, ts: T0 + 1100, data: bytes(wsFrame(10, 'p'), wsFrame(2, Buffer.alloc(300, 7))) },
    { dir: 0, ts: T0 + 2000, data: wsFrame(8, bytes(Uint8Array.of(0x03, 0xe8), 'bye'), { mask: MASK }) },
    { dir: 1, ts: T0 + 2100, data: wsFrame(8, Uint8Array.of(0x03, 0xe8)) },
  ];
}
