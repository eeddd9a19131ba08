/**
 * AMQP 0-9-1 framing (§4.2.3) as a push parser for one direction: the protocol header (§4.2.2),
 * then frames of type, channel, size, payload and the frame-end octet 0xCE. Method, header and
 * heartbeat frames are handed over whole (as views of the segment when they fit in it, else
 * copied); body frames are streamed in pieces and never held. A frame-end that is not 0xCE, an
 * unknown frame type or a gap that cuts through framing loses sync: bytes are then scanned for the
 * next frame that checks out (detect.ts `frameAt`) and parsing resumes there.
 */
import { frameAt, MAX_SYNC_FRAME } from './detect.js';
import {
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER_SIZE,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_HEADER as FRAME_TYPE_HEADER,
  PROTOCOL_HEADER_SIZE,
} from './spec.js';

/** Method and header frames are held up to this size; a larger one is skipped by its length. */
export const MAX_FRAME_BUFFER = 1 << 20;
/** A size beyond this is not a frame but lost sync (frame-max is negotiated far below it). */
export const MAX_FRAME_SIZE = 1 << 28;
/** Bytes held while looking for a frame to resume at. */
const MAX_SCAN_BUFFER = MAX_SYNC_FRAME + 1024;

export interface FrameEvents {
  protocolHeader(header: Uint8Array, ts: number): void;
  /** A whole method (1), header (2) or heartbeat (8) frame; `payload` is valid only during the call. */
  frame(type: number, channel: number, payload: Uint8Array, ts: number): void;
  bodyStart(channel: number, size: number, ts: number): void;
  /** Body bytes, in order; `chunk` is valid only during the call. */
  body(channel: number, chunk: Uint8Array): void;
  /** `bytes` of the current body frame were lost in a capture gap; the frame goes on after them. */
  bodyGap(channel: number, bytes: number): void;
  bodyEnd(channel: number): void;
  /** A method or header frame was not delivered (cut by a gap, or over MAX_FRAME_BUFFER). */
  frameLost(type: number, channel: number, why: string): void;
  /**
   * Framing was lost; `detail` says why when the bytes were malformed, null when a capture gap
   * or a stream picked up mid-way is the reason. Nothing in progress in this direction completes.
   */
  syncLost(detail: string | null): void;
  /** Framing found again after `skipped` bytes. */
  resynced(skipped: number): void;
}

type State = 'start' | 'proto' | 'head' | 'buffer' | 'stream' | 'skip' | 'end' | 'lost';

export class FrameReader {
  private state: State = 'start';
  private readonly head = new Uint8Array(PROTOCOL_HEADER_SIZE);
  private headLen = 0;
  private type = 0;
  private channel = 0;
  private size = 0;
  /** Payload bytes still to come in 'stream' and 'skip'. */
  private remaining = 0;
  /** The frame being collected in 'buffer' (a copy: it outlives the segments). */
  private buf: Uint8Array | null = null;
  private filled = 0;
  /** Capture time of the current frame's first byte. */
  private frameTs = 0;
  /** 'lost': bytes held while scanning, and how many were skipped so far. */
  private scan: Uint8Array | null = null;
  private skipped = 0;

  constructor(private readonly ev: FrameEvents) {}

  /** Bytes held across calls (for the memory bound). */
  get buffered(): number {
    return (this.buf?.length ?? 0) + (this.scan?.length ?? 0);
  }

  push(input: Uint8Array, ts: number): void {
    let data = input;
    let pos = 0;
    while (pos < data.length) {
      switch (this.state) {
        case 'start':
          if (data[pos] === 0x41) {
            this.state = 'proto';
            this.headLen = 0;
            this.frameTs = ts;
          } else {
            // Not at a protocol header: the stream was picked up mid-way. Find the first frame.
            this.state = 'lost';
            this.scan = null;
            this.skipped = 0;
          }
          break;
        case 'proto': {
          const n = Math.min(PROTOCOL_HEADER_SIZE - this.headLen, data.length - pos);
          this.head.set(data.subarray(pos, pos + n), this.headLen);
          this.headLen += n;
          pos += n;
          if (this.headLen < PROTOCOL_HEADER_SIZE) break;
          this.headLen = 0;
          if (
            this.head[0] === 0x41 &&
            this.head[1] === 0x4d &&
            this.head[2] === 0x51 &&
            this.head[3] === 0x50
          ) {
            this.ev.protocolHeader(this.head.slice(), this.frameTs);
            this.state = 'head';
          } else {
            this.lose('§4.2.2: the stream starts with "A" but not with the "AMQP" protocol header');
          }
          break;
        }
        case 'head': {
          if (this.headLen === 0) {
            this.frameTs = ts;
            const left = data.length - pos;
            if (left >= FRAME_HEADER_SIZE) {
              const type = data[pos]!;
              const size = u32(data, pos + 3);
              // The whole frame is here: hand over a view, no copy.
              if (type !== FRAME_BODY && size <= MAX_FRAME_BUFFER && left >= size + FRAME_HEADER_SIZE + 1) {
                if (!known(type) || (type === FRAME_HEARTBEAT && size !== 0)) {
                  this.lose(badType(type, size));
                  pos += 1;
                  continue;
                }
                const end = pos + FRAME_HEADER_SIZE + size;
                if (data[end] !== FRAME_END) {
                  this.lose(badEnd(data[end]!, type, size));
                  pos += 1; // rescan from the byte after this frame's start
                  continue;
                }
                const channel = (data[pos + 1]! << 8) | data[pos + 2]!;
                this.ev.frame(type, channel, data.subarray(pos + FRAME_HEADER_SIZE, end), ts);
                pos = end + 1;
                continue;
              }
            }
          }
          const n = Math.min(FRAME_HEADER_SIZE - this.headLen, data.length - pos);
          this.head.set(data.subarray(pos, pos + n), this.headLen);
          this.headLen += n;
          pos += n;
          if (this.headLen === FRAME_HEADER_SIZE) {
            this.headLen = 0;
            this.begin(this.head[0]!, (this.head[1]! << 8) | this.head[2]!, u32(this.head, 3));
          }
          break;
        }
        case 'buffer': {
          const buf = this.buf!;
          const n = Math.min(buf.length - this.filled, data.length - pos);
          buf.set(data.subarray(pos, pos + n), this.filled);
          this.filled += n;
          pos += n;
          if (this.filled === buf.length) this.state = 'end';
          break;
        }
        case 'stream': {
          const n = Math.min(this.remaining, data.length - pos);
          this.ev.body(this.channel, data.subarray(pos, pos + n));
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = 'end';
          break;
        }
        case 'skip': {
          const n = Math.min(this.remaining, data.length - pos);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = 'end';
          break;
        }
        case 'end': {
          const b = data[pos]!;
          const buf = this.buf;
          this.buf = null;
          this.state = 'head';
          if (b !== FRAME_END) {
            this.lose(badEnd(b, this.type, this.size));
            // A bad end usually means the header was not a frame's: look again inside its payload,
            // and from the byte that should have ended it.
            if (buf) this.scan = buf;
            break;
          }
          pos++;
          if (this.type === FRAME_BODY) this.ev.bodyEnd(this.channel);
          else if (buf) this.ev.frame(this.type, this.channel, buf, this.frameTs);
          break;
        }
        case 'lost': {
          // Iterative, not recursive: garbage between frames must not grow the stack.
          const resume = this.scanMore(data.subarray(pos));
          if (!resume) return;
          data = resume;
          pos = 0;
          break;
        }
      }
    }
  }

  /** `bytes` of this direction were lost in the capture. */
  gap(bytes: number): void {
    switch (this.state) {
      case 'stream':
        if (bytes <= this.remaining) {
          this.ev.bodyGap(this.channel, bytes);
          this.remaining -= bytes;
          if (this.remaining === 0) this.state = 'end';
          return;
        }
        break;
      case 'skip':
        if (bytes <= this.remaining) {
          this.remaining -= bytes;
          if (this.remaining === 0) this.state = 'end';
          return;
        }
        break;
      case 'buffer': {
        const left = this.buf!.length - this.filled;
        if (bytes <= left) {
          // The frame's length still frames the stream: skip the rest of it, deliver nothing.
          this.ev.frameLost(this.type, this.channel, `cut by a gap of ${bytes} bytes`);
          this.buf = null;
          this.remaining = left - bytes;
          this.state = this.remaining === 0 ? 'end' : 'skip';
          return;
        }
        break;
      }
      case 'head':
        if (this.headLen > 0) break;
        this.silentLoss();
        return;
      case 'start':
      case 'lost':
        this.silentLoss();
        return;
      default:
        break;
    }
    if (this.state === 'stream') this.ev.bodyGap(this.channel, this.remaining);
    this.buf = null;
    this.ev.syncLost(null);
    this.enterLost();
  }

  private silentLoss(): void {
    this.ev.syncLost(null);
    this.enterLost();
  }

  private begin(type: number, channel: number, size: number): void {
    this.type = type;
    this.channel = channel;
    this.size = size;
    if (!known(type) || (type === FRAME_HEARTBEAT && size !== 0) || size > MAX_FRAME_SIZE) {
      this.lose(badType(type, size));
      return;
    }
    if (type === FRAME_BODY) {
      this.ev.bodyStart(channel, size, this.frameTs);
      this.remaining = size;
      this.state = size > 0 ? 'stream' : 'end';
      return;
    }
    if (size > MAX_FRAME_BUFFER) {
      this.ev.frameLost(type, channel, `${size}-byte frame over the ${MAX_FRAME_BUFFER}-byte limit, skipped`);
      this.remaining = size;
      this.state = 'skip';
      return;
    }
    this.buf = new Uint8Array(size);
    this.filled = 0;
    this.state = size > 0 ? 'buffer' : 'end';
  }

  private lose(detail: string): void {
    this.ev.syncLost(detail);
    this.enterLost();
  }

  private enterLost(): void {
    this.state = 'lost';
    this.headLen = 0;
    this.buf = null;
    this.scan = null;
    this.skipped = 0;
  }

  /**
   * Scans held plus new bytes for a frame to resume at and returns the bytes from there on (state
   * 'head'); else keeps a bounded tail that may still start one and returns null.
   */
  private scanMore(data: Uint8Array): Uint8Array | null {
    let b: Uint8Array;
    if (this.scan && this.scan.length > 0) {
      b = new Uint8Array(this.scan.length + data.length);
      b.set(this.scan);
      b.set(data, this.scan.length);
    } else {
      b = data;
    }
    let p = 0;
    for (; p < b.length; p++) {
      const d = frameAt(b, p);
      if (d === 'yes') {
        this.scan = null;
        this.ev.resynced(this.skipped + p);
        this.skipped = 0;
        this.state = 'head';
        return b.subarray(p);
      }
      if (d === 'more') break;
    }
    // Keep what may still start a frame (a copy: `data` is the caller's), within the bound.
    let keep = b.length - p;
    if (keep > MAX_SCAN_BUFFER) {
      p = b.length - FRAME_HEADER_SIZE;
      keep = FRAME_HEADER_SIZE;
    }
    this.skipped += p;
    this.scan = keep > 0 ? b.slice(p) : null;
    return null;
  }
}

function known(type: number): boolean {
  return (
    type === FRAME_METHOD || type === FRAME_TYPE_HEADER || type === FRAME_BODY || type === FRAME_HEARTBEAT
  );
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function badType(type: number, size: number): string {
  if (known(type) && type === FRAME_HEARTBEAT) return `§4.2.7: heartbeat frame with a ${size}-byte payload`;
  if (known(type)) return `frame of ${size} bytes is beyond any frame-max`;
  return `§4.2.3: unknown frame type ${type}`;
}

function badEnd(b: number, type: number, size: number): string {
  return `§4.2.3: frame-end 0x${b.toString(16).padStart(2, '0')} instead of 0xce after a type-${type} frame of ${size} bytes`;
}
