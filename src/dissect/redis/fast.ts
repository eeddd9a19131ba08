/**
 * The common messages read in place: a client's command as an array of bulk strings (spec,
 * "Sending commands to a Redis server") and a server's scalar reply (simple string, error,
 * integer, bulk string, null), when the whole message lies in the chunk at hand. Nearly all of a
 * busy connection's traffic has these shapes; reading them straight from the chunk, without the
 * incremental reader's line buffer and value tree, is what keeps dissection near the speed of
 * reading the capture.
 *
 * Anything else — another shape, a message cut by the chunk's end, a value past the caps, bytes
 * that are not well-formed — answers FALLBACK, and the session hands the bytes from that message on
 * to the incremental reader (resp.ts), which stays the reference: a message read here yields
 * exactly what the reader would have made of it (same strings, same caps and truncation flags, same
 * size), and a malformed one is left to the reader so that its errors, and when they are reported,
 * do not change either.
 */
import { internAscii, MAX_INTERNED } from '../intern.js';
import { isAsciiAt, utf8At } from '../text.js';
import type { RespValue } from './resp.js';

/** Not read here: the incremental reader takes the bytes from this message on. */
export const FALLBACK = -1;

/** The reader's caps (session.ts CLIENT_OPTIONS / SERVER_OPTIONS) the fast path must honour. */
export const KEEP_ITEMS = 32;
export const KEEP_BYTES = 256;

const CR = 0x0d;
const LF = 0x0a;

/** The arguments of the command last scanned: offsets into the chunk. */
export class CommandScan {
  /** Arguments (the array's count); at most KEEP_ITEMS. */
  count = 0;
  readonly starts = new Int32Array(KEEP_ITEMS);
  /** End of the kept bytes (at most KEEP_BYTES of each argument). */
  readonly ends = new Int32Array(KEEP_ITEMS);
  /** Full length of each argument. */
  readonly lengths = new Int32Array(KEEP_ITEMS);
  /** Some argument was longer than KEEP_BYTES (kept cut, as the reader does). */
  truncated = false;
}

/**
 * Reads the decimal digits of a length at `p` up to its CRLF: the value, or -1 when there are no
 * digits, more than `maxDigits`, or the line does not end right there in CRLF within `n`.
 * `scanEnd` receives the offset after the LF.
 */
function lengthLine(b: Uint8Array, p: number, n: number, maxDigits: number, scan: { end: number }): number {
  let v = 0;
  let digits = 0;
  for (;;) {
    if (p >= n) return -1;
    const c = b[p]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    if (++digits > maxDigits) return -1;
    p++;
  }
  if (digits === 0 || b[p] !== CR || p + 1 >= n || b[p + 1] !== LF) return -1;
  scan.end = p + 2;
  return v;
}

const lineEnd = { end: 0 };

/**
 * A command `*N CRLF ($L CRLF bytes CRLF){N}` at `at`, 1 <= N <= KEEP_ITEMS, wholly within
 * `b[at, n)`. Returns the offset after it and fills `out`, or FALLBACK.
 */
export function scanCommand(b: Uint8Array, at: number, n: number, out: CommandScan): number {
  if (b[at] !== 0x2a) return FALLBACK; // '*': anything else is an inline command or garbage
  const count = lengthLine(b, at + 1, n, 2, lineEnd);
  if (count < 1 || count > KEEP_ITEMS) return FALLBACK;
  let p = lineEnd.end;
  let truncated = false;
  for (let i = 0; i < count; i++) {
    if (p >= n || b[p] !== 0x24) return FALLBACK; // '$'
    // 9 digits: up to ~1 GB, and a longer bulk cannot lie within one chunk anyway.
    const len = lengthLine(b, p + 1, n, 9, lineEnd);
    if (len < 0) return FALLBACK;
    const start = lineEnd.end;
    const end = start + len;
    if (end + 2 > n || b[end] !== CR || b[end + 1] !== LF) return FALLBACK;
    out.starts[i] = start;
    out.lengths[i] = len;
    if (len > KEEP_BYTES) {
      out.ends[i] = start + KEEP_BYTES;
      truncated = true;
    } else {
      out.ends[i] = end;
    }
    p = end + 2;
  }
  out.count = count;
  out.truncated = truncated;
  return p;
}

/**
 * Argument `i` of the last scan as the reader keeps it: UTF-8 (lossy) of its first KEEP_BYTES bytes.
 * A KEEP_BYTES cut may split a UTF-8 sequence; the reader decodes the cut bytes the same way.
 */
export function argAt(b: Uint8Array, scan: CommandScan, i: number): string {
  const s = scan.starts[i]!;
  const e = scan.ends[i]!;
  return utf8At(b, s, e);
}

/**
 * Argument 0, the command name: interned (intern.ts), so the few commands a connection sends cost
 * no string each and the name tables (commands.ts) hash them once.
 */
export function commandName(b: Uint8Array, scan: CommandScan): string {
  const s = scan.starts[0]!;
  const e = scan.ends[0]!;
  if (e - s <= MAX_INTERNED && isAsciiAt(b, s, e)) return internAscii(b, s, e);
  return utf8At(b, s, e);
}

/**
 * Scalar replies without detail (SessionContext.detail): only their type is read then (the status,
 * MONITOR's `+OK`), so one shared value per type stands for every reply of it. Frozen: nothing may
 * write to them.
 */
const BARE: Readonly<Record<'simple' | 'error' | 'integer' | 'null' | 'bulk' | 'cut', RespValue>> = {
  simple: Object.freeze({ type: 'simple' }),
  error: Object.freeze({ type: 'error' }),
  integer: Object.freeze({ type: 'integer' }),
  null: Object.freeze({ type: 'null' }),
  bulk: Object.freeze({ type: 'bulk' }),
  cut: Object.freeze({ type: 'bulk', truncated: true }),
};

/**
 * A scalar reply at `at` wholly within `b[at, n)`: `+text`, `-text` (at most KEEP_BYTES of text),
 * `:integer` (a sign and up to 15 digits: exactly representable), `$len` + bytes (cut at
 * KEEP_BYTES as the reader does), `$-1` and RESP3's `_`. Returns the offset after it and the value
 * in `reply.value`, or FALLBACK. Without `detail`, the value is a shared one of its type (BARE).
 */
export function scanReply(
  b: Uint8Array,
  at: number,
  n: number,
  reply: { value: RespValue | null },
  detail: boolean,
): number {
  const t = b[at];
  if (t === 0x2b || t === 0x2d) {
    // '+' / '-': the text runs to CRLF (spec: simple strings and errors hold no CR or LF).
    const start = at + 1;
    const limit = Math.min(n, start + KEEP_BYTES + 1);
    let p = start;
    while (p < limit && b[p] !== LF) p++;
    if (p >= limit || p === start || b[p - 1] !== CR) return FALLBACK;
    if (!detail) {
      reply.value = t === 0x2b ? BARE.simple : BARE.error;
      return p + 1;
    }
    const len = p - 1 - start;
    // Status replies repeat (+OK, +QUEUED, +PONG): interned when short and ASCII.
    const text =
      len <= MAX_INTERNED && isAsciiAt(b, start, p - 1)
        ? internAscii(b, start, p - 1)
        : utf8At(b, start, p - 1);
    reply.value = { type: t === 0x2b ? 'simple' : 'error', text };
    return p + 1;
  }
  if (t === 0x3a) {
    // ':': [-]digits CRLF; longer numbers (beyond 2^53) keep their text, left to the reader.
    let p = at + 1;
    const neg = b[p] === 0x2d;
    if (neg) p++;
    const v = lengthLine(b, p, n, 15, lineEnd);
    if (v < 0) return FALLBACK;
    reply.value = detail ? { type: 'integer', int: neg ? -v : v } : BARE.integer;
    return lineEnd.end;
  }
  if (t === 0x24) {
    // '$': a bulk string, or '$-1' (RESP2's null bulk string).
    if (b[at + 1] === 0x2d) {
      if (b[at + 2] !== 0x31 || at + 4 >= n || b[at + 3] !== CR || b[at + 4] !== LF) return FALLBACK;
      reply.value = detail ? { type: 'null' } : BARE.null;
      return at + 5;
    }
    const len = lengthLine(b, at + 1, n, 9, lineEnd);
    if (len < 0) return FALLBACK;
    const start = lineEnd.end;
    const end = start + len;
    if (end + 2 > n || b[end] !== CR || b[end + 1] !== LF) return FALLBACK;
    if (!detail) {
      reply.value = len > KEEP_BYTES ? BARE.cut : BARE.bulk;
      return end + 2;
    }
    const v: RespValue = { type: 'bulk', length: len };
    if (len > KEEP_BYTES) {
      v.text = utf8At(b, start, start + KEEP_BYTES);
      v.truncated = true;
    } else {
      v.text = utf8At(b, start, end);
    }
    reply.value = v;
    return end + 2;
  }
  if (t === 0x5f) {
    // '_': RESP3's null.
    if (at + 2 >= n || b[at + 1] !== CR || b[at + 2] !== LF) return FALLBACK;
    reply.value = detail ? { type: 'null' } : BARE.null;
    return at + 3;
  }
  return FALLBACK;
}
