/**
 * A bounds-checked reader over one complete handshake message. Reading past the end never throws
 * and never relies on a RangeError: it answers 0 (or an empty view) and clears `ok`, so a parser
 * reads a whole structure and checks `ok` once, where it can name the spec section it broke.
 */
export class Cursor {
  ok = true;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    /** Exclusive end; a nested vector's cursor ends where its length says. */
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  private take(n: number): number {
    if (!this.ok || n > this.end - this.pos) {
      this.ok = false;
      return -1;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buf[at]!;
  }

  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  u24(): number {
    const at = this.take(3);
    return at < 0 ? 0 : (this.buf[at]! << 16) | (this.buf[at + 1]! << 8) | this.buf[at + 2]!;
  }

  /** A view of the next `n` bytes (valid as long as `buf` is). */
  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return at < 0 ? this.buf.subarray(0, 0) : this.buf.subarray(at, at + n);
  }

  /**
   * A cursor over a length-prefixed vector (RFC 8446 §3.4: `<floor..ceiling>` vectors carry their
   * length in 1, 2 or 3 bytes); this cursor moves past it.
   */
  vector(lengthBytes: 1 | 2 | 3): Cursor {
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    const at = this.take(n);
    // On failure the sub-cursor is empty (and not ok).
    const sub = at < 0 ? new Cursor(this.buf, 0, 0) : new Cursor(this.buf, at, at + n);
    sub.ok = this.ok;
    return sub;
  }

  /** A list of 16-bit values filling the rest of this cursor (an odd byte clears `ok`). */
  u16list(): number[] {
    const out: number[] = [];
    if (this.left % 2 !== 0) this.ok = false;
    while (this.ok && this.left >= 2) out.push(this.u16());
    return out;
  }

  u8list(): number[] {
    const out: number[] = [];
    while (this.ok && this.left >= 1) out.push(this.u8());
    return out;
  }
}
