/**
 * A bounds-checked cursor over one packet's payload, for the MySQL protocol's basic data types
 * (MySQL protocol: Basic Data Types — fixed-length little-endian integers, length-encoded integers
 * and strings, NUL-terminated strings). A read past the end never throws: it sets `short` and
 * returns 0 or an empty view, so a decoder checks `short` once at the end.
 */

const utf8 = new TextDecoder('utf-8');

export class Reader {
  pos: number;
  /** A read ran past the end. */
  short = false;

  constructor(
    readonly b: Uint8Array,
    start = 0,
    readonly end = b.length,
  ) {
    this.pos = start;
  }

  get left(): number {
    return Math.max(0, this.end - this.pos);
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): boolean {
    if (this.pos + n <= this.end) return true;
    this.short = true;
    this.pos = this.end;
    return false;
  }

  peek(): number {
    return this.pos < this.end ? this.b[this.pos]! : -1;
  }

  u8(): number {
    if (!this.need(1)) return 0;
    return this.b[this.pos++]!;
  }

  u16(): number {
    if (!this.need(2)) return 0;
    const v = this.b[this.pos]! | (this.b[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u24(): number {
    if (!this.need(3)) return 0;
    const v = this.b[this.pos]! | (this.b[this.pos + 1]! << 8) | (this.b[this.pos + 2]! << 16);
    this.pos += 3;
    return v;
  }

  u32(): number {
    if (!this.need(4)) return 0;
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** int<8> as a number (exact up to 2^53). */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 0x1_0000_0000 + lo;
  }

  i64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return (hi | 0) * 0x1_0000_0000 + lo;
  }

  /** int<lenenc>: null for 0xfb (NULL in a text row); 0xff is not a valid first byte (null, short). */
  lenenc(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) return this.u64();
    this.short = true;
    return null;
  }

  skip(n: number): void {
    if (this.need(n)) this.pos += n;
  }

  /** The next `n` bytes as a view (no copy). */
  bytes(n: number): Uint8Array {
    if (!this.need(n)) return this.b.subarray(this.end, this.end);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** string<lenenc> as a view; null for the NULL marker. */
  lenencBytes(): Uint8Array | null {
    const n = this.lenenc();
    if (n === null) return null;
    return this.bytes(n);
  }

  /** string<NUL>: the bytes up to the NUL, which is consumed; without a NUL, the rest (and `short`). */
  nulBytes(): Uint8Array {
    const start = this.pos;
    const at = this.b.subarray(start, this.end).indexOf(0);
    if (at < 0) {
      this.pos = this.end;
      this.short = true;
      return this.b.subarray(start, this.end);
    }
    this.pos = start + at + 1;
    return this.b.subarray(start, start + at);
  }

  /** string<EOF>: everything left. */
  rest(): Uint8Array {
    const v = this.b.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}

/** UTF-8 text of at most `cap` bytes of `b` (a cut inside a character becomes U+FFFD). */
export function text(b: Uint8Array, cap = 256): string {
  return utf8.decode(b.length > cap ? b.subarray(0, cap) : b);
}

/** A value for the entry: text when it reads as such, else `0x`-hex; both capped at `cap` bytes. */
export function printable(b: Uint8Array, cap = 256): string {
  const view = b.length > cap ? b.subarray(0, cap) : b;
  for (const x of view) {
    if (x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) return `0x${Buffer.from(view).toString('hex')}`;
  }
  return utf8.decode(view);
}
