/**
 * Kafka's framing (Kafka protocol guide, "Common Request and Response Structure"): each message is
 * an int32 Size followed by Size bytes. A push parser per direction: it takes bytes as they come and
 * hands over each message once whole, however segments cut it.
 *
 * Memory is bounded: at most `keep` bytes of a message are held (its header and the start of its
 * body, which is what the dissector reads); the rest is counted and skipped, so a 50 MB Fetch
 * response costs `keep` bytes. The first bytes of each message are shown to `check` before anything
 * is held, so garbage (a capture picked up mid-message) is refused instead of read as a length.
 */

export type Check = (head: Uint8Array) => 'ok' | 'bad' | 'more';

export interface Framed {
  /** The message from its Size field on, at most `keep` bytes; a view valid during the call only. */
  bytes: Uint8Array;
  /** Wire bytes of the whole message, Size field included. */
  size: number;
  /** Capture time of its first byte. */
  ts: number;
  /** Bytes of it lost in gaps (they are not in `bytes`, nor anything after the first gap). */
  lost: number;
  /** The stream ended before the message did. */
  cut: boolean;
}

/** Bytes of a message shown to `check` (Size, then the header's fixed fields and client_id length). */
export const CHECK_BYTES = 14;

function i32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

export class KafkaFramer {
  /** Held bytes of the current message (a copy: it outlives the segments it comes from). */
  private held: Uint8Array;
  private heldLen = 0;
  /** Wire size of the current message (4 + Size); -1 until its Size is read. */
  private total = -1;
  /** Bytes of the current message consumed so far, held or skipped. */
  private seen = 0;
  private checked = false;
  /** After a gap inside the message, nothing more of it is held (the held prefix stays contiguous). */
  private frozen = false;
  private lost = 0;
  private startTs = 0;

  constructor(
    /** Largest Size accepted (a larger one is garbage, or a message that is not Kafka's). */
    private readonly maxSize: number,
    /** Smallest Size accepted. */
    private readonly minSize: number,
    private readonly keep: number,
    private readonly check: Check,
    private readonly onMessage: (m: Framed) => void,
  ) {
    this.held = new Uint8Array(CHECK_BYTES);
  }

  /** True while a message has begun but is not whole. */
  get partial(): boolean {
    return this.seen > 0;
  }

  /** Bytes held across calls (for tests and bounds). */
  get buffered(): number {
    return this.heldLen;
  }

  reset(): void {
    if (this.held.length !== CHECK_BYTES) this.held = new Uint8Array(CHECK_BYTES);
    this.heldLen = 0;
    this.total = -1;
    this.seen = 0;
    this.checked = false;
    this.frozen = false;
    this.lost = 0;
  }

  /**
   * Consumes `data`. Returns false when a message start was refused (bad Size or `check` said 'bad'):
   * the framer is then reset and the rest of `data` was not used; the caller decides where to resume.
   * Messages wholly inside `data` are passed as views of it, without a copy.
   */
  push(data: Uint8Array, ts: number): boolean {
    let pos = 0;
    while (pos < data.length) {
      if (this.seen === 0) {
        this.startTs = ts;
        const avail = data.length - pos;
        if (avail >= 4) {
          const total = 4 + i32(data, pos);
          if (!this.sizeOk(total)) return this.refuse();
          if (avail >= total) {
            // The common case: the whole message is in this segment.
            const view = data.subarray(pos, pos + total);
            if (this.check(view.subarray(0, Math.min(total, CHECK_BYTES))) === 'bad') return this.refuse();
            pos += total;
            this.emit(view.subarray(0, Math.min(total, this.keep)), total, ts, 0, false);
            continue;
          }
        }
      }
      const n = this.collect(data, pos);
      pos += n;
      if (this.total < 0) {
        if (this.heldLen < 4) continue;
        this.total = 4 + i32(this.held, 0);
        if (!this.sizeOk(this.total)) return this.refuse();
      }
      if (!this.checked) {
        const head = Math.min(this.total, CHECK_BYTES);
        const verdict = this.check(this.held.subarray(0, this.heldLen));
        if (verdict === 'bad') return this.refuse();
        if (verdict === 'more' && this.heldLen < head) continue;
        this.checked = true;
        const grown = new Uint8Array(Math.min(this.total, this.keep));
        grown.set(this.held.subarray(0, this.heldLen));
        this.held = grown;
      }
      if (this.seen === this.total) this.finish(false);
    }
    return true;
  }

  /**
   * `bytes` of this direction were lost. Returns true when framing survives: the gap fell inside the
   * current message, whose length says where the next one starts. Otherwise the message in progress
   * (if any) is handed over as cut, and the caller must resynchronise.
   */
  gap(bytes: number): boolean {
    if (this.seen === 0) return false;
    if (this.total >= 0 && this.checked && this.seen + bytes <= this.total) {
      this.seen += bytes;
      this.lost += bytes;
      this.frozen = true;
      if (this.seen === this.total) this.finish(false);
      return true;
    }
    this.end();
    return false;
  }

  /** The stream ended: a message in progress is handed over as cut (when its header was read). */
  end(): void {
    if (this.seen > 0 && this.checked) {
      this.lost += this.total - this.seen;
      this.seen = this.total;
      this.finish(true);
    }
    this.reset();
  }

  private sizeOk(total: number): boolean {
    return total - 4 >= this.minSize && total - 4 <= this.maxSize;
  }

  private refuse(): false {
    this.reset();
    return false;
  }

  /** Takes what `data[pos..]` holds of the current message; returns how many bytes it used. */
  private collect(data: Uint8Array, pos: number): number {
    // Until checked, only the head is collected; then up to the whole message.
    const want =
      this.total < 0
        ? 4 - this.seen
        : !this.checked
          ? Math.min(this.total, CHECK_BYTES) - this.seen
          : this.total - this.seen;
    const n = Math.min(want, data.length - pos);
    const room = this.frozen ? 0 : Math.min(n, this.held.length - this.heldLen);
    if (room > 0) {
      this.held.set(data.subarray(pos, pos + room), this.heldLen);
      this.heldLen += room;
    }
    this.seen += n;
    return n;
  }

  private finish(cut: boolean): void {
    const bytes = this.held.subarray(0, this.heldLen);
    const total = this.total;
    const lost = this.lost;
    const ts = this.startTs;
    this.reset();
    this.emit(bytes, total, ts, lost, cut);
  }

  private emit(bytes: Uint8Array, size: number, ts: number, lost: number, cut: boolean): void {
    this.onMessage({ bytes, size, ts, lost, cut });
  }
}
