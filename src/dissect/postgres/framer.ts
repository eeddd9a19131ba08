/**
 * Message framing for one direction (PostgreSQL protocol §55.2 "Message Flow", §55.7 "Message
 * Formats"): a type byte and an int32 length that counts itself, except for the startup-phase
 * requests, which have no type byte, and the single-byte answer to SSLRequest / GSSENCRequest.
 *
 * A push parser in the manner of node-postgres' pg-protocol: it takes a direction's bytes as they
 * come and hands over each message once whole, however the segments cut it. A message wholly inside
 * one chunk is handed over as a view of it, without a copy; one spread over chunks is copied, at most
 * `keep` bytes of its body (the rest streams past through `onBody`, so memory stays bounded whatever
 * the length word says).
 *
 * When the framing is lost — a gap that does not fall inside the current message's body, an
 * impossible header — the framer scans each following chunk for a place where messages plausibly
 * start (`plausibleAt`, shared with detection) and carries on from there.
 */
import type { Direction } from '../../flows/stream.js';
import { type Plausible, plausibleAt } from './detect.js';
import { HEADER_SIZE, MAX_STARTUP_LENGTH, messageName } from './messages.js';

/** Type of a startup-phase message (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest). */
export const UNTYPED = -1;

/** Largest body kept whole; a longer message is kept to `LONG_PREFIX` bytes. */
export const MAX_KEEP = 256 << 10;
export const LONG_PREFIX = 16 << 10;
/** PostgreSQL refuses messages over 1 GB (MaxAllocSize); a larger length word is not PostgreSQL. */
const MAX_LENGTH = 0x3fffffff;

export interface Frame {
  /** The type byte, `UNTYPED`, or for a single-byte answer the byte itself (`single` set). */
  type: number;
  single: boolean;
  /** The body as far as it was kept (all of it unless `truncated`). */
  body: Uint8Array;
  /** Body length on the wire. */
  length: number;
  truncated: boolean;
  /** Body bytes lost in a gap (the kept part may hold zeros there). */
  damaged: number;
  /** Capture time of the message's first byte. */
  ts: number;
  /** Bytes on the wire: type byte, length word and body. */
  wire: number;
}

export interface FramerEvents {
  /** A whole message; `frame.body` is valid only during the call. Return false to stop the framer. */
  onFrame(frame: Frame): boolean;
  /** Body bytes of `type` beyond what is kept (e.g. CopyData, DataRow), as they stream past. */
  onBody?(type: number, chunk: Uint8Array): void;
  /** The framing was lost (`why`); bytes are dropped until a plausible message start. */
  onLost(why: string, ts: number): void;
  /** A plausible message start was found after a loss, `skipped` bytes later. */
  onResync?(skipped: number): void;
}

export interface FramerOptions {
  /** How many body bytes of a message to keep (default: all up to MAX_KEEP, else LONG_PREFIX). */
  keep?(type: number, length: number): number;
}

const defaultKeep = (_type: number, length: number): number => (length <= MAX_KEEP ? length : LONG_PREFIX);

export class Framer {
  /** A startup-phase (untyped) message may come next: true on the client side until StartupMessage. */
  untypedAllowed: boolean;
  /** The server's next byte may be the single-byte answer to SSLRequest / GSSENCRequest. */
  singleByteNext = false;
  /** No plausible message start since the framing was lost. */
  lost = false;
  stopped = false;

  private readonly head = new Uint8Array(HEADER_SIZE);
  private headLen = 0;
  private headNeed = 0;
  /** The message being read: its type, body length, what is kept of it, and how much has come. */
  private type = 0;
  private length = 0;
  private kept: Uint8Array | null = null;
  private keepLen = 0;
  private got = 0;
  private damaged = 0;
  private inBody = false;
  private startTs = 0;
  private readonly keep: (type: number, length: number) => number;

  constructor(
    readonly dir: Direction,
    private readonly events: FramerEvents,
    options: FramerOptions = {},
  ) {
    this.untypedAllowed = dir === 0;
    this.keep = options.keep ?? defaultKeep;
  }

  /** True while a message has begun but is not whole. */
  get partial(): boolean {
    return this.headLen > 0 || this.inBody;
  }

  /** Bytes held across calls (for tests: bounded by MAX_KEEP plus a header). */
  get buffered(): number {
    return this.headLen + (this.kept?.length ?? 0);
  }

  /**
   * Consumes `data` (valid only during the call). Returns how many bytes were used: all of them,
   * unless `onFrame` stopped the framer (e.g. at the SSLRequest's 'S', after which the bytes are TLS).
   */
  push(data: Uint8Array, ts: number): number {
    let pos = 0;
    if (this.lost) {
      const at = this.resyncAt(data);
      if (at < 0) return data.length;
      this.lost = false;
      this.events.onResync?.(at);
      pos = at;
    }
    while (pos < data.length && !this.stopped && !this.lost) {
      if (this.inBody) {
        pos = this.bodyBytes(data, pos);
        continue;
      }
      if (this.headLen === 0) {
        this.startTs = ts;
        const b0 = data[pos]!;
        if (this.singleByteNext && (b0 === 0x53 || b0 === 0x4e || b0 === 0x47)) {
          // §55.2.10: the answer to SSLRequest / GSSENCRequest is one byte, 'S', 'N' or 'G'.
          this.singleByteNext = false;
          pos++;
          this.deliver(b0, true, data.subarray(pos, pos), 0);
          continue;
        }
        this.singleByteNext = false;
        this.headNeed = this.untypedAllowed && b0 === 0 ? 4 : HEADER_SIZE;
        // Fast path: the header and the whole body in this chunk, handed over as a view.
        if (data.length - pos >= this.headNeed) {
          const h = this.readHeader(data, pos);
          if (h === null) return data.length;
          const bodyAt = pos + this.headNeed;
          if (h.length <= data.length - bodyAt && this.keep(h.type, h.length) >= h.length) {
            pos = bodyAt + h.length;
            this.deliver(h.type, false, data.subarray(bodyAt, pos), h.length);
            continue;
          }
          pos = bodyAt;
          this.begin(h.type, h.length);
          continue;
        }
      }
      this.head[this.headLen++] = data[pos++]!;
      if (this.headLen === this.headNeed) {
        const h = this.readHeader(this.head, 0);
        this.headLen = 0;
        if (h === null) return data.length;
        this.begin(h.type, h.length);
      }
    }
    return pos;
  }

  /** `bytes` of the stream were lost. Inside a message's body the framing survives; else it is lost. */
  gap(bytes: number, ts: number): void {
    if (this.stopped || this.lost) return;
    if (this.inBody && this.headLen === 0 && bytes <= this.length - this.got) {
      // The hole is inside this body: skip it and keep the framing (the length word says where the
      // next message starts).
      // The kept copy keeps zeros where the hole is; `damaged` says so.
      this.got += bytes;
      this.damaged += bytes;
      if (this.got === this.length) this.finish();
      return;
    }
    this.loseFraming(this.partial ? 'message cut by a gap in the stream' : 'gap in the stream', ts);
  }

  /** The stream ended; an unfinished message is reported lost. */
  end(ts: number): void {
    if (this.partial && !this.stopped && !this.lost) this.loseFraming('stream ended inside a message', ts);
  }

  private loseFraming(why: string, ts: number): void {
    this.reset();
    this.lost = true;
    this.events.onLost(why, ts);
  }

  private reset(): void {
    this.headLen = 0;
    this.inBody = false;
    this.kept = null;
    this.singleByteNext = false;
  }

  private readHeader(b: Uint8Array, at: number): { type: number; length: number } | null {
    if (this.headNeed === 4) {
      const len = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
      // §55.7 StartupMessage: length, then a 4-byte code; pqcomm.h caps the packet at 10000 bytes.
      if (len < 8 || len > MAX_STARTUP_LENGTH) {
        this.loseFraming(`startup packet length ${len} out of range`, this.startTs);
        return null;
      }
      return { type: UNTYPED, length: len - 4 };
    }
    const type = b[at]!;
    const len = ((b[at + 1]! << 24) | (b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!) >>> 0;
    if (messageName(this.dir, type) === null) {
      this.loseFraming(
        `unknown ${this.dir === 0 ? 'frontend' : 'backend'} message type 0x${hex2(type)}`,
        this.startTs,
      );
      return null;
    }
    if (len < 4 || len > MAX_LENGTH) {
      this.loseFraming(`message '${String.fromCharCode(type)}' length ${len} out of range`, this.startTs);
      return null;
    }
    // Any typed message ends the startup phase's untyped requests.
    this.untypedAllowed = false;
    return { type, length: len - 4 };
  }

  private begin(type: number, length: number): void {
    this.type = type;
    this.length = length;
    this.keepLen = Math.min(length, this.keep(type, length));
    this.kept = this.keepLen > 0 ? new Uint8Array(this.keepLen) : null;
    this.got = 0;
    this.damaged = 0;
    this.inBody = true;
    if (length === 0) this.finish();
  }

  private bodyBytes(data: Uint8Array, pos: number): number {
    const n = Math.min(this.length - this.got, data.length - pos);
    const chunk = data.subarray(pos, pos + n);
    if (this.got < this.keepLen) {
      const k = Math.min(n, this.keepLen - this.got);
      this.kept!.set(chunk.subarray(0, k), this.got);
      if (k < n) this.events.onBody?.(this.type, chunk.subarray(k));
    } else {
      this.events.onBody?.(this.type, chunk);
    }
    this.got += n;
    if (this.got === this.length) this.finish();
    return pos + n;
  }

  private finish(): void {
    const body = this.kept ?? new Uint8Array(0);
    this.inBody = false;
    this.kept = null;
    const { type, length, damaged } = this;
    this.deliverWith(type, body, length, damaged);
  }

  private deliver(type: number, single: boolean, body: Uint8Array, length: number): void {
    if (single) {
      this.emit({ type, single, body, length: 0, truncated: false, damaged: 0, ts: this.startTs, wire: 1 });
      return;
    }
    this.deliverWith(type, body, length, 0);
  }

  private deliverWith(type: number, body: Uint8Array, length: number, damaged: number): void {
    const wire = length + (type === UNTYPED ? 4 : HEADER_SIZE);
    this.emit({
      type,
      single: false,
      body,
      length,
      truncated: body.length < length,
      damaged,
      ts: this.startTs,
      wire,
    });
  }

  private emit(frame: Frame): void {
    if (!this.events.onFrame(frame)) this.stopped = true;
  }

  /** Where in `data` messages plausibly start again, or -1. */
  private resyncAt(data: Uint8Array): number {
    for (let at = 0; at + HEADER_SIZE <= data.length; at++) {
      if (messageName(this.dir, data[at]!) === null) continue;
      const p: Plausible = plausibleAt(this.dir, data, at);
      // A message cut by the chunk's end is believed only at the chunk's start, where senders
      // usually begin a write; further in, it must end inside the chunk and be followed by another.
      if (p === 'yes' || (p === 'more' && at === 0)) return at;
    }
    return -1;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
