/**
 * The HTTP/2 frame layer of one direction (RFC 9113 §4.1), as a push parser: bytes go in as they
 * arrive, whole frames come out. Control frames and header blocks are collected whole (bounded);
 * DATA payloads stream through in pieces with their padding removed, so a large body never sits in
 * memory here.
 *
 * HTTP/2 has no resynchronisation marker. After a gap the parser still knows where it is when the
 * gap ends inside the current frame; otherwise it looks for two consecutive plausible frame headers
 * (bounded search) and carries on from there.
 */
import { u32be } from '../../wire/bytes.js';
import { CLIENT_PREFACE, Flag, FRAME_HEADER_SIZE, type FrameHeader, FrameType } from './messages.js';

/** Largest non-DATA frame collected; the protocol allows 2^24-1 (RFC 9113 §4.2), real stacks 16 KiB. */
export const MAX_CONTROL_FRAME = 256 * 1024;
/** Bytes searched for a frame boundary after losing it, before giving up on the direction. */
export const MAX_RESYNC_BYTES = 64 * 1024;
/** SETTINGS_MAX_FRAME_SIZE's upper bound (RFC 9113 §6.5.2), used to judge a frame header plausible. */
const MAX_FRAME_SIZE = (1 << 24) - 1;

export interface FrameSink {
  /** A whole non-DATA frame; `payload` is valid only during the call; `ts` is its first byte's. */
  frame(h: FrameHeader, payload: Uint8Array, ts: number): void;
  /** A DATA frame starts (its header is read). */
  dataStart(h: FrameHeader, ts: number): void;
  /** Data of the current DATA frame, padding removed; valid only during the call. */
  data(h: FrameHeader, chunk: Uint8Array): void;
  dataEnd(h: FrameHeader): void;
  /**
   * Part (or all) of a frame's payload is missing: a gap inside it, or a control frame too large to
   * keep. For HEADERS/PUSH_PROMISE/CONTINUATION this loses HPACK state.
   */
  lostFrame(h: FrameHeader, detail: string): void;
  /**
   * Frame boundaries were lost (a gap across them) and found again after `skipped` bytes, or not
   * (`skipped` is -1: the direction is no longer parsed).
   */
  lostSync(skipped: number, detail: string): void;
  /** A framing violation (the frame is skipped when its length is still known). */
  malformed(detail: string): void;
}

type State = 'preface' | 'header' | 'payload' | 'lost' | 'dead';

export class FrameParser {
  private state: State;
  private prefaceMatched = 0;
  private readonly head = new Uint8Array(FRAME_HEADER_SIZE);
  private headFill = 0;
  private headTs = 0;
  private current: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  /** Payload bytes of the current frame consumed so far. */
  private consumed = 0;
  /** Collected payload of a control frame (a copy: it outlives the capture buffer), or null to skip. */
  private payload: Uint8Array | null = null;
  /** DATA padding length once known, -1 before its first payload byte. */
  private padLength = -1;
  private frameBroken = false;
  /** While lost: bytes held to search for a frame boundary (copied). */
  private lostBuf: Uint8Array[] = [];
  private lostBytes = 0;
  /** Counters shown on the connection record. */
  readonly counts: number[] = new Array(10).fill(0);

  constructor(
    private readonly sink: FrameSink,
    expectPreface: boolean,
  ) {
    this.state = expectPreface ? 'preface' : 'header';
  }

  /** True once the direction started with the client preface (RFC 9113 §3.4). */
  sawPreface = false;
  /** True once any byte (or gap) of the direction was seen. */
  started = false;

  feed(data: Uint8Array, ts: number): void {
    if (data.length) this.started = true;
    let pos = 0;
    while (pos < data.length) {
      switch (this.state) {
        case 'dead':
          return;
        case 'preface': {
          // RFC 9113 §3.4: a prior-knowledge (or upgraded) client starts with the preface. A
          // direction that does not was joined mid-connection: its bytes are frames.
          const want = CLIENT_PREFACE[this.prefaceMatched]!;
          if (data[pos] === want) {
            pos++;
            if (++this.prefaceMatched === CLIENT_PREFACE.length) {
              this.sawPreface = true;
              this.state = 'header';
            }
          } else {
            const matched = CLIENT_PREFACE.subarray(0, this.prefaceMatched);
            this.state = 'header';
            if (matched.length) this.feed(matched, ts);
          }
          break;
        }
        case 'header': {
          if (this.headFill === 0) this.headTs = ts;
          const take = Math.min(FRAME_HEADER_SIZE - this.headFill, data.length - pos);
          this.head.set(data.subarray(pos, pos + take), this.headFill);
          this.headFill += take;
          pos += take;
          if (this.headFill === FRAME_HEADER_SIZE) this.startFrame(readHeader(this.head, 0));
          break;
        }
        case 'payload':
          pos += this.feedPayload(data.subarray(pos));
          break;
        case 'lost':
          this.hold(data.subarray(pos), ts);
          return;
      }
    }
  }

  /** `bytes` of this direction were never seen. */
  gap(bytes: number): void {
    if (this.state === 'dead' || bytes <= 0) return;
    this.started = true;
    if (this.state === 'payload') {
      const remaining = this.current.length - this.consumed;
      if (bytes <= remaining) {
        // The gap ends inside (or exactly at the end of) the current frame: the boundaries hold.
        this.breakFrame(`a gap of ${bytes} bytes inside the frame`);
        this.consumed += bytes;
        if (this.current.type === FrameType.DATA && this.padLength < 0) this.padLength = 0;
        if (this.consumed === this.current.length) this.endFrame();
        return;
      }
      this.breakFrame('a gap across the end of the frame');
    }
    this.headFill = 0;
    this.payload = null;
    this.state = 'lost';
    this.lostBuf = [];
    this.lostBytes = 0;
  }

  private startFrame(h: FrameHeader): void {
    this.headFill = 0;
    this.current = h;
    this.consumed = 0;
    this.padLength = -1;
    this.frameBroken = false;
    if (h.type < this.counts.length) this.counts[h.type]!++;
    if (h.type === FrameType.DATA) {
      this.payload = null;
      this.sink.dataStart(h, this.headTs);
    } else if (h.length > MAX_CONTROL_FRAME) {
      this.payload = null;
      this.breakFrame(`a ${h.length}-byte frame exceeds the ${MAX_CONTROL_FRAME}-byte bound kept here`);
    } else {
      this.payload = new Uint8Array(h.length);
    }
    this.state = 'payload';
    if (h.length === 0) this.endFrame();
  }

  /** Consumes payload bytes of the current frame; returns how many. */
  private feedPayload(chunk: Uint8Array): number {
    const h = this.current;
    const take = Math.min(h.length - this.consumed, chunk.length);
    const part = chunk.subarray(0, take);
    if (h.type === FrameType.DATA) this.feedData(part);
    else if (this.payload) this.payload.set(part, this.consumed);
    this.consumed += take;
    if (this.consumed === h.length) this.endFrame();
    return take;
  }

  /** RFC 9113 §6.1: DATA is [Pad Length (8) if PADDED], data, padding. */
  private feedData(part: Uint8Array): void {
    const h = this.current;
    let offset = this.consumed;
    let p = part;
    if (this.padLength < 0) {
      if (!(h.flags & Flag.PADDED)) this.padLength = 0;
      else if (p.length > 0) {
        this.padLength = p[0]!;
        if (this.padLength >= h.length) {
          this.sink.malformed(`RFC 9113 §6.1: DATA padding (${this.padLength}) not shorter than the frame`);
          this.padLength = h.length - 1;
        }
        p = p.subarray(1);
        offset++;
      }
    }
    const dataEnd = h.length - Math.max(this.padLength, 0);
    const usable = Math.max(0, Math.min(p.length, dataEnd - offset));
    if (usable > 0) this.sink.data(h, p.subarray(0, usable));
  }

  private endFrame(): void {
    const h = this.current;
    this.state = 'header';
    if (h.type === FrameType.DATA) this.sink.dataEnd(h);
    else if (this.payload) this.sink.frame(h, this.payload, this.headTs);
    this.payload = null;
  }

  private breakFrame(detail: string): void {
    if (this.frameBroken) return;
    this.frameBroken = true;
    this.payload = null;
    this.sink.lostFrame(this.current, detail);
  }

  /** Lost state: hold bytes (bounded) and look for two consecutive plausible frame headers. */
  private hold(data: Uint8Array, ts: number): void {
    // Held bytes outlive the capture buffer: copied, at most MAX_RESYNC_BYTES.
    this.lostBuf.push(new Uint8Array(data));
    this.lostBytes += data.length;
    const buf = this.lostBuf.length === 1 ? this.lostBuf[0]! : Buffer.concat(this.lostBuf);
    this.lostBuf = [buf];
    const at = findBoundary(buf);
    if (at >= 0) {
      this.sink.lostSync(at, `frame boundary found again after skipping ${at} bytes`);
      this.state = 'header';
      this.lostBuf = [];
      this.lostBytes = 0;
      this.feed(buf.subarray(at), ts);
      return;
    }
    if (this.lostBytes > MAX_RESYNC_BYTES) {
      this.sink.lostSync(
        -1,
        `no frame boundary in ${this.lostBytes} bytes after a gap; direction no longer parsed`,
      );
      this.state = 'dead';
      this.lostBuf = [];
    }
  }
}

export function readHeader(b: Uint8Array, i: number): FrameHeader {
  return {
    length: (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!,
    type: b[i + 3]!,
    flags: b[i + 4]!,
    // RFC 9113 §4.1: the reserved bit is ignored on receipt.
    streamId: u32be(b, i + 5) & 0x7fffffff,
  };
}

/** Flags each known frame type defines (RFC 9113 §6); others must be unset to look plausible. */
const DEFINED_FLAGS = [0x09, 0x2d, 0x00, 0x00, 0x01, 0x0c, 0x01, 0x00, 0x00, 0x04];

/** Whether a frame header could be real: a known type, its flags, its stream rule, a sane length. */
export function plausibleHeader(h: FrameHeader, reservedBit: boolean): boolean {
  if (reservedBit || h.type > FrameType.CONTINUATION || h.length > MAX_FRAME_SIZE) return false;
  if (h.flags & ~DEFINED_FLAGS[h.type]!) return false;
  const connectionLevel =
    h.type === FrameType.SETTINGS || h.type === FrameType.PING || h.type === FrameType.GOAWAY;
  if (connectionLevel !== (h.streamId === 0) && h.type !== FrameType.WINDOW_UPDATE) return false;
  if (h.type === FrameType.SETTINGS && h.length % 6 !== 0) return false;
  if (h.type === FrameType.PING && h.length !== 8) return false;
  if ((h.type === FrameType.RST_STREAM || h.type === FrameType.WINDOW_UPDATE) && h.length !== 4) return false;
  if (h.type === FrameType.PRIORITY && h.length !== 5) return false;
  return h.length <= 1 << 20;
}

/** First offset in `b` where a plausible frame header is followed by another (or by the end). */
function findBoundary(b: Uint8Array): number {
  for (let i = 0; i + FRAME_HEADER_SIZE <= b.length; i++) {
    const h = readHeader(b, i);
    if (!plausibleHeader(h, (b[i + 5]! & 0x80) !== 0)) continue;
    const next = i + FRAME_HEADER_SIZE + h.length;
    // A frame that ends exactly where the bytes end (a segment boundary) is taken as confirmed.
    if (next === b.length) return i;
    if (next + FRAME_HEADER_SIZE > b.length) {
      // Not enough bytes to confirm with a second header yet: wait unless the buffer is full.
      if (b.length < MAX_RESYNC_BYTES) return -1;
      continue;
    }
    if (plausibleHeader(readHeader(b, next), (b[next + 5]! & 0x80) !== 0)) return i;
  }
  return -1;
}
