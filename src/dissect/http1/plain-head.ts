/**
 * The common head read line by line, straight from the bytes: printable ASCII and tabs, lines ended
 * by CRLF or LF, a well-formed start-line, `name: value` fields without obs-fold. parseHead
 * (parser.ts) decodes a head to text, splits it and matches it with regular expressions; for such
 * heads this gives the very same MessageHead at a fraction of the cost. Anything else — another
 * byte, a bare CR, obs-fold, a start-line or field line parseHead would reject, a head not whole yet
 * — returns null, and parseHead reads the head the slow way, errors included.
 *
 * Why the results agree: with only these bytes, parseHead's `split(/\r?\n/)` yields exactly the
 * lines read here, its first empty line is the first one found here, `trim()` removes exactly
 * spaces and tabs, `[^\s]` excludes exactly space and tab, and TextDecoder reads ASCII as Latin-1.
 *
 * Lines repeat from message to message (`Host: api:8080`, `content-type: application/json`, the
 * request line of a health check...). Each line read is remembered by its bytes in a small
 * direct-mapped table, with what it parsed to; a line met again costs one comparison of its bytes
 * and yields the same (immutable) strings and field pair, without allocating.
 */
import type { Direction } from '../../flows/stream.js';
import { latin1At } from '../text.js';
import type { HeaderList, MessageHead } from './messages.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;

/** RFC 9110 §5.6.2 tchar: the bytes of a token (a method, a field name). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Printable ASCII and HT: the bytes this reader takes inside a line. */
const PLAIN = new Uint8Array(256);
for (let c = SP; c < 0x7f; c++) PLAIN[c] = 1;
PLAIN[HT] = 1;

/** A field line as parseHead makes it: [name, value]. Shared between heads, never changed. */
type Field = [name: string, value: string];

interface RequestLine {
  method: string;
  target: string;
  version: string;
}

interface StatusLine {
  version: string;
  status: number;
  reason: string;
}

/**
 * Remembered lines: per slot the bytes (at most MAX_LINE of them) and what they parsed to. Slots
 * are chosen by the length and a few bytes of the line (the start, the end, where values that vary
 * — dates, lengths, ids — usually sit); a different line in the slot is told apart by the byte
 * comparison and replaces it. Memory is fixed: SLOTS × MAX_LINE bytes per table.
 */
class LineTable<T> {
  private readonly bytes: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly values: (T | null)[];

  constructor(
    private readonly slots: number,
    readonly maxLine: number,
  ) {
    this.bytes = new Uint8Array(slots * maxLine);
    this.lengths = new Int32Array(slots).fill(-1);
    this.values = new Array<T | null>(slots).fill(null);
  }

  slot(b: Uint8Array, s: number, e: number): number {
    const len = e - s;
    let h = Math.imul(len, 0x9e3779b1);
    h = Math.imul(h ^ (b[s]! | (b[s + 1]! << 8)), 0x01000193);
    h = Math.imul(h ^ (b[e - 1]! | (b[e - 2]! << 8) | (b[e - 3]! << 16)), 0x01000193);
    h = Math.imul(h ^ (b[e - 4]! | (b[e - 5]! << 8) | (b[(s + e) >> 1]! << 16)), 0x01000193);
    return (h ^ (h >>> 16)) & (this.slots - 1);
  }

  get(slot: number, b: Uint8Array, s: number, e: number): T | null {
    const len = e - s;
    if (this.lengths[slot] !== len) return null;
    const bytes = this.bytes;
    let at = slot * this.maxLine;
    for (let i = s; i < e; i++, at++) if (bytes[at] !== b[i]) return null;
    return this.values[slot]!;
  }

  set(slot: number, b: Uint8Array, s: number, e: number, value: T): void {
    const bytes = this.bytes;
    let at = slot * this.maxLine;
    for (let i = s; i < e; i++, at++) bytes[at] = b[i]!;
    this.lengths[slot] = e - s;
    this.values[slot] = value;
  }
}

/** Lines longer than this are read every time (long values rarely repeat byte for byte). */
const MAX_LINE = 128;
/** Nor shorter ones: `slot` looks at the line's last five bytes. */
const MIN_LINE = 6;
// The three tables are looked up inline in parsePlainHead, each with its own parse function: one
// LineTable method taking the parse function (tried on 2026-12-03) read heads 9% slower in a
// micro-benchmark of repeated request and response heads, the call no longer inlined.
const fieldLines = new LineTable<Field>(1024, MAX_LINE);
const requestLines = new LineTable<RequestLine>(256, MAX_LINE);
const statusLines = new LineTable<StatusLine>(64, MAX_LINE);

/**
 * The end of the line starting at `s` (at its CR or LF), with `out.next` set to the start of the
 * next line; -1 when the line is not all plain bytes or does not end within `n`.
 */
function lineAt(b: Uint8Array, s: number, n: number, out: { next: number }): number {
  // A loop: head lines are short, and TypedArray#indexOf costs more to call than to scan them.
  let lf = s;
  while (lf < n && b[lf] !== LF) lf++;
  if (lf >= n) return -1;
  const e = lf > s && b[lf - 1] === CR ? lf - 1 : lf;
  out.next = lf + 1;
  return e;
}

const cursor = { next: 0 };

/** Whether `b[s, e)` holds only plain bytes. */
function allPlain(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (PLAIN[b[i]!] !== 1) return false;
  return true;
}

/** `HTTP/1.` at `at`. */
function httpSlash1(b: Uint8Array, at: number): boolean {
  return (
    b[at] === 0x48 &&
    b[at + 1] === 0x54 &&
    b[at + 2] === 0x54 &&
    b[at + 3] === 0x50 &&
    b[at + 4] === 0x2f &&
    b[at + 5] === 0x31 &&
    b[at + 6] === 0x2e
  );
}

/** method SP request-target SP "HTTP/1." ("0" / "1"): parseHead's REQUEST_LINE, or null. */
function requestLine(b: Uint8Array, s: number, e: number): RequestLine | null {
  if (!allPlain(b, s, e)) return null;
  let q = s;
  while (q < e && TCHAR[b[q]!] === 1) q++;
  if (q === s || b[q] !== SP) return null;
  const targetStart = q + 1;
  let t = targetStart;
  while (t < e && b[t] !== SP && b[t] !== HT) t++;
  // SP "HTTP/1." minor, and the line ends: 9 bytes.
  if (t === targetStart || t + 9 !== e || b[t] !== SP || !httpSlash1(b, t + 1)) return null;
  const minor = b[t + 8];
  if (minor !== 0x30 && minor !== 0x31) return null;
  return {
    method: latin1At(b, s, q),
    target: latin1At(b, targetStart, t),
    version: minor === 0x31 ? '1.1' : '1.0',
  };
}

/** "HTTP/1." ("0" / "1") SP 3DIGIT [ (SP / HT) reason ]: parseHead's STATUS_LINE, or null. */
function statusLine(b: Uint8Array, s: number, e: number): StatusLine | null {
  if (!allPlain(b, s, e)) return null;
  if (e - s < 12 || !httpSlash1(b, s) || b[s + 8] !== SP) return null;
  const minor = b[s + 7];
  if (minor !== 0x30 && minor !== 0x31) return null;
  let status = 0;
  for (let k = s + 9; k < s + 12; k++) {
    const d = b[k]! - 0x30;
    if (d < 0 || d > 9) return null;
    status = status * 10 + d;
  }
  let reason = '';
  if (e > s + 12) {
    if (b[s + 12] !== SP && b[s + 12] !== HT) return null;
    reason = latin1At(b, s + 13, e);
  }
  return { version: minor === 0x31 ? '1.1' : '1.0', status, reason };
}

/** `name: value` as parseHead splits and trims it, or null (obs-fold, no name, not a token). */
function fieldLine(b: Uint8Array, s: number, e: number): Field | null {
  if (!allPlain(b, s, e)) return null;
  const c0 = b[s];
  if (c0 === SP || c0 === HT) return null; // obs-fold: parseHead joins it to the previous field
  let colon = s;
  while (colon < e && b[colon] !== 0x3a) colon++;
  if (colon === s || colon === e) return null;
  // name: up to the colon, trailing blanks dropped (parseHead's trimEnd), then all tchar.
  let ne = colon;
  while (ne > s && (b[ne - 1] === SP || b[ne - 1] === HT)) ne--;
  if (ne === s) return null;
  for (let k = s; k < ne; k++) if (TCHAR[b[k]!] !== 1) return null;
  let vs = colon + 1;
  let ve = e;
  while (vs < ve && (b[vs] === SP || b[vs] === HT)) vs++;
  while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
  // Frozen: the pair is shared by every head the line appears in.
  return Object.freeze([latin1At(b, s, ne), latin1At(b, vs, ve)]) as Field;
}

/**
 * The head at the start of `b[0, n)` when it is whole and plain: the MessageHead parseHead would
 * give (its `size` the bytes up to the empty line included), or null to leave it to parseHead.
 */
export function parsePlainHead(
  b: Uint8Array,
  n: number,
  dir: Direction,
  maxHeaders: number,
  maxBytes: number,
): MessageHead | null {
  const e0 = lineAt(b, 0, n, cursor);
  if (e0 <= 0) return null;
  let next = cursor.next;
  let request: RequestLine | null = null;
  let status: StatusLine | null = null;
  if (dir === 0) {
    const long = e0 > MAX_LINE || e0 < MIN_LINE;
    const slot = long ? 0 : requestLines.slot(b, 0, e0);
    request = long ? null : requestLines.get(slot, b, 0, e0);
    if (!request) {
      request = requestLine(b, 0, e0);
      if (!request) return null;
      if (!long) requestLines.set(slot, b, 0, e0, request);
    }
  } else {
    const long = e0 > MAX_LINE || e0 < MIN_LINE;
    const slot = long ? 0 : statusLines.slot(b, 0, e0);
    status = long ? null : statusLines.get(slot, b, 0, e0);
    if (!status) {
      status = statusLine(b, 0, e0);
      if (!status) return null;
      if (!long) statusLines.set(slot, b, 0, e0, status);
    }
  }
  const headers: HeaderList = [];
  for (;;) {
    const s = next;
    const e = lineAt(b, s, n, cursor);
    if (e < 0) return null; // not whole yet
    next = cursor.next;
    if (e === s) break; // the empty line
    if (headers.length >= maxHeaders) return null;
    let field: Field | null = null;
    if (e - s <= MAX_LINE && e - s >= MIN_LINE) {
      const slot = fieldLines.slot(b, s, e);
      field = fieldLines.get(slot, b, s, e);
      if (!field) {
        field = fieldLine(b, s, e);
        if (!field) return null;
        fieldLines.set(slot, b, s, e, field);
      }
    } else {
      field = fieldLine(b, s, e);
      if (!field) return null;
    }
    headers.push(field);
  }
  if (next > maxBytes) return null;
  if (request)
    return {
      kind: 'request',
      method: request.method,
      target: request.target,
      version: request.version,
      headers,
      size: next,
    };
  return {
    kind: 'response',
    version: status!.version,
    status: status!.status,
    reason: status!.reason,
    headers,
    size: next,
  };
}
