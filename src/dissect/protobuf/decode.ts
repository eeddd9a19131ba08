/**
 * Protocol Buffers decoded without a schema (protobuf.dev "Encoding"), like `protoc --decode_raw`:
 * each field shows its number and wire type; a length-delimited field is shown as a nested message
 * when it parses as one, else as text when it is printable UTF-8, else as bytes (hex). Varints that
 * do not fit a double exactly are strings. Depth, field count and output size are bounded.
 */

export type WireTypeName = 'varint' | 'i64' | 'len' | 'sgroup' | 'egroup' | 'i32';
const WIRE_TYPES: readonly WireTypeName[] = ['varint', 'i64', 'len', 'sgroup', 'egroup', 'i32'];

export interface ProtoField {
  /** Field number. */
  n: number;
  /** Wire type (protobuf.dev Encoding, "Message Structure"). */
  wire: WireTypeName;
  /** varint: the unsigned value; i32/i64: the unsigned value (hex for i64 past 2^53). */
  value?: number | string;
  /** len: the bytes as UTF-8 text when printable. */
  text?: string;
  /** len: the bytes as a nested message when they parse as one. */
  message?: ProtoField[];
  /** len: hex of the bytes when neither text nor a message (cut at the display bound). */
  hex?: string;
  /** len: the declared length. */
  length?: number;
}

export interface DecodeResult {
  fields: ProtoField[];
  /** Why decoding stopped early (citing the encoding rule), else null. */
  error: string | null;
}

const MAX_DEPTH = 8;
const MAX_FIELDS = 256;
const MAX_HEX = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes `b` as a message. */
export function decodeProtobuf(b: Uint8Array): DecodeResult {
  return decodeMessage(b, 0);
}

function decodeMessage(b: Uint8Array, depth: number): DecodeResult {
  const fields: ProtoField[] = [];
  let pos = 0;
  while (pos < b.length) {
    if (fields.length >= MAX_FIELDS) return { fields, error: `more than ${MAX_FIELDS} fields: not shown` };
    const tag = readVarint(b, pos);
    if (!tag) return { fields, error: 'protobuf: truncated or overlong tag varint' };
    pos = tag.next;
    const n = Math.floor(tag.value / 8);
    const wt = tag.value % 8;
    if (n < 1 || n > 0x1fffffff)
      return { fields, error: `protobuf: field number ${n} out of range 1..2^29-1` };
    const wire = WIRE_TYPES[wt];
    if (!wire) return { fields, error: `protobuf: wire type ${wt} does not exist` };
    switch (wire) {
      case 'varint': {
        const v = readVarint(b, pos);
        if (!v) return { fields, error: 'protobuf: truncated varint' };
        pos = v.next;
        fields.push({ n, wire, value: v.exact ? v.value : v.big.toString() });
        break;
      }
      case 'i64': {
        if (pos + 8 > b.length) return { fields, error: 'protobuf: truncated 64-bit field' };
        const big = Buffer.from(b.buffer, b.byteOffset + pos, 8).readBigUInt64LE(0);
        fields.push({
          n,
          wire,
          value: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString(),
        });
        pos += 8;
        break;
      }
      case 'i32': {
        if (pos + 4 > b.length) return { fields, error: 'protobuf: truncated 32-bit field' };
        fields.push({ n, wire, value: Buffer.from(b.buffer, b.byteOffset + pos, 4).readUInt32LE(0) });
        pos += 4;
        break;
      }
      case 'len': {
        const len = readVarint(b, pos);
        if (!len) return { fields, error: 'protobuf: truncated length varint' };
        pos = len.next;
        if (!len.exact || pos + len.value > b.length)
          return { fields, error: `protobuf: length ${len.value} runs past the message` };
        fields.push(describeBytes(n, b.subarray(pos, pos + len.value), depth));
        pos += len.value;
        break;
      }
      default:
        // Groups (wire types 3 and 4) are deprecated; shown as markers, their contents as fields.
        fields.push({ n, wire });
    }
  }
  return { fields, error: null };
}

function describeBytes(n: number, v: Uint8Array, depth: number): ProtoField {
  const field: ProtoField = { n, wire: 'len', length: v.length };
  // Printable UTF-8 is shown as text (a short string often also parses as a message).
  if (isPrintable(v)) {
    field.text = utf8.decode(v);
    return field;
  }
  if (depth < MAX_DEPTH) {
    const nested = decodeMessage(v, depth + 1);
    if (nested.error === null) {
      field.message = nested.fields;
      return field;
    }
  }
  field.hex = Buffer.from(v.subarray(0, MAX_HEX)).toString('hex') + (v.length > MAX_HEX ? '…' : '');
  return field;
}

function isPrintable(v: Uint8Array): boolean {
  let text: string;
  try {
    text = utf8.decode(v);
  } catch {
    return false;
  }
  // Control characters other than tab/newline/CR suggest binary.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 9 && c !== 10 && c !== 13) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

/** Base-128 varint, at most 10 bytes (protobuf.dev Encoding, "Base 128 Varints"). */
export function readVarint(
  b: Uint8Array,
  pos: number,
): { value: number; big: bigint; exact: boolean; next: number } | null {
  let big = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= b.length) return null;
    const c = b[pos + i]!;
    big |= BigInt(c & 0x7f) << BigInt(7 * i);
    if ((c & 0x80) === 0) {
      big &= 0xffffffffffffffffn;
      const exact = big <= BigInt(Number.MAX_SAFE_INTEGER);
      return { value: Number(big), big, exact, next: pos + i + 1 };
    }
  }
  return null;
}
