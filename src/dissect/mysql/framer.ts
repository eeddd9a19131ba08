/**
 * MySQL packet framing, as push parsers over one direction's bytes.
 *
 * - `PacketFramer` (MySQL protocol: MySQL Packets): a 3-byte little-endian payload length, a 1-byte
 *   sequence id, the payload. A payload of 0xffffff bytes continues in the next packet (Sending More
 *   Than 16Mb); the framer hands over logical messages, the continuation joined.
 * - `CompressedFramer` (MySQL protocol: Compression): after a login that negotiated CLIENT_COMPRESS,
 *   each direction is a stream of compressed packets — a 3-byte compressed length, a sequence id, a
 *   3-byte uncompressed length (0: the payload is stored as is) and a zlib stream — whose payloads,
 *   put end to end, are the plain packets.
 *
 * Memory is bounded: of a message, at most `MAX_KEPT` payload bytes are kept (the rest is counted,
 * not stored; a row or a file upload is not needed whole), and a compressed packet is held only up
 * to `MAX_COMPRESSED` bytes (a larger one is skipped, which loses the plain stream until it resyncs).
 */
import { inflateSync } from 'node:zlib';
import { MAX_PACKET_LENGTH } from './protocol.js';

/** Payload bytes kept of one message: enough for every header, a 4 KiB statement and its attributes. */
export const MAX_KEPT = 64 * 1024;
/** Compressed packets held whole to be inflated; larger ones are skipped. */
export const MAX_COMPRESSED = 4 * 1024 * 1024;

export interface Message {
  /** Sequence id of the first and of the last packet. */
  seq: number;
  lastSeq: number;
  /** Up to MAX_KEPT bytes of the payload; valid only during the callback. */
  payload: Uint8Array;
  /** The whole payload's length (continuation packets included). */
  length: number;
  /** Bytes of the packets (headers included), uncompressed. */
  wire: number;
  /** Capture time of the first header byte. */
  ts: number;
}

/** Returns false to stop: the bytes after this message are not MySQL's (TLS follows an SSLRequest). */
export type OnMessage = (m: Message) => boolean | undefined;

export class PacketFramer {
  private readonly head = new Uint8Array(4);
  private headLen = 0;
  /** Payload bytes still to come of the current packet; -1 while reading a header. */
  private remaining = -1;
  private packetLen = 0;
  /** The message being assembled (one packet or a chain of 0xffffff-long ones). */
  private active = false;
  private seq = 0;
  private lastSeq = 0;
  private length = 0;
  private wire = 0;
  private ts = 0;
  /** A copy of the kept payload while a message spans calls. */
  private buf: Uint8Array | null = null;
  private kept = 0;
  /** Handed to every callback (one object, not one per packet): valid only during the call. */
  private readonly msg: Message = {
    seq: 0,
    lastSeq: 0,
    payload: new Uint8Array(0),
    length: 0,
    wire: 0,
    ts: 0,
  };

  /** A message has begun and is not whole. */
  get partial(): boolean {
    return this.headLen > 0 || this.active;
  }

  /** Bytes held across calls. */
  get buffered(): number {
    return this.headLen + (this.buf?.length ?? 0);
  }

  reset(): void {
    this.headLen = 0;
    this.remaining = -1;
    this.active = false;
    this.kept = 0;
    this.buf = null;
  }

  /**
   * Consumes `data` (valid only during the call) and returns how many bytes it used: all of them,
   * unless `onMessage` returned false, then those up to the end of that message.
   */
  push(data: Uint8Array, ts: number, onMessage: OnMessage): number {
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      if (this.remaining < 0) {
        if (this.headLen === 0 && !this.active) {
          this.ts = ts;
          // A whole packet inside this chunk: handed over as a view, without a copy.
          if (n - pos >= 4) {
            const len = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
            if (len < MAX_PACKET_LENGTH && n - pos - 4 >= len) {
              const m = this.msg;
              m.seq = m.lastSeq = data[pos + 3]!;
              m.payload = data.subarray(pos + 4, pos + 4 + Math.min(len, MAX_KEPT));
              m.length = len;
              m.wire = 4 + len;
              m.ts = ts;
              pos += 4 + len;
              if (onMessage(m) === false) return pos;
              continue;
            }
          }
        }
        this.head[this.headLen++] = data[pos++]!;
        if (this.headLen < 4) continue;
        this.headLen = 0;
        const len = this.head[0]! | (this.head[1]! << 8) | (this.head[2]! << 16);
        const seq = this.head[3]!;
        if (!this.active) {
          this.active = true;
          this.seq = seq;
          this.length = 0;
          this.wire = 0;
          this.kept = 0;
        }
        this.lastSeq = seq;
        this.packetLen = len;
        this.length += len;
        this.wire += 4 + len;
        this.remaining = len;
        if (len === 0 && this.endPacket(onMessage) === false) return pos;
        continue;
      }
      const take = Math.min(this.remaining, n - pos);
      const room = MAX_KEPT - this.kept;
      if (room > 0 && take > 0) {
        const k = Math.min(room, take);
        this.ensure(this.kept + k);
        this.buf!.set(data.subarray(pos, pos + k), this.kept);
        this.kept += k;
      }
      pos += take;
      this.remaining -= take;
      if (this.remaining === 0 && this.endPacket(onMessage) === false) return pos;
    }
    return pos;
  }

  private ensure(size: number): void {
    if (this.buf && this.buf.length >= size) return;
    // Grow by doubling from what the message announces, up to MAX_KEPT.
    const want = Math.min(MAX_KEPT, Math.max(size, this.length, (this.buf?.length ?? 0) * 2));
    const next = new Uint8Array(want);
    if (this.buf) next.set(this.buf.subarray(0, this.kept));
    this.buf = next;
  }

  private endPacket(onMessage: OnMessage): boolean | undefined {
    this.remaining = -1;
    if (this.packetLen === MAX_PACKET_LENGTH) return true; // continues in the next packet
    this.active = false;
    const m = this.msg;
    m.seq = this.seq;
    m.lastSeq = this.lastSeq;
    m.payload = this.buf ? this.buf.subarray(0, this.kept) : new Uint8Array(0);
    m.length = this.length;
    m.wire = this.wire;
    m.ts = this.ts;
    const go = onMessage(m);
    // Keep a small buffer for the next message; let a large one go.
    if (this.buf && this.buf.length > 16 * 1024) this.buf = null;
    this.kept = 0;
    return go;
  }
}

export interface CompressedEvents {
  /** The uncompressed payload of one compressed packet (valid during the call). */
  onPayload(bytes: Uint8Array, ts: number): void;
  /** A compressed packet could not be read: the plain stream has lost bytes. */
  onLost(detail: string): void;
}

export class CompressedFramer {
  private readonly head = new Uint8Array(7);
  private headLen = 0;
  /** Payload bytes still to come; -1 while reading a header. */
  private remaining = -1;
  private compLen = 0;
  private uncompLen = 0;
  private skipping = false;
  private buf: Uint8Array | null = null;
  private filled = 0;
  private ts = 0;

  get partial(): boolean {
    return this.headLen > 0 || this.remaining >= 0;
  }

  get buffered(): number {
    return this.headLen + (this.buf?.length ?? 0);
  }

  reset(): void {
    this.headLen = 0;
    this.remaining = -1;
    this.buf = null;
    this.filled = 0;
    this.skipping = false;
  }

  push(data: Uint8Array, ts: number, ev: CompressedEvents): void {
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      if (this.remaining < 0) {
        if (this.headLen === 0) {
          this.ts = ts;
          if (n - pos >= 7) {
            const len = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
            if (n - pos - 7 >= len) {
              const ulen = data[pos + 4]! | (data[pos + 5]! << 8) | (data[pos + 6]! << 16);
              const body = data.subarray(pos + 7, pos + 7 + len);
              pos += 7 + len;
              this.deliver(body, ulen, ev);
              continue;
            }
          }
        }
        this.head[this.headLen++] = data[pos++]!;
        if (this.headLen < 7) continue;
        this.headLen = 0;
        const h = this.head;
        this.compLen = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        this.uncompLen = h[4]! | (h[5]! << 8) | (h[6]! << 16);
        this.remaining = this.compLen;
        this.skipping = this.compLen > MAX_COMPRESSED;
        this.filled = 0;
        this.buf = null;
        if (this.compLen === 0) this.finish(ev);
        continue;
      }
      const take = Math.min(this.remaining, n - pos);
      if (!this.skipping) {
        // Grown as the bytes come, not allocated from what the header claims.
        if (!this.buf || this.buf.length < this.filled + take) {
          const next = new Uint8Array(
            Math.min(this.compLen, Math.max(this.filled + take, (this.buf?.length ?? 0) * 2)),
          );
          if (this.buf) next.set(this.buf.subarray(0, this.filled));
          this.buf = next;
        }
        this.buf.set(data.subarray(pos, pos + take), this.filled);
      }
      this.filled += take;
      pos += take;
      this.remaining -= take;
      if (this.remaining === 0) this.finish(ev);
    }
  }

  private finish(ev: CompressedEvents): void {
    this.remaining = -1;
    const body = this.buf ?? new Uint8Array(0);
    this.buf = null;
    if (this.skipping) {
      ev.onLost(`compressed packet of ${this.compLen} bytes exceeds the ${MAX_COMPRESSED}-byte cap`);
      return;
    }
    this.deliver(body, this.uncompLen, ev);
  }

  private deliver(body: Uint8Array, ulen: number, ev: CompressedEvents): void {
    if (ulen === 0) {
      ev.onPayload(body, this.ts);
      return;
    }
    let out: Buffer;
    try {
      out = inflateSync(body, { maxOutputLength: Math.max(ulen, 1) });
    } catch (err) {
      ev.onLost(`zlib: ${(err as Error).message}`);
      return;
    }
    if (out.length !== ulen) {
      ev.onLost(`compressed packet inflates to ${out.length} bytes, header says ${ulen}`);
      return;
    }
    ev.onPayload(out, this.ts);
  }
}
