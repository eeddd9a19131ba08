/**
 * AMQP 0-9-1 data fields (§4.2.5): integers, bits, short and long strings, timestamps and field
 * tables, read by a cursor that checks every bound. A read past the end does not throw: it sets
 * `error` (the first one is kept) and returns a neutral value, so a method with a bad argument still
 * reports the arguments before it. Everything returned is plain data that outlives the payload.
 */

/** Long strings, table strings and byte arrays are kept up to this many bytes (the length is kept). */
export const MAX_VALUE_BYTES = 256;
/** Entries kept per field table or array; the rest are counted. */
export const MAX_TABLE_ENTRIES = 64;
/** Nesting kept for tables and arrays inside tables. */
export const MAX_TABLE_DEPTH = 8;

/** A value cut to MAX_VALUE_BYTES: its start and its full length on the wire. */
export interface Cut {
  truncated: string;
  length: number;
}

/** A field-table byte array ('x'), base64, at most MAX_VALUE_BYTES of it. */
export interface ByteArray {
  base64: string;
  length: number;
}

export type FieldValue =
  | null
  | boolean
  | number
  | string
  | Cut
  | ByteArray
  | FieldValue[]
  | { [key: string]: FieldValue };

const utf8 = new TextDecoder('utf-8');

/** Strings up to this length that are plain ASCII are built directly (names, keys, tags). */
const ASCII_FAST = 48;

export function text(b: Uint8Array, start: number, end: number): string {
  if (start >= end) return '';
  if (end - start <= ASCII_FAST) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c >= 0x80) return utf8.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(b.subarray(start, end));
}

/** 64-bit integers as numbers when exact, else as decimal strings. */
function int64(hi: number, lo: number, signed: boolean): number | string {
  if (signed && hi >= 0x80000000) {
    const v = -((BigInt(hi ^ 0xffffffff) << 32n) + BigInt(lo ^ 0xffffffff) + 1n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (hi < 0x200000) return hi * 0x100000000 + lo;
  return ((BigInt(hi) << 32n) + BigInt(lo)).toString();
}

export class Reader {
  pos: number;
  /** The first read that ran past the end or met a bad value: reading stopped there. */
  error: string | null = null;
  /**
   * The first malformed value inside a field table or array: a table carries its size, so reading
   * goes on after it and only that table is partial.
   */
  soft: string | null = null;
  private view: DataView | null = null;

  constructor(
    readonly b: Uint8Array,
    start = 0,
    readonly end = b.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(detail: string): void {
    if (this.error === null) this.error = detail;
    this.pos = this.end;
  }

  /** True when `n` more bytes are there; else records the error. */
  need(n: number, what: string): boolean {
    if (this.error !== null) return false;
    if (n <= this.end - this.pos) return true;
    this.fail(`${what} runs past the end (${n} bytes wanted, ${this.end - this.pos} left)`);
    return false;
  }

  u8(what = 'octet'): number {
    if (!this.need(1, what)) return 0;
    return this.b[this.pos++]!;
  }

  u16(what = 'short'): number {
    if (!this.need(2, what)) return 0;
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(what = 'long'): number {
    if (!this.need(4, what)) return 0;
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  u64(what = 'longlong', signed = false): number | string {
    if (!this.need(8, what)) return 0;
    const hi = this.u32();
    const lo = this.u32();
    return int64(hi, lo, signed);
  }

  i8(): number {
    const v = this.u8();
    return v >= 0x80 ? v - 0x100 : v;
  }

  i16(): number {
    const v = this.u16();
    return v >= 0x8000 ? v - 0x10000 : v;
  }

  i32(): number {
    return this.u32() | 0;
  }

  f32(): number {
    if (!this.need(4, 'float')) return 0;
    const v = this.dataView().getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    if (!this.need(8, 'double')) return 0;
    const v = this.dataView().getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** §4.2.5.3: a short string, an octet of length then at most 255 bytes. */
  shortstr(what = 'short string'): string {
    const n = this.u8(what);
    if (!this.need(n, what)) return '';
    const s = text(this.b, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** §4.2.5.3: a long string, a 32-bit length then the bytes; kept up to MAX_VALUE_BYTES. */
  longstr(what = 'long string'): string | Cut {
    const n = this.u32(what);
    if (!this.need(n, what)) return '';
    const start = this.pos;
    this.pos += n;
    if (n <= MAX_VALUE_BYTES) return text(this.b, start, start + n);
    return { truncated: text(this.b, start, start + MAX_VALUE_BYTES), length: n };
  }

  /** A long string's bytes, as a view (the caller copies what it keeps). */
  longBytes(what: string): Uint8Array {
    const n = this.u32(what);
    if (!this.need(n, what)) return new Uint8Array(0);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, what: string): void {
    if (this.need(n, what)) this.pos += n;
  }

  /** §4.2.5.5: a field table, a 32-bit size then name/value pairs. */
  table(what = 'field table', depth = 0): Record<string, FieldValue> {
    const size = this.u32(what);
    if (!this.need(size, what)) return {};
    const end = this.pos + size;
    const out = readTableBody(this, end, depth);
    this.pos = end;
    return out;
  }

  private dataView(): DataView {
    this.view ??= new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    return this.view;
  }
}

/**
 * The pairs of a field table from the reader's position to `end` (also used for AMQPLAIN's
 * response, which is a table without its size). Past MAX_TABLE_ENTRIES pairs are read but not
 * kept; `…` counts them.
 */
export function readTableBody(r: Reader, end: number, depth: number): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  const inner = new Reader(r.b, r.pos, end);
  let n = 0;
  while (inner.pos < end && inner.error === null) {
    const name = inner.shortstr('field name');
    const value = fieldValue(inner, depth + 1);
    if (inner.error !== null) break;
    if (n < MAX_TABLE_ENTRIES) {
      // A name like "__proto__" must stay data.
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    }
    n++;
  }
  if (n > MAX_TABLE_ENTRIES) out['…'] = n - MAX_TABLE_ENTRIES;
  r.soft ??= inner.error ?? inner.soft;
  return out;
}

function readArray(r: Reader, depth: number): FieldValue[] {
  const size = r.u32('field array');
  if (!r.need(size, 'field array')) return [];
  const end = r.pos + size;
  const inner = new Reader(r.b, r.pos, end);
  const out: FieldValue[] = [];
  let n = 0;
  while (inner.pos < end && inner.error === null) {
    const v = fieldValue(inner, depth + 1);
    if (inner.error !== null) break;
    if (n < MAX_TABLE_ENTRIES) out.push(v);
    n++;
  }
  if (n > MAX_TABLE_ENTRIES) out.push(`… ${n - MAX_TABLE_ENTRIES} more`);
  r.soft ??= inner.error ?? inner.soft;
  r.pos = end;
  return out;
}

/**
 * One field value (§4.2.5.5), with RabbitMQ's reading of the type tags where the 0-9-1 text and
 * the brokers disagree (RabbitMQ "AMQP 0-9-1 errata", field types): 's' is a signed 16-bit
 * integer, not a short string, and 'x' is a byte array. 'U' and 'L' are read as the spec's
 * signed 16- and 64-bit integers; 'l' is signed 64-bit as RabbitMQ and Qpid write it.
 */
function fieldValue(r: Reader, depth: number): FieldValue {
  const tag = r.u8('field type');
  if (r.error !== null) return null;
  if (depth > MAX_TABLE_DEPTH && (tag === 0x46 || tag === 0x41)) {
    // Nested deeper than we keep: skip the table or array by its size.
    const size = r.u32('nested value');
    r.skip(size, 'nested value');
    return `… nested deeper than ${MAX_TABLE_DEPTH}`;
  }
  switch (tag) {
    case 0x74: // 't' boolean
      return r.u8() !== 0;
    case 0x62: // 'b' short-short-int
      return r.i8();
    case 0x42: // 'B' short-short-uint
      return r.u8();
    case 0x55: // 'U' short-int (0-9-1)
    case 0x73: // 's' short-int (RabbitMQ, Qpid)
      return r.i16();
    case 0x75: // 'u' short-uint
      return r.u16();
    case 0x49: // 'I' long-int
      return r.i32();
    case 0x69: // 'i' long-uint
      return r.u32();
    case 0x4c: // 'L' long-long-int (0-9-1)
    case 0x6c: // 'l' long-long-int (RabbitMQ, Qpid)
      return r.u64('long-long-int', true);
    case 0x66: // 'f' float
      return r.f32();
    case 0x64: // 'd' double
      return r.f64();
    case 0x44: {
      // 'D' decimal: scale octet, then a signed 32-bit value
      const scale = r.u8();
      const value = r.i32();
      return value / 10 ** scale;
    }
    case 0x53: // 'S' long string
      return r.longstr('long string value');
    case 0x41: // 'A' field array
      return readArray(r, depth);
    case 0x54: // 'T' timestamp, seconds since the epoch
      return r.u64('timestamp');
    case 0x46: // 'F' nested field table
      return r.table('nested field table', depth);
    case 0x56: // 'V' void
      return null;
    case 0x78: {
      // 'x' byte array
      const bytes = r.longBytes('byte array');
      return {
        base64: Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, MAX_VALUE_BYTES)).toString(
          'base64',
        ),
        length: bytes.length,
      };
    }
    default:
      r.fail(`unknown field type 0x${tag.toString(16).padStart(2, '0')} (§4.2.5.5)`);
      return null;
  }
}
