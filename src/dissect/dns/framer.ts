/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by a two-byte
 * length. A push parser: it takes a direction's bytes as they come and hands over each message once
 * whole, however the segments cut it — several messages in one segment, or one message across many.
 */
import { u16be } from '../../wire/bytes.js';

export type OnMessage = (message: Uint8Array, ts: number) => void;

export class LengthPrefixFramer {
  private readonly head = new Uint8Array(2);
  private headLen = 0;
  /** The message being collected; a copy, since it outlives the segments it comes from. */
  private body: Uint8Array | null = null;
  private filled = 0;
  /** Capture time of the current message's first byte (its length prefix). */
  private startTs = 0;

  /** True while a message has begun but is not whole. */
  get partial(): boolean {
    return this.headLen > 0 || this.body !== null;
  }

  /** Forgets the unfinished message (after a gap, its rest will never come). */
  reset(): void {
    this.headLen = 0;
    this.body = null;
    this.filled = 0;
  }

  /**
   * Consumes `data` (valid only during the call). Messages wholly inside it are passed as views of
   * it, without a copy; the callback must copy what it keeps.
   */
  push(data: Uint8Array, ts: number, onMessage: OnMessage): void {
    let pos = 0;
    while (pos < data.length) {
      const body = this.body;
      if (body === null) {
        if (this.headLen === 0) {
          this.startTs = ts;
          if (data.length - pos >= 2) {
            const len = u16be(data, pos);
            if (data.length - pos - 2 >= len) {
              onMessage(data.subarray(pos + 2, pos + 2 + len), ts);
              pos += 2 + len;
              continue;
            }
          }
        }
        this.head[this.headLen++] = data[pos++]!;
        if (this.headLen === 2) {
          this.headLen = 0;
          this.body = new Uint8Array(u16be(this.head, 0));
          this.filled = 0;
          if (this.body.length === 0) {
            this.body = null;
            onMessage(new Uint8Array(0), this.startTs);
          }
        }
        continue;
      }
      const n = Math.min(body.length - this.filled, data.length - pos);
      body.set(data.subarray(pos, pos + n), this.filled);
      this.filled += n;
      pos += n;
      if (this.filled === body.length) {
        this.body = null;
        onMessage(body, this.startTs);
      }
    }
  }
}
