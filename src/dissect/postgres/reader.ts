/**
 * A bounds-checked reader over one message body. Reading past the end never throws and never relies
 * on a RangeError: it answers 0 (or an empty view) and clears `ok`, so a decoder reads a whole
 * message and checks `ok` once.
 */

export class Reader {
  ok = true;
  pos = 0;

  constructor(readonly buf: Uint8Array) {}

  get left(): number {
    return this.buf.length - this.pos;
  }

  get atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  private take(n: number): number {
    if (!this.ok || n < 0 || n > this.buf.length - this.pos) {
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

  i16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : ((this.buf[at]! << 24) | (this.buf[at + 1]! << 16)) >> 16;
  }

  i32(): number {
    const at = this.take(4);
    const b = this.buf;
    return at < 0 ? 0 : (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return at < 0 ? this.buf.subarray(0, 0) : this.buf.subarray(at, at + n);
  }

  /** A NUL-terminated string's bytes (without the NUL); a missing terminator clears `ok`. */
  cstringBytes(): Uint8Array {
    if (!this.ok) return this.buf.subarray(0, 0);
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) {
      this.ok = false;
      return this.buf.subarray(0, 0);
    }
    const v = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  /** A NUL-terminated string, decoded as UTF-8 and cut at `cap` bytes. */
  cstring(cap = 256): string {
    return text(this.cstringBytes(), cap);
  }
}

/** UTF-8 text of `b`, at most `cap` bytes of it, never cutting a character in two. */
export function text(b: Uint8Array, cap: number): string {
  let n = Math.min(b.length, cap);
  // Back off to a character start: UTF-8 continuation bytes are 10xxxxxx.
  if (n < b.length) while (n > 0 && (b[n]! & 0xc0) === 0x80) n--;
  if (n === 0) return '';
  return Buffer.from(b.buffer, b.byteOffset, n).toString('utf8');
}

/** Hex of at most `cap` bytes of `b`. */
export function hex(b: Uint8Array, cap: number): string {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, cap)).toString('hex');
}
