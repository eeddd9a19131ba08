/**
 * AMQP 0-9-1 by content. A client's stream starts with the protocol header "AMQP" 0 0 9 1
 * (§4.2.2); a server's with connection.start; a stream picked up mid-way with any frame. A frame is
 * only believed when it is whole and checks out: a known frame type, a method the spec defines (or
 * a basic content header, or an empty heartbeat on channel 0), and the frame-end octet 0xCE exactly
 * where the size says (§4.2.3). Body frames carry arbitrary bytes and are never enough on their own.
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import {
  CLASS_BASIC,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEADER_SIZE,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_OVERHEAD,
  methodSpec,
  PROTOCOL_HEADER,
} from './spec.js';

/** Frames larger than this are not judged by detection or resynchronisation (methods are small). */
export const MAX_SYNC_FRAME = 64 * 1024;

/** AMQP 0-9's header, "AMQP" 1 1 0 9: same frames, accepted too. */
const HEADER_0_9 = Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9);

export function detectAmqp(_dir: Direction, data: Uint8Array): Detection {
  if (data.length === 0) return 'more';
  if (data[0] === 0x41) return protocolHeader(data);
  return frameAt(data, 0);
}

function protocolHeader(data: Uint8Array): Detection {
  for (const h of [PROTOCOL_HEADER, HEADER_0_9]) {
    let i = 0;
    while (i < h.length && i < data.length && data[i] === h[i]) i++;
    if (i === h.length) return 'yes';
    if (i === data.length) return 'more';
  }
  return 'no';
}

/**
 * Whether a frame that can be trusted as a sync point starts at `p`: 'more' when the bytes end
 * before it can be told.
 */
export function frameAt(b: Uint8Array, p: number): Detection {
  const left = b.length - p;
  if (left < 1) return 'more';
  const type = b[p]!;
  if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_HEARTBEAT) return 'no';
  if (left < FRAME_HEADER_SIZE) return 'more';
  const channel = (b[p + 1]! << 8) | b[p + 2]!;
  const size = ((b[p + 3]! << 24) | (b[p + 4]! << 16) | (b[p + 5]! << 8) | b[p + 6]!) >>> 0;
  if (type === FRAME_HEARTBEAT) {
    // §4.2.7: heartbeats are empty and on channel 0.
    if (channel !== 0 || size !== 0) return 'no';
  } else if (type === FRAME_METHOD) {
    if (size < 4 || size > MAX_SYNC_FRAME) return 'no';
    if (left < FRAME_HEADER_SIZE + 4) return 'more';
    const classId = (b[p + 7]! << 8) | b[p + 8]!;
    const spec = methodSpec(classId, (b[p + 9]! << 8) | b[p + 10]!);
    // Channel 0 carries the connection class only (§4.2.3 / §2.3.5); other classes need a channel.
    if (!spec || (classId === 10) !== (channel === 0)) return 'no';
  } else {
    // §4.2.6.1: class-id, weight 0, 64-bit body size, flags.
    if (channel === 0 || size < 14 || size > MAX_SYNC_FRAME) return 'no';
    if (left < FRAME_HEADER_SIZE + 4) return 'more';
    if (((b[p + 7]! << 8) | b[p + 8]!) !== CLASS_BASIC || b[p + 9] !== 0 || b[p + 10] !== 0) return 'no';
  }
  if (left < size + FRAME_OVERHEAD) return 'more';
  return b[p + FRAME_HEADER_SIZE + size] === FRAME_END ? 'yes' : 'no';
}
