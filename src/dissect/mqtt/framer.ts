/**
 * MQTT's framing (3.1.1 §2.2, 5.0 §2.1): a fixed header byte, then the Remaining Length as a
 * Variable Byte Integer of at most 4 bytes (5.0 §1.5.5; a fifth is malformed), then that many bytes.
 * A push parser per direction: several packets in one segment are handed over as views of it, a
 * packet across several segments is collected. Memory is bounded: of a packet larger than
 * `keep` bytes only the first `keep` are held (PUBLISH's topic and properties come first; the rest
 * of its payload is only counted).
 */

/** What a direction may hold of one packet: a PUBLISH's topic (≤ 64 KiB) and properties fit. */
export const DEFAULT_KEEP = 128 * 1024;

export interface FrameSink {
  /**
   * A whole packet. `body` holds its first `min(length, keep)` body bytes (a view of the caller's
   * data when the packet lay within one segment: copy what outlives the call).
   */
  frame(byte0: number, body: Uint8Array, length: number, size: number, ts: number): void;
}

export type Header = { byte0: number; length: number; headerSize: number } | 'more' | string;

/** Reads a fixed header at `at`; a string is the reason it cannot be one. */
export function readHeader(b: Uint8Array, at: number): Header {
  if (at >= b.length) return 'more';
  const byte0 = b[at]!;
  if (byte0 >> 4 === 0) return 'packet type 0 is reserved (3.1.1 §2.2.1, 5.0 §2.1.2)';
  let length = 0;
  for (let i = 0; i < 4; i++) {
    const c = b[at + 1 + i];
    if (c === undefined) return 'more';
    length += (c & 0x7f) * 128 ** i;
    if ((c & 0x80) === 0) return { byte0, length, headerSize: 2 + i };
  }
  return 'Remaining Length longer than 4 bytes (3.1.1 §2.2.3, 5.0 §1.5.5)';
}

export class Framer {
  private readonly head = new Uint8Array(5);
  private headLen = 0;
  /** The packet being collected (a copy: it outlives the segments it comes from). */
  private body: Uint8Array | null = null;
  private filled = 0;
  private byte0 = 0;
  private length = 0;
  private size = 0;
  /** Body bytes still to come of the current packet. */
  private remaining = 0;
  private startTs = 0;

  constructor(private readonly keep = DEFAULT_KEEP) {}

  /** True while a packet has begun but is not whole. */
  get partial(): boolean {
    return this.headLen > 0 || this.body !== null;
  }

  /** Bytes held across calls. */
  get buffered(): number {
    return this.headLen + (this.body?.length ?? 0);
  }

  reset(): void {
    this.headLen = 0;
    this.body = null;
    this.filled = 0;
    this.remaining = 0;
  }

  /**
   * Consumes `data` (valid only during the call). Returns null, or on a malformed fixed header the
   * offset in `data` where it began (the stream is out of step from there) and the reason.
   */
  push(data: Uint8Array, ts: number, sink: FrameSink): { lostAt: number; error: string } | null {
    let pos = 0;
    while (pos < data.length) {
      const body = this.body;
      if (body === null) {
        if (this.headLen === 0) {
          this.startTs = ts;
          const h = readHeader(data, pos);
          if (typeof h === 'string' && h !== 'more') return { lostAt: pos, error: h };
          if (typeof h === 'object' && data.length - pos - h.headerSize >= h.length) {
            const start = pos + h.headerSize;
            pos = start + h.length;
            sink.frame(h.byte0, data.subarray(start, pos), h.length, h.headerSize + h.length, ts);
            continue;
          }
        }
        const at = pos - this.headLen;
        this.head[this.headLen++] = data[pos++]!;
        const h = readHeader(this.head.subarray(0, this.headLen), 0);
        if (h === 'more') continue;
        if (typeof h === 'string') {
          this.reset();
          return { lostAt: Math.max(at, 0), error: h };
        }
        this.headLen = 0;
        this.byte0 = h.byte0;
        this.length = h.length;
        this.size = h.headerSize + h.length;
        this.remaining = h.length;
        this.filled = 0;
        this.body = new Uint8Array(Math.min(h.length, this.keep));
        if (h.length === 0) this.deliver(sink);
        continue;
      }
      const n = Math.min(this.remaining, data.length - pos);
      const k = Math.min(n, body.length - this.filled);
      if (k > 0) body.set(data.subarray(pos, pos + k), this.filled);
      this.filled += k;
      this.remaining -= n;
      pos += n;
      if (this.remaining === 0) this.deliver(sink);
    }
    return null;
  }

  private deliver(sink: FrameSink): void {
    const body = this.body!;
    this.body = null;
    sink.frame(this.byte0, body, this.length, this.size, this.startTs);
  }
}
