/**
 * HPACK, header compression for HTTP/2 (RFC 7541): a decoder with its dynamic table, one per
 * direction of a connection, and a small encoder used to build test fixtures.
 *
 * A sniffer may join a connection after its start (or lose a header block to a gap): the dynamic
 * table then holds entries it never saw. The decoder is told so (`unknownState`), keeps decoding
 * what needs only the static table and the entries added since, and reports a reference to an
 * entry it cannot know as an error, as tshark does, rather than guessing.
 */
import { huffmanDecode, huffmanEncode, huffmanLength } from './huffman.js';

/** RFC 7541 Appendix A. Index 1 is the first element. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** RFC 7541 §4.1: an entry's size is its name and value lengths in octets plus 32. */
export const ENTRY_OVERHEAD = 32;
/** RFC 9113 §6.5.2: SETTINGS_HEADER_TABLE_SIZE starts at 4096. */
export const DEFAULT_TABLE_SIZE = 4096;
/**
 * The largest table a size update may ask for here. The protocol allows up to 2^32-1 (bounded by
 * the receiver's SETTINGS); real stacks use 4 KiB to 64 KiB. Past this the update is an error and
 * memory stays bounded.
 */
export const MAX_TABLE_SIZE = 1 << 20;
/** A single string literal longer than this is an error (the block itself is bounded by the caller). */
const MAX_STRING = 1 << 20;

export type HeaderField = [name: string, value: string];

interface DynamicEntry {
  name: string;
  value: string;
  size: number;
  /** Inserted with a name we could not resolve (unknown table state): unusable. */
  unknown: boolean;
}

export interface HpackResult {
  headers: HeaderField[];
  /** The first problem met, citing RFC 7541; decoding stops there (the rest of the block is lost). */
  error: string | null;
}

const utf8 = new TextDecoder('utf-8');

export class HpackDecoder {
  /** Newest first: dynamic index 62 is `entries[0]` (RFC 7541 §2.3.3). */
  private entries: DynamicEntry[] = [];
  private size = 0;
  private maxSize: number;
  /** True when entries may exist that this decoder never saw (joined mid-connection, a lost block). */
  unknownState: boolean;

  /** `maxSize`: the table's maximum size before any size update (RFC 9113 §6.5.2 initial value). */
  constructor(unknownState = false, maxSize = DEFAULT_TABLE_SIZE) {
    this.unknownState = unknownState;
    this.maxSize = maxSize;
  }

  /** The table as RFC 7541 Appendix C prints it: [name, value] newest first, and its size. */
  table(): { entries: HeaderField[]; size: number; maxSize: number } {
    return { entries: this.entries.map((e) => [e.name, e.value]), size: this.size, maxSize: this.maxSize };
  }

  /**
   * Forgets the dynamic table: from now on, references to entries older than those inserted after
   * this call are unknown (a header block was lost).
   */
  lose(): void {
    this.entries = [];
    this.size = 0;
    this.unknownState = true;
  }

  /**
   * Decodes one complete header block (HEADERS/PUSH_PROMISE plus CONTINUATIONs). A reference to an
   * entry this decoder cannot know is reported and skipped (the block's framing is intact, so the
   * rest still decodes and the table stays in step); a malformed representation ends the block.
   */
  decode(block: Uint8Array): HpackResult {
    const headers: HeaderField[] = [];
    let error: string | null = null;
    let pos = 0;
    let sawField = false;
    const fail = (e: string): HpackResult => ({ headers, error: e });
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        // §6.1 Indexed Header Field Representation.
        const idx = readInteger(block, pos, 7);
        if (typeof idx === 'string') return fail(idx);
        pos = idx.next;
        if (idx.value === 0) return fail('RFC 7541 §6.1: index 0 is not used');
        const field = this.lookup(idx.value);
        if (typeof field === 'string') error ??= field;
        else headers.push(field);
        sawField = true;
      } else if ((b & 0xe0) === 0x20) {
        // §6.3 Dynamic Table Size Update: only at the start of a block (§4.2).
        const n = readInteger(block, pos, 5);
        if (typeof n === 'string') return fail(n);
        pos = n.next;
        if (sawField) return fail('RFC 7541 §4.2: dynamic table size update after a header field');
        if (n.value > MAX_TABLE_SIZE)
          return fail(`RFC 7541 §6.3: table size update to ${n.value} exceeds ${MAX_TABLE_SIZE}`);
        this.maxSize = n.value;
        this.evict(0);
      } else {
        // §6.2.1 incremental indexing (01), §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const idx = readInteger(block, pos, indexing ? 6 : 4);
        if (typeof idx === 'string') return fail(idx);
        pos = idx.next;
        let name: string | null = null;
        let nameOctets = 0;
        if (idx.value === 0) {
          const s = readString(block, pos);
          if (typeof s === 'string') return fail(s);
          pos = s.next;
          name = s.text;
          nameOctets = s.octets;
        } else {
          const field = this.lookup(idx.value);
          if (typeof field === 'string') error ??= field;
          else {
            name = field[0];
            nameOctets = Buffer.byteLength(name);
          }
        }
        // The value is read even when the name is unknown, to keep the table in step with the encoder.
        const v = readString(block, pos);
        if (typeof v === 'string') return fail(v);
        pos = v.next;
        sawField = true;
        if (name !== null) headers.push([name, v.text]);
        if (indexing)
          this.insert({
            name: name ?? '',
            value: v.text,
            size: nameOctets + v.octets + ENTRY_OVERHEAD,
            unknown: name === null,
          });
      }
    }
    return { headers, error };
  }

  private lookup(index: number): HeaderField | string {
    if (index <= STATIC_TABLE.length) {
      const s = STATIC_TABLE[index - 1]!;
      return [s[0], s[1]];
    }
    const e = this.entries[index - STATIC_TABLE.length - 1];
    if (!e) {
      return this.unknownState
        ? `HPACK index ${index} refers to a dynamic table entry added before the capture (or in lost bytes)`
        : `RFC 7541 §2.3.3: index ${index} is past the dynamic table (${this.entries.length} entries)`;
    }
    if (e.unknown) return `HPACK index ${index} refers to an entry whose name was never seen`;
    return [e.name, e.value];
  }

  /** §4.4: evict from the end until the new entry fits; an entry larger than the table empties it. */
  private insert(e: DynamicEntry): void {
    if (e.size > this.maxSize) {
      this.entries = [];
      this.size = 0;
      return;
    }
    this.evict(e.size);
    this.entries.unshift(e);
    this.size += e.size;
  }

  /** §4.3: evict the oldest entries until `room` more octets fit under the maximum size. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.entries.length > 0) {
      const old = this.entries.pop()!;
      this.size -= old.size;
    }
  }
}

/**
 * RFC 7541 §5.1 integer with an N-bit prefix. The value is bounded to 2^32-1 (no HTTP/2 quantity is
 * larger); a longer encoding is an error, never a silent overflow.
 */
export function readInteger(
  b: Uint8Array,
  pos: number,
  prefix: number,
): { value: number; next: number } | string {
  if (pos >= b.length) return 'RFC 7541 §5.1: integer past the end of the header block';
  const max = (1 << prefix) - 1;
  let value = b[pos]! & max;
  pos++;
  if (value < max) return { value, next: pos };
  let shift = 0;
  for (;;) {
    if (pos >= b.length) return 'RFC 7541 §5.1: integer past the end of the header block';
    const c = b[pos++]!;
    value += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0xffffffff) return 'RFC 7541 §5.1: integer exceeds 2^32-1';
    if ((c & 0x80) === 0) return { value, next: pos };
    if (shift > 35) return 'RFC 7541 §5.1: integer encoding too long';
  }
}

/** RFC 7541 §5.2 string literal: H bit, 7-bit-prefix length, octets (Huffman-coded when H). */
function readString(b: Uint8Array, pos: number): { text: string; octets: number; next: number } | string {
  if (pos >= b.length) return 'RFC 7541 §5.2: string literal past the end of the header block';
  const huffman = (b[pos]! & 0x80) !== 0;
  const len = readInteger(b, pos, 7);
  if (typeof len === 'string') return len;
  const end = len.next + len.value;
  if (end > b.length) return `RFC 7541 §5.2: string length ${len.value} runs past the header block`;
  if (len.value > MAX_STRING) return `string literal of ${len.value} octets exceeds ${MAX_STRING}`;
  const raw = b.subarray(len.next, end);
  if (!huffman) return { text: utf8.decode(raw), octets: raw.length, next: end };
  const out = new Uint8Array(Math.ceil((raw.length * 8) / 5));
  const n = huffmanDecode(raw, out);
  if (typeof n === 'string') return n;
  return { text: utf8.decode(out.subarray(0, n)), octets: n, next: end };
}

// The encoder: enough of RFC 7541 to write fixtures (and round-trip tests) with real HPACK.

export type EncodeMode = 'incremental' | 'without' | 'never';

export function encodeInteger(value: number, prefix: number, firstBits: number): number[] {
  const max = (1 << prefix) - 1;
  if (value < max) return [firstBits | value];
  const out = [firstBits | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export function encodeString(text: string, huffman: boolean): number[] {
  const raw = Buffer.from(text, 'utf8');
  if (huffman && huffmanLength(raw) < raw.length) {
    const h = huffmanEncode(raw);
    return [...encodeInteger(h.length, 7, 0x80), ...h];
  }
  return [...encodeInteger(raw.length, 7, 0), ...raw];
}

/**
 * A stateful encoder mirroring the decoder's table: fields found whole in a table are indexed, the
 * rest are literals with a name index where one exists.
 */
export class HpackEncoder {
  private readonly dynamic: HeaderField[] = [];
  private size = 0;
  private maxSize: number;

  constructor(
    private readonly huffman = true,
    maxSize = DEFAULT_TABLE_SIZE,
  ) {
    this.maxSize = maxSize;
  }

  encode(fields: readonly HeaderField[], mode: EncodeMode = 'incremental', sizeUpdate?: number): Uint8Array {
    const out: number[] = [];
    if (sizeUpdate !== undefined) {
      out.push(...encodeInteger(sizeUpdate, 5, 0x20));
      this.maxSize = sizeUpdate;
      this.shrink(0);
    }
    for (const [name, value] of fields) {
      const full = this.find(name, value);
      if (full > 0) {
        out.push(...encodeInteger(full, 7, 0x80));
        continue;
      }
      const nameIdx = this.find(name, null);
      const [prefix, bits] = mode === 'incremental' ? [6, 0x40] : mode === 'never' ? [4, 0x10] : [4, 0];
      out.push(...encodeInteger(nameIdx, prefix, bits));
      if (nameIdx === 0) out.push(...encodeString(name, this.huffman));
      out.push(...encodeString(value, this.huffman));
      if (mode === 'incremental') {
        const size = Buffer.byteLength(name) + Buffer.byteLength(value) + ENTRY_OVERHEAD;
        if (size > this.maxSize) {
          this.dynamic.length = 0;
          this.size = 0;
        } else {
          this.shrink(size);
          this.dynamic.unshift([name, value]);
          this.size += size;
        }
      }
    }
    return Uint8Array.from(out);
  }

  private shrink(room: number): void {
    while (this.size + room > this.maxSize && this.dynamic.length > 0) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= Buffer.byteLength(n) + Buffer.byteLength(v) + ENTRY_OVERHEAD;
    }
  }

  private find(name: string, value: string | null): number {
    const all = [...STATIC_TABLE, ...this.dynamic];
    for (const [i, [n, v]] of all.entries()) if (n === name && (value === null || v === value)) return i + 1;
    return 0;
  }
}
