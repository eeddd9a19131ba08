/**
 * RESP, the REdis Serialization Protocol (redis.io/docs/latest/develop/reference/protocol-spec),
 * versions 2 and 3, read incrementally: a push parser per direction that takes the bytes as they
 * come and hands over each top-level value once whole, however segments cut it.
 *
 * Memory is bounded whatever the value's size: strings are skipped by their length with only the
 * first bytes copied, aggregates keep their first elements and count the rest, nesting is capped,
 * and lines longer than the protocol allows are errors. A client's stream also carries inline
 * commands (a line of words, "Inline commands" in the spec), read here as an array of words.
 */
import { utf8Text } from '../../wire/bytes.js';

/** RESP types by their first byte (spec: "RESP protocol description", RESP2 and RESP3 types). */
export const T_SIMPLE = 0x2b; // '+'
export const T_ERROR = 0x2d; // '-'
export const T_INTEGER = 0x3a; // ':'
export const T_BULK = 0x24; // '$'
export const T_ARRAY = 0x2a; // '*'
export const T_NULL = 0x5f; // '_'
export const T_BOOLEAN = 0x23; // '#'
export const T_DOUBLE = 0x2c; // ','
export const T_BIGNUM = 0x28; // '('
export const T_BLOB_ERROR = 0x21; // '!'
export const T_VERBATIM = 0x3d; // '='
export const T_MAP = 0x25; // '%'
export const T_SET = 0x7e; // '~'
export const T_PUSH = 0x3e; // '>'
export const T_ATTRIBUTE = 0x7c; // '|'
/** Streamed strings (`$?`) come as `;<len>` chunks; streamed aggregates (`*?`) end with `.`. */
const T_CHUNK = 0x3b; // ';'
const T_END = 0x2e; // '.'
/** Not a RESP type: marks an inline command line. */
const T_INLINE = 0;

export type RespType =
  | 'simple'
  | 'error'
  | 'integer'
  | 'bulk'
  | 'null'
  | 'array'
  | 'map'
  | 'set'
  | 'push'
  | 'double'
  | 'bignum'
  | 'boolean'
  | 'verbatim'
  | 'blobError';

/** A decoded value, as much of it as is kept. Strings are decoded copies: it outlives the chunk. */
export interface RespValue {
  type: RespType;
  /** String types, doubles and big numbers: the text, cut at the keep limit. */
  text?: string;
  /** Integers within ±2^53 (larger ones are in `text`). */
  int?: number;
  bool?: boolean;
  /** Bulk, verbatim and blob-error strings: the full length in bytes. */
  length?: number;
  /** Verbatim strings: the three-letter format (`txt`, `mkd`). */
  format?: string;
  /** Aggregates: the element count (pairs for a map); for a streamed aggregate, what was seen. */
  count?: number;
  /** Aggregates: the first elements (a map's keys and values alternate). */
  items?: RespValue[];
  /** Something was left out: text cut, elements past the cap, nesting too deep. */
  truncated?: boolean;
  /** RESP3 attributes (`|`) that preceded the value, as a map. */
  attributes?: RespValue;
}

export interface RespMessage {
  value: RespValue;
  /** Bytes on the wire, attributes included. */
  size: number;
  /** Capture time of the first byte, µs. */
  ts: number;
  /** An inline command (client side only): `value` is an array of its words. */
  inline: boolean;
}

export interface RespReaderOptions {
  /** The client's side: a top-level value not starting with `*` is an inline command. */
  client: boolean;
  /** Bytes kept of each string value. */
  keepBytes: number;
  /** Bytes kept of each error string (errors are shown whole when reasonable). */
  keepErrorBytes: number;
  /** Elements kept per aggregate. */
  keepItems: number;
  /** Aggregates deeper than this are counted, not kept. */
  keepDepth: number;
}

export interface RespEvents {
  onMessage(m: RespMessage): void;
  /** Malformed input: the reader is lost until a chunk starts with something plausible. */
  onError(detail: string): void;
}

/** Nesting beyond this is taken as garbage (real replies nest a handful of levels). */
export const MAX_NESTING = 64;
/** Inline commands (Redis's PROTO_INLINE_MAX_SIZE) and text lines (simple strings, errors...). */
export const MAX_TEXT_LINE = 64 * 1024;
/** A length or count line: a type byte, a sign, up to 19 digits. */
const MAX_NUMBER_LINE = 24;
/** Redis's proto-max-bulk-len is 512 MB by default and can be raised; 4 GiB is beyond any. */
const MAX_BULK = 2 ** 32;
const MAX_COUNT = 2 ** 31;
/** Bytes of a line kept (an inline command's words, an error's text). */
const LINE_KEEP = 4096;

const ST_START = 0;
const ST_LINE = 1;
const ST_BULK = 2;
const ST_BULK_CR = 3;
const ST_BULK_LF = 4;
const ST_LOST = 5;

interface Frame {
  type: number;
  /** Elements still to come; Infinity for a streamed aggregate. */
  remaining: number;
  /** Elements seen so far (a streamed aggregate's count). */
  seen: number;
  /** Null when this aggregate is not kept (only counted). */
  value: RespValue | null;
}

/** A string being read: a bulk, verbatim or blob error, or a streamed string's chunks. */
interface StringAcc {
  type: number;
  keep: number;
  filled: number;
  length: number;
  kept: boolean;
}

export class RespReader {
  private state = ST_START;
  private readonly stack: Frame[] = [];
  /** Attributes waiting for the next value at this depth. */
  private attr: { depth: number; value: RespValue | null } | null = null;
  // The line being read: its type byte, the kept bytes, its full length and last byte.
  private lineType = 0;
  /** Grows on demand up to LINE_KEEP: most lines are a few bytes, and a busy node has many connections. */
  private line: Uint8Array = new Uint8Array(64);
  private lineKept = 0;
  private lineTotal = 0;
  private lineLast = 0;
  private lineMax = 0;
  // The string being read; its first bytes are copied into `scratch`.
  /** Grows on demand up to the larger of keepBytes and keepErrorBytes. */
  private scratch: Uint8Array = new Uint8Array(64);
  private readonly scratchMax: number;
  private str: StringAcc | null = null;
  private bulkRemaining = 0;
  /** Inside a streamed string (`$?`): the next value must be a `;` chunk. */
  private streamed: StringAcc | null = null;
  /** The nesting depth the streamed string sits at. */
  private streamedDepth = -1;
  // The top-level message being read.
  private inMessage = false;
  private msgTs = 0;
  private msgBytes = 0;
  /** The top-level value just completed, and whether it was an inline command. */
  private done: RespValue | null = null;
  private doneInline = false;

  constructor(
    private readonly options: RespReaderOptions,
    private readonly events: RespEvents,
  ) {
    this.scratchMax = Math.max(options.keepBytes, options.keepErrorBytes);
  }

  /** A message has begun and is not whole. */
  get partial(): boolean {
    return this.inMessage;
  }

  /**
   * Bytes held across calls, for tests of boundedness: the fixed buffers, and a rough size per open
   * aggregate (each keeps at most `keepItems` values of at most `keepBytes`).
   */
  get retained(): number {
    return this.line.length + this.scratch.length + this.stack.length * 64;
  }

  /** Drops whatever is half read; the next chunk must start somewhere plausible. */
  lose(): void {
    this.state = ST_LOST;
    this.reset();
  }

  private reset(): void {
    this.stack.length = 0;
    this.attr = null;
    this.str = null;
    this.streamed = null;
    this.inMessage = false;
    this.msgBytes = 0;
  }

  /**
   * Consumes `data` (valid only during the call). In the lost state, `plausible` says whether the
   * chunk starts a message; if not, it is dropped.
   */
  feed(data: Uint8Array, ts: number, plausible: (b: Uint8Array) => boolean): void {
    if (this.state === ST_LOST) {
      if (!plausible(data)) return;
      this.state = ST_START;
    }
    this.read(data, 0, ts, false);
  }

  /** Lost (at the start, after a gap or malformed bytes): waiting for a chunk that starts a message. */
  get lost(): boolean {
    return this.state === ST_LOST;
  }

  /** Leaves the lost state: the caller found that the chunk it reads next starts a message. */
  resync(): void {
    if (this.state === ST_LOST) this.state = ST_START;
  }

  /**
   * Between two messages, ready for the next one: nothing half read, not lost. The session's fast
   * path (fast.ts) reads whole messages itself only then.
   */
  get atBoundary(): boolean {
    return this.state === ST_START && !this.inMessage;
  }

  /**
   * Consumes `data[from..]` (valid only during the call) when not lost. With `once`, stops right
   * after the first message it completes and returns where it stopped, so the session's fast path
   * can take over again; otherwise, and when the chunk ends first or is dropped after a failure,
   * returns `data.length`.
   */
  read(data: Uint8Array, from: number, ts: number, once: boolean): number {
    let pos = from;
    // Where the current message's bytes began in this chunk (for its wire size).
    let counted = from;
    const n = data.length;
    while (pos < n) {
      switch (this.state) {
        case ST_START: {
          if (!this.inMessage) {
            this.inMessage = true;
            this.msgTs = ts;
            this.msgBytes = 0;
            counted = pos;
          }
          const b = data[pos]!;
          if (this.streamed && this.stack.length === this.streamedDepth) {
            if (b !== T_CHUNK) {
              this.fail(`streamed string: expected ';', got ${show(b)}`);
              return n;
            }
            this.startLine(b, MAX_NUMBER_LINE);
            pos++;
          } else if (this.options.client && this.stack.length === 0 && !this.attr && b !== T_ARRAY) {
            // Spec, "Inline commands": anything that does not start with '*' is a line of words.
            this.startLine(T_INLINE, MAX_TEXT_LINE);
          } else {
            const max = b === T_END ? this.endAllowed() : lineLimit(b);
            if (max === 0) {
              this.fail(`unknown type byte ${show(b)}`);
              return n;
            }
            this.startLine(b, max);
            pos++;
          }
          break;
        }
        case ST_LINE: {
          const lf = data.indexOf(0x0a, pos);
          const end = lf < 0 ? n : lf;
          const len = end - pos;
          if (len > 0) {
            const room = LINE_KEEP - this.lineKept;
            if (room > 0) {
              const take = Math.min(room, len);
              if (this.lineKept + take > this.line.length)
                this.line = grow(this.line, this.lineKept + take, LINE_KEEP);
              copyInto(this.line, this.lineKept, data, pos, take);
              this.lineKept += take;
            }
            this.lineTotal += len;
            this.lineLast = data[end - 1]!;
          }
          if (this.lineTotal > this.lineMax) {
            this.fail(`${lineName(this.lineType)} line longer than ${this.lineMax} bytes`);
            return n;
          }
          if (lf < 0) {
            pos = n;
            break;
          }
          pos = lf + 1;
          const done = this.endLine();
          if (done === 'error') return n;
          if (done === 'message') {
            this.finishMessage(pos - counted);
            counted = pos;
            if (once) return pos;
          }
          break;
        }
        case ST_BULK: {
          const take = Math.min(this.bulkRemaining, n - pos);
          const s = this.str!;
          if (s.kept && s.filled < s.keep) {
            const copy = Math.min(take, s.keep - s.filled);
            if (s.filled + copy > this.scratch.length)
              this.scratch = grow(this.scratch, s.filled + copy, this.scratchMax);
            copyInto(this.scratch, s.filled, data, pos, copy);
            s.filled += copy;
          }
          pos += take;
          this.bulkRemaining -= take;
          if (this.bulkRemaining === 0) this.state = ST_BULK_CR;
          break;
        }
        case ST_BULK_CR:
          if (data[pos] !== 0x0d) {
            this.fail(`string not followed by CRLF (got ${show(data[pos]!)})`);
            return n;
          }
          pos++;
          this.state = ST_BULK_LF;
          break;
        case ST_BULK_LF: {
          if (data[pos] !== 0x0a) {
            this.fail(`string not followed by CRLF (got ${show(data[pos]!)})`);
            return n;
          }
          pos++;
          this.state = ST_START;
          const done = this.endString();
          if (done === 'message') {
            this.finishMessage(pos - counted);
            counted = pos;
            if (once) return pos;
          }
          break;
        }
        default:
          // ST_LOST after a failure inside this chunk: the rest is dropped.
          return n;
      }
    }
    if (this.inMessage) this.msgBytes += n - counted;
    return n;
  }

  /** '.' ends a streamed aggregate (spec, "Streamed aggregate data types"), and nothing else. */
  private endAllowed(): number {
    return this.stack[this.stack.length - 1]?.remaining === Infinity ? MAX_NUMBER_LINE : 0;
  }

  private fail(detail: string): void {
    this.lose();
    this.events.onError(detail);
  }

  private startLine(type: number, max: number): void {
    this.state = ST_LINE;
    this.lineType = type;
    this.lineKept = 0;
    this.lineTotal = 0;
    this.lineLast = 0;
    this.lineMax = max;
  }

  private finishMessage(bytesInChunk: number): void {
    const value = this.done!;
    this.done = null;
    const inline = this.doneInline;
    this.doneInline = false;
    const size = this.msgBytes + bytesInChunk;
    this.inMessage = false;
    this.msgBytes = 0;
    this.events.onMessage({ value, size, ts: this.msgTs, inline });
  }

  /** A whole line was read; returns whether it completed a top-level message. */
  private endLine(): 'more' | 'message' | 'error' {
    this.state = ST_START;
    const cr = this.lineLast === 0x0d;
    const type = this.lineType;
    // Kept bytes without the CR (when the whole line was kept, the CR is its last kept byte).
    let kept = this.lineKept;
    if (cr && this.lineTotal === this.lineKept) kept--;
    const text = this.line.subarray(0, kept);
    const cut = this.lineTotal - (cr ? 1 : 0) > kept;
    if (type === T_INLINE) {
      const words = splitInline(text);
      // An empty line between commands is allowed (and ignored) by Redis.
      if (words.length === 0) {
        this.inMessage = false;
        this.msgBytes = 0;
        return 'more';
      }
      const keep = this.options.keepBytes;
      const items = words.slice(0, this.options.keepItems).map((w) => ({
        type: 'bulk' as const,
        text: w.length > keep ? w.slice(0, keep) : w,
        length: Buffer.byteLength(w),
      }));
      const v: RespValue = { type: 'array', count: words.length, items };
      if (cut || words.length > items.length || words.some((w) => w.length > keep)) v.truncated = true;
      this.done = v;
      this.doneInline = true;
      return 'message';
    }
    if (!cr) return this.failLine(`${lineName(type)} line not ended by CRLF`);
    switch (type) {
      case T_SIMPLE:
      case T_ERROR:
        return this.deliver(this.textValue(type === T_SIMPLE ? 'simple' : 'error', text, cut));
      case T_INTEGER: {
        const v = parseInteger(text);
        if (v === null) return this.failLine(`bad integer ${quote(text)}`);
        return this.deliver(this.keepScalar() ? v : null);
      }
      case T_NULL:
        if (kept !== 0) return this.failLine('null with content');
        return this.deliver(this.keepScalar() ? { type: 'null' } : null);
      case T_BOOLEAN:
        if (kept !== 1 || (text[0] !== 0x74 && text[0] !== 0x66)) return this.failLine('bad boolean');
        return this.deliver(this.keepScalar() ? { type: 'boolean', bool: text[0] === 0x74 } : null);
      case T_DOUBLE:
        if (!isDouble(text)) return this.failLine(`bad double ${quote(text)}`);
        return this.deliver(this.textValue('double', text, false));
      case T_BIGNUM:
        if (!/^[-+]?\d+$/.test(latin1(text))) return this.failLine(`bad big number ${quote(text)}`);
        return this.deliver(this.textValue('bignum', text, cut));
      case T_BULK:
      case T_VERBATIM:
      case T_BLOB_ERROR:
      case T_CHUNK:
        return this.startString(type, text);
      case T_ARRAY:
      case T_MAP:
      case T_SET:
      case T_PUSH:
      case T_ATTRIBUTE:
        return this.startAggregate(type, text);
      case T_END: {
        const top = this.stack[this.stack.length - 1];
        if (kept !== 0 || !top || top.remaining !== Infinity)
          return this.failLine("'.' outside a streamed aggregate");
        this.stack.pop();
        return this.deliverFrame(top);
      }
      default:
        return this.failLine(`unknown type byte ${show(type)}`);
    }
  }

  private failLine(detail: string): 'error' {
    this.fail(detail);
    return 'error';
  }

  private textValue(type: RespType, text: Uint8Array, cut: boolean): RespValue | null {
    if (!this.keepScalar()) return null;
    const limit = type === 'error' ? this.options.keepErrorBytes : this.options.keepBytes;
    const v: RespValue = { type, text: utf8Text(text.subarray(0, limit)) };
    if (cut || text.length > limit) v.truncated = true;
    return v;
  }

  /** Whether a value starting now is kept: at the top, or within the parent's caps. */
  private keepScalar(): boolean {
    const top = this.stack[this.stack.length - 1];
    if (!top) return true;
    const parent = top.value;
    if (!parent) return false;
    const cap =
      parent.type === 'map' || top.type === T_ATTRIBUTE ? this.options.keepItems * 2 : this.options.keepItems;
    if (parent.items!.length < cap && this.stack.length <= this.options.keepDepth) return true;
    parent.truncated = true;
    return false;
  }

  private startString(type: number, text: Uint8Array): 'more' | 'message' | 'error' {
    if (type === T_CHUNK) {
      const len = parseLength(text);
      if (len === null || len < 0) return this.failLine(`bad streamed string chunk length ${quote(text)}`);
      if (len === 0) {
        // The terminating ';0' (spec, "Streamed strings").
        const s = this.streamed!;
        this.streamed = null;
        this.streamedDepth = -1;
        return this.deliver(this.stringValue(s));
      }
      this.str = this.streamed!;
      this.str.length += len;
      return this.beginBulk(len);
    }
    if (type === T_BULK && text.length === 1 && text[0] === 0x3f) {
      // '$?': a streamed string of unknown length.
      this.streamed = { type, keep: this.options.keepBytes, filled: 0, length: 0, kept: this.keepScalar() };
      this.streamedDepth = this.stack.length;
      return 'more';
    }
    const len = parseLength(text);
    if (len === null) return this.failLine(`bad length ${quote(text)}`);
    // RESP2's null bulk string: $-1.
    if (len === -1 && type === T_BULK) return this.deliver(this.keepScalar() ? { type: 'null' } : null);
    if (len < 0 || len > MAX_BULK) return this.failLine(`bad length ${len}`);
    const keep = type === T_BLOB_ERROR ? this.options.keepErrorBytes : this.options.keepBytes;
    this.str = { type, keep, filled: 0, length: len, kept: this.keepScalar() };
    return this.beginBulk(len);
  }

  private beginBulk(len: number): 'more' {
    this.bulkRemaining = len;
    this.state = len === 0 ? ST_BULK_CR : ST_BULK;
    return 'more';
  }

  private endString(): 'more' | 'message' | 'error' {
    const s = this.str!;
    this.str = null;
    if (s === this.streamed) return 'more'; // a chunk of a streamed string; more chunks follow
    return this.deliver(this.stringValue(s));
  }

  private stringValue(s: StringAcc): RespValue | null {
    if (!s.kept) return null;
    const bytes = this.scratch.subarray(0, s.filled);
    const v: RespValue = { type: 'bulk', length: s.length };
    if (s.type === T_VERBATIM) {
      // Spec, "Verbatim strings": three bytes of format, ':', then the text.
      v.type = 'verbatim';
      if (bytes.length >= 4 && bytes[3] === 0x3a) {
        v.format = latin1(bytes.subarray(0, 3));
        v.text = utf8Text(bytes.subarray(4));
      } else {
        v.text = utf8Text(bytes);
      }
    } else {
      if (s.type === T_BLOB_ERROR) v.type = 'blobError';
      v.text = utf8Text(bytes);
    }
    if (s.length > s.filled) v.truncated = true;
    return v;
  }

  private startAggregate(type: number, text: Uint8Array): 'more' | 'message' | 'error' {
    const streamed = text.length === 1 && text[0] === 0x3f;
    const count = streamed ? Infinity : parseLength(text);
    if (count === null) return this.failLine(`bad count ${quote(text)}`);
    // RESP2's null array: *-1.
    if (count === -1 && type === T_ARRAY) return this.deliver(this.keepScalar() ? { type: 'null' } : null);
    if (!streamed && (count < 0 || count > MAX_COUNT)) return this.failLine(`bad count ${count}`);
    if (this.stack.length >= MAX_NESTING) return this.failLine(`nesting deeper than ${MAX_NESTING}`);
    const kept = this.keepScalar();
    const name: RespType = type === T_MAP || type === T_ATTRIBUTE ? 'map' : aggregateName(type);
    const value: RespValue | null = kept ? { type: name, count: streamed ? 0 : count, items: [] } : null;
    const pairs = type === T_MAP || type === T_ATTRIBUTE;
    const frame: Frame = { type, remaining: streamed ? Infinity : pairs ? count * 2 : count, seen: 0, value };
    if (frame.remaining === 0) return this.deliverFrame(frame);
    this.stack.push(frame);
    return 'more';
  }

  /** A value is complete: it goes into its parent, completing parents in turn. */
  private deliver(v: RespValue | null): 'more' | 'message' {
    for (;;) {
      if (this.attr && this.attr.depth === this.stack.length) {
        if (v && this.attr.value) v.attributes = this.attr.value;
        this.attr = null;
      }
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.done = v!;
        return 'message';
      }
      if (top.value) {
        if (v) {
          top.value.items!.push(v);
          if (v.truncated) top.value.truncated = true;
        }
      }
      top.seen++;
      if (top.remaining === Infinity && top.value) {
        top.value.count = top.type === T_MAP || top.type === T_ATTRIBUTE ? top.seen >> 1 : top.seen;
      }
      if (top.remaining !== Infinity) top.remaining--;
      if (top.remaining > 0) return 'more';
      this.stack.pop();
      if (top.type === T_ATTRIBUTE) {
        // Spec, "Attribute type": it describes the value that follows and is not an element itself.
        this.attr = { depth: this.stack.length, value: top.value };
        return 'more';
      }
      v = top.value;
    }
  }

  private deliverFrame(frame: Frame): 'more' | 'message' {
    if (frame.type === T_ATTRIBUTE) {
      this.attr = { depth: this.stack.length, value: frame.value };
      return 'more';
    }
    return this.deliver(frame.value);
  }
}

function aggregateName(type: number): RespType {
  if (type === T_SET) return 'set';
  if (type === T_PUSH) return 'push';
  return 'array';
}

/** The longest line a type may have; 0 for a byte that starts no RESP value. */
function lineLimit(b: number): number {
  switch (b) {
    case T_SIMPLE:
    case T_ERROR:
    case T_DOUBLE:
    case T_BIGNUM:
      return MAX_TEXT_LINE;
    case T_INTEGER:
    case T_BULK:
    case T_ARRAY:
    case T_NULL:
    case T_BOOLEAN:
    case T_BLOB_ERROR:
    case T_VERBATIM:
    case T_MAP:
    case T_SET:
    case T_PUSH:
    case T_ATTRIBUTE:
      return MAX_NUMBER_LINE;
    default:
      return 0;
  }
}

/** Whether `b` is a byte a RESP value can start with (the ends of streamed values aside). */
export function isTypeByte(b: number): boolean {
  return lineLimit(b) > 0;
}

function lineName(type: number): string {
  return type === T_INLINE ? 'inline command' : `'${String.fromCharCode(type)}'`;
}

function show(b: number): string {
  return b >= 0x21 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `0x${b.toString(16).padStart(2, '0')}`;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function quote(b: Uint8Array): string {
  return JSON.stringify(latin1(b.subarray(0, 24)));
}

/** A length or count: -1 or a non-negative decimal. Null when malformed. */
export function parseLength(b: Uint8Array): number | null {
  if (b.length === 0 || b.length > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    neg = true;
    i = 1;
    if (b.length === 1) return null;
  }
  let v = 0;
  for (; i < b.length; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

function parseInteger(b: Uint8Array): RespValue | null {
  const s = latin1(b);
  if (!/^[-+]?\d{1,20}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? { type: 'integer', int: n } : { type: 'integer', text: s };
}

function isDouble(b: Uint8Array): boolean {
  const s = latin1(b);
  return /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan)$/i.test(s);
}

/**
 * An inline command's words, split as Redis's sdssplitargs does: by spaces and tabs, with "double
 * quoted" (backslash escapes, \xHH) and 'single quoted' words. Unbalanced quotes leave the rest as
 * one word (Redis replies with an error; the words are still shown).
 */
export function splitInline(line: Uint8Array): string[] {
  const s = utf8Text(line);
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
    if (i >= s.length) break;
    let word = '';
    const q = s[i];
    if (q === '"' || q === "'") {
      i++;
      while (i < s.length && s[i] !== q) {
        if (s[i] === '\\' && i + 1 < s.length) {
          const c = s[i + 1]!;
          if (q === "'") {
            word += c === "'" ? "'" : `\\${c}`;
            i += 2;
            continue;
          }
          if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
            word += String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          word += ESCAPES[c] ?? c;
          i += 2;
          continue;
        }
        word += s[i];
        i++;
      }
      i++; // the closing quote
    } else {
      const start = i;
      while (i < s.length && s[i] !== ' ' && s[i] !== '\t' && s[i] !== '\r' && s[i] !== '\n') i++;
      word = s.slice(start, i);
    }
    out.push(word);
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };

/** `dst.set(src.subarray(at, at + n), off)` without the view object the subarray costs: most lines are short. */
function copyInto(dst: Uint8Array, off: number, src: Uint8Array, at: number, n: number): void {
  if (n > 32) {
    dst.set(src.subarray(at, at + n), off);
    return;
  }
  for (let i = 0; i < n; i++) dst[off + i] = src[at + i]!;
}

/** A copy of `b` with room for at least `need` bytes (doubling, at most `max`; need <= max). */
function grow(b: Uint8Array, need: number, max: number): Uint8Array {
  let size = b.length * 2;
  while (size < need) size *= 2;
  const out = new Uint8Array(Math.min(Math.max(size, need), max));
  out.set(b);
  return out;
}
