/**
 * A bounds-checked reader of Kafka's primitive types (Kafka protocol guide, "Protocol Primitive
 * Types") over one message. Reading past the end, or a length that does not fit, never throws: the
 * read answers a neutral value, `ok` turns false and `error` names the first field that broke, so a
 * parser reads a whole structure and checks once.
 *
 * Flexible versions (KIP-482) use compact forms: lengths as unsigned varints holding length + 1 (0 is
 * null), and each structure ends with tagged fields.
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Longest string kept in an entry, in bytes; a longer one is cut and says its length. */
export const MAX_STRING = 256;

export class KafkaReader {
  ok = true;
  error: string | null = null;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  fail(what: string): void {
    if (this.ok) {
      this.ok = false;
      this.error = what;
    }
  }

  /** Reserves `n` bytes; -1 (and a failure naming `what`) when they are not there. */
  private take(n: number, what: string): number {
    if (!this.ok) return -1;
    if (n < 0 || n > this.end - this.pos) {
      this.fail(`${what}: needs ${n} bytes, ${this.end - this.pos} left`);
      return -1;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  skip(n: number, what: string): void {
    this.take(n, what);
  }

  i8(what: string): number {
    const at = this.take(1, what);
    return at < 0 ? 0 : (this.buf[at]! << 24) >> 24;
  }

  i16(what: string): number {
    const at = this.take(2, what);
    return at < 0 ? 0 : (((this.buf[at]! << 8) | this.buf[at + 1]!) << 16) >> 16;
  }

  i32(what: string): number {
    const at = this.take(4, what);
    if (at < 0) return 0;
    const b = this.buf;
    return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }

  /** An int64 as a number: exact up to 2^53, which covers offsets and timestamps in practice. */
  i64(what: string): number {
    const hi = this.i32(what);
    const at = this.take(4, what);
    if (at < 0) return 0;
    const b = this.buf;
    const lo = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    return hi * 4294967296 + lo;
  }

  /** UNSIGNED_VARINT (protobuf style, at most 5 bytes for 32 bits). */
  uvarint(what: string): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const at = this.take(1, what);
      if (at < 0) return 0;
      const byte = this.buf[at]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) this.fail(`${what}: varint over 32 bits`);
        return value;
      }
    }
    this.fail(`${what}: varint longer than 5 bytes`);
    return 0;
  }

  /** VARINT: zigzag-encoded signed 32-bit. */
  varint(what: string): number {
    const u = this.uvarint(what);
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** UUID as Kafka prints it (org.apache.kafka.common.Uuid#toString: URL-safe base64, no padding). */
  uuid(what: string): string {
    const at = this.take(16, what);
    if (at < 0) return '';
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + at, 16).toString('base64url');
  }

  /**
   * A length prefix: INT16 (strings) or INT32 (bytes, arrays) in classic versions, UNSIGNED_VARINT
   * minus one in compact ones. Returns -1 for null; fails on a negative length other than -1 and on
   * a length longer than what is left (each element of an array takes at least `unit` bytes).
   */
  private length(kind: 'string' | 'bytes' | 'array', compact: boolean, what: string, unit: number): number {
    let n: number;
    if (compact) n = this.uvarint(what) - 1;
    else n = kind === 'string' ? this.i16(what) : this.i32(what);
    if (!this.ok) return -1;
    if (n < -1) {
      this.fail(`${what}: negative length ${n}`);
      return -1;
    }
    if (n > 0 && n * unit > this.end - this.pos) {
      this.fail(`${what}: length ${n} past the end (${this.end - this.pos} bytes left)`);
      return -1;
    }
    return n;
  }

  /**
   * STRING / NULLABLE_STRING / COMPACT_(NULLABLE_)STRING. Returns null for a null string; a string
   * longer than `max` bytes is cut there and ends with `…(<length> bytes)`.
   */
  string(compact: boolean, what: string, max = MAX_STRING): string | null {
    const n = this.length('string', compact, what, 1);
    if (n < 0) return null;
    const at = this.take(n, what);
    if (at < 0) return null;
    if (n <= max) return utf8.decode(this.buf.subarray(at, at + n));
    return `${utf8.decode(this.buf.subarray(at, at + max))}…(${n} bytes)`;
  }

  /** Skips a string without decoding it (fields that are not kept). */
  skipString(compact: boolean, what: string): void {
    const n = this.length('string', compact, what, 1);
    if (n > 0) this.take(n, what);
  }

  /** BYTES / RECORDS / their compact forms, as a view of the message (null for null). */
  bytes(compact: boolean, what: string): Uint8Array | null {
    const n = this.length('bytes', compact, what, 1);
    if (n < 0) return null;
    const at = this.take(n, what);
    return at < 0 ? null : this.buf.subarray(at, at + n);
  }

  /**
   * An array's element count (-1 for null). `minElement` is the fewest bytes one element takes, to
   * refuse counts the rest of the message cannot hold before looping over them.
   */
  arrayLength(compact: boolean, what: string, minElement = 1): number {
    return this.length('array', compact, what, minElement);
  }

  /**
   * A tagged-field section (KIP-482): a count, then tag / size / data, each skipped by its size.
   * Returns the number of fields skipped.
   */
  taggedFields(what: string): number {
    const count = this.uvarint(`${what} tagged fields`);
    if (count > this.left) {
      this.fail(`${what} tagged fields: count ${count} past the end`);
      return 0;
    }
    for (let i = 0; i < count && this.ok; i++) {
      this.uvarint(`${what} tag`);
      const size = this.uvarint(`${what} tag size`);
      this.take(size, `${what} tag data`);
    }
    return count;
  }
}
