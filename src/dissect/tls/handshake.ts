/**
 * Handshake message reassembly over the bodies of handshake records (RFC 8446 §5.1: "Handshake
 * messages MAY be coalesced into a single TLSPlaintext record or fragmented across several records").
 * A message is `msg_type(1) length(3) body` (RFC 8446 §4). The body is kept only up to `cap` bytes
 * (the spec allows 2^24): a longer message is skipped as it streams past, reported with a null body,
 * and the messages after it are still read.
 */

/** What a sniffer keeps of one handshake message; the zeek fragmented-handshake capture carries a
 * 339,629-byte Certificate, beyond it. */
export const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

export interface HandshakeSink {
  /**
   * A complete message. `body` is a view valid only during the call, or null when the message was
   * longer than the cap and skipped. `ts` is when its first byte arrived.
   */
  onMessage(type: number, body: Uint8Array | null, length: number, ts: number): void;
}

export class HandshakeReassembler {
  private readonly header = new Uint8Array(4);
  private headerLen = 0;
  private type = 0;
  private length = 0;
  /** Bytes of the current body still to come. */
  private remaining = 0;
  /** The body being collected (copied: it spans chunks), or null while skipping. */
  private body: Uint8Array | null = null;
  private inBody = false;
  private startTs = 0;

  constructor(
    private readonly sink: HandshakeSink,
    private readonly cap = MAX_HANDSHAKE_MESSAGE,
  ) {}

  /** True between messages: nothing partial is held. */
  get idle(): boolean {
    return this.headerLen === 0 && !this.inBody;
  }

  push(data: Uint8Array, ts: number): void {
    let i = 0;
    while (i < data.length) {
      if (!this.inBody) {
        if (this.headerLen === 0) {
          this.startTs = ts;
          // Zero-copy path: the whole message lies in this piece.
          if (data.length - i >= 4) {
            const length = (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!;
            if (data.length - i - 4 >= length && length <= this.cap) {
              this.sink.onMessage(data[i]!, data.subarray(i + 4, i + 4 + length), length, ts);
              i += 4 + length;
              continue;
            }
          }
        }
        const n = Math.min(4 - this.headerLen, data.length - i);
        this.header.set(data.subarray(i, i + n), this.headerLen);
        this.headerLen += n;
        i += n;
        if (this.headerLen < 4) return;
        this.headerLen = 0;
        this.type = this.header[0]!;
        this.length = (this.header[1]! << 16) | (this.header[2]! << 8) | this.header[3]!;
        this.remaining = this.length;
        this.body = this.length <= this.cap ? new Uint8Array(this.length) : null;
        this.inBody = true;
        if (this.length === 0) this.finish();
        continue;
      }
      const n = Math.min(this.remaining, data.length - i);
      this.body?.set(data.subarray(i, i + n), this.length - this.remaining);
      this.remaining -= n;
      i += n;
      if (this.remaining === 0) this.finish();
    }
  }

  /** Drops a partial message (after a gap in the stream). */
  reset(): void {
    this.headerLen = 0;
    this.inBody = false;
    this.body = null;
    this.remaining = 0;
  }

  private finish(): void {
    const body = this.body;
    this.inBody = false;
    this.body = null;
    this.sink.onMessage(this.type, body, this.length, this.startTs);
  }
}
