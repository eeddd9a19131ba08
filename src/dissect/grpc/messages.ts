/**
 * gRPC's Length-Prefixed-Message (gRPC over HTTP/2, PROTOCOL-HTTP2.md "Requests"): a 1-byte
 * Compressed-Flag, a 4-byte big-endian Message-Length, then the message. Messages run across DATA
 * frames freely, so the reader is incremental: chunks of a stream's DATA go in, whole messages come
 * out. Only the first `keepBytes` of each message are kept (for display); lengths are always exact.
 */

export interface GrpcMessage {
  compressed: boolean;
  /** Message-Length as sent. */
  length: number;
  /** The first bytes of the message (all of it when `length <= keepBytes`); a copy. */
  data: Uint8Array;
}

export const PREFIX_SIZE = 5;

export class GrpcMessageReader {
  private readonly prefix = new Uint8Array(PREFIX_SIZE);
  private prefixFill = 0;
  private compressed = false;
  private length = 0;
  private kept: Uint8Array | null = null;
  private got = 0;
  private broken = false;
  /** Messages completed so far (all of them, also those past what is kept for display). */
  count = 0;

  constructor(
    private readonly onMessage: (m: GrpcMessage) => void,
    private readonly onError: (detail: string) => void,
    private readonly keepBytes = 4096,
  ) {}

  /** True when a message was started and not finished. */
  get partial(): boolean {
    return this.prefixFill > 0 || this.kept !== null;
  }

  feed(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && !this.broken) {
      if (this.kept === null) {
        const take = Math.min(PREFIX_SIZE - this.prefixFill, chunk.length - pos);
        this.prefix.set(chunk.subarray(pos, pos + take), this.prefixFill);
        this.prefixFill += take;
        pos += take;
        if (this.prefixFill < PREFIX_SIZE) return;
        const flag = this.prefix[0]!;
        if (flag > 1) {
          // PROTOCOL-HTTP2.md: Compressed-Flag is 0 or 1. The stream's framing is lost from here.
          this.onError(
            `gRPC: Compressed-Flag ${flag} is neither 0 nor 1 (PROTOCOL-HTTP2.md, Length-Prefixed-Message)`,
          );
          this.broken = true;
          return;
        }
        this.compressed = flag === 1;
        this.length =
          this.prefix[1]! * 0x1000000 + ((this.prefix[2]! << 16) | (this.prefix[3]! << 8) | this.prefix[4]!);
        this.prefixFill = 0;
        // A copy: the message outlives the DATA frame's bytes.
        this.kept = new Uint8Array(Math.min(this.length, this.keepBytes));
        this.got = 0;
      }
      const take = Math.min(this.length - this.got, chunk.length - pos);
      const room = this.kept.length - this.got;
      if (room > 0) this.kept.set(chunk.subarray(pos, pos + Math.min(take, room)), this.got);
      this.got += take;
      pos += take;
      if (this.got === this.length) this.finish();
    }
  }

  /** Bytes of the stream were lost: the message in progress, and the framing, are gone. */
  gap(): void {
    this.broken = true;
    this.kept = null;
    this.prefixFill = 0;
  }

  private finish(): void {
    const m = { compressed: this.compressed, length: this.length, data: this.kept! };
    this.kept = null;
    this.count++;
    this.onMessage(m);
  }
}
