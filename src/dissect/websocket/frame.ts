/**
 * WebSocket frame headers (RFC 6455 §5.2):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               |Masking-key, if MASK set to 1  |
 *  +-------------------------------+-------------------------------+
 */

/** Opcodes (RFC 6455 §5.2, §11.8). */
export const OPCODE = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export const OPCODE_NAMES: Record<number, string> = {
  [OPCODE.CONTINUATION]: 'continuation',
  [OPCODE.TEXT]: 'text',
  [OPCODE.BINARY]: 'binary',
  [OPCODE.CLOSE]: 'close',
  [OPCODE.PING]: 'ping',
  [OPCODE.PONG]: 'pong',
};

/** The longest header: 2 + 8 (64-bit length) + 4 (masking key). */
export const MAX_HEADER_BYTES = 14;

export interface FrameHeader {
  fin: boolean;
  /** RSV1..3 as bits 4..6 of the first byte, shifted down: RSV1 = 4, RSV2 = 2, RSV3 = 1. */
  rsv: number;
  opcode: number;
  /** The 4 masking-key bytes, or null when the frame is not masked. */
  mask: Uint8Array | null;
  payloadLength: number;
  headerLength: number;
}

export type HeaderResult =
  | { kind: 'need-more' }
  | { kind: 'frame'; header: FrameHeader }
  | { kind: 'malformed'; detail: string };

/** Parses the frame header at `buf[off..]`; the payload is not looked at. */
export function parseFrameHeader(buf: Uint8Array, off = 0): HeaderResult {
  const avail = buf.length - off;
  if (avail < 2) return { kind: 'need-more' };
  const b0 = buf[off]!;
  const b1 = buf[off + 1]!;
  const opcode = b0 & 0x0f;
  const fin = (b0 & 0x80) !== 0;
  const masked = (b1 & 0x80) !== 0;
  if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb)
    return { kind: 'malformed', detail: `RFC 6455 §5.2: reserved opcode 0x${opcode.toString(16)}` };
  let len = b1 & 0x7f;
  let at = 2;
  if (len === 126) {
    if (avail < 4) return { kind: 'need-more' };
    len = (buf[off + 2]! << 8) | buf[off + 3]!;
    at = 4;
  } else if (len === 127) {
    if (avail < 10) return { kind: 'need-more' };
    const hi = ((buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!) >>> 0;
    const lo = ((buf[off + 6]! << 24) | (buf[off + 7]! << 16) | (buf[off + 8]! << 8) | buf[off + 9]!) >>> 0;
    // §5.2: the most significant bit MUST be 0; above 2^53 a number would not hold it exactly.
    if (hi >= 0x200000)
      return { kind: 'malformed', detail: 'RFC 6455 §5.2: 64-bit payload length too large' };
    len = hi * 0x100000000 + lo;
    at = 10;
  }
  if (opcode >= 0x8 && (!fin || len > 125))
    return {
      kind: 'malformed',
      detail: 'RFC 6455 §5.5: control frame fragmented or longer than 125 bytes',
    };
  let mask: Uint8Array | null = null;
  if (masked) {
    if (avail < at + 4) return { kind: 'need-more' };
    mask = buf.slice(off + at, off + at + 4);
    at += 4;
  }
  return {
    kind: 'frame',
    header: { fin, rsv: (b0 >> 4) & 0x7, opcode, mask, payloadLength: len, headerLength: at },
  };
}

/** Unmasks `data` in place (RFC 6455 §5.3); `offset` is the position of data[0] in the payload. */
export function unmask(data: Uint8Array, mask: Uint8Array, offset: number): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= mask[(offset + i) & 3]!;
}
