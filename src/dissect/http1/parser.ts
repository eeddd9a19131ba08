/**
 * The HTTP/1.x wire format (RFC 9112): a pure head parser that answers need-more / message /
 * malformed, a finder of message starts for resynchronisation, and `MessageReader`, the incremental
 * per-direction machine that frames bodies (Content-Length, chunked, close-delimited; RFC 9112 §6)
 * and streams them to its owner without buffering them.
 */
import type { Direction } from '../../flows/stream.js';
import { type HeaderList, KNOWN_METHODS, type MessageHead } from './messages.js';
import { parsePlainHead } from './plain-head.js';

/** A head longer than this is not HTTP we keep reading (servers cap it lower: nginx 8 KiB per line). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line with extensions, or a trailer field, longer than this is malformed for us. */
export const MAX_LINE_BYTES = 8 * 1024;
/** Header fields in one head (RFC 9112 sets no limit; servers use ~100). */
export const MAX_HEADERS = 256;
/** Bytes held for a decision (an Upgrade or CONNECT waiting for its response). */
export const MAX_HELD_BYTES = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

export type HeadResult =
  | { kind: 'need-more'; scanFrom: number }
  | { kind: 'message'; head: MessageHead; consumed: number }
  | { kind: 'malformed'; detail: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?:[ \t](.*))?$/;

const utf8 = new TextDecoder('utf-8');

/**
 * Parses a message head at the start of `buf` (leading empty lines already skipped). `scanFrom`
 * resumes the search for the empty line where a previous call stopped. Lines may end in LF alone
 * (RFC 9112 §2.2 lets a recipient accept that).
 */
export function parseHead(buf: Uint8Array, dir: Direction, scanFrom = 0): HeadResult {
  // Most heads are plain ASCII and whole in one segment (plain-head.ts reads them line by line);
  // a head still arriving was tried once already (scanFrom > 0) and is read below.
  if (scanFrom === 0) {
    const plain = parsePlainHead(buf, buf.length, dir, MAX_HEADERS, MAX_HEAD_BYTES);
    if (plain) return { kind: 'message', head: plain, consumed: plain.size };
  }
  return parseHeadText(buf, dir, scanFrom);
}

/** parseHead without the plain-head reader: any head, as text (and plain-head's reference in tests). */
export function parseHeadText(buf: Uint8Array, dir: Direction, scanFrom = 0): HeadResult {
  let end = -1;
  let i = Math.max(0, scanFrom);
  for (;;) {
    i = buf.indexOf(LF, i);
    if (i < 0) break;
    if (buf[i + 1] === LF) {
      end = i + 2;
      break;
    }
    if (buf[i + 1] === CR && buf[i + 2] === LF) {
      end = i + 3;
      break;
    }
    if (i + 2 >= buf.length) break; // the empty line may still be arriving
    i++;
  }
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES)
      return { kind: 'malformed', detail: `head longer than ${MAX_HEAD_BYTES} bytes` };
    // Resume at the last LF seen (or near the end): nothing before it can end the head.
    const lastLf = buf.lastIndexOf(LF);
    return { kind: 'need-more', scanFrom: Math.max(lastLf, 0) };
  }
  if (end > MAX_HEAD_BYTES) return { kind: 'malformed', detail: `head longer than ${MAX_HEAD_BYTES} bytes` };
  const text = utf8.decode(buf.subarray(0, end));
  const lines = text.split(/\r?\n/);
  // The split leaves the two empty strings of the final CRLF CRLF; drop them.
  lines.length = Math.max(0, lines.length - 2);
  const start = lines[0] ?? '';
  const headers: HeaderList = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // obs-fold (RFC 9112 §5.2): a recipient may replace it with SP and carry on.
      const last = headers[headers.length - 1];
      if (!last) return { kind: 'malformed', detail: 'RFC 9112 §5.2: continuation line before any field' };
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    // RFC 9112 §5.1: field-name ":" OWS field-value OWS; the name is a token (RFC 9110 §5.1).
    const name = colon > 0 ? line.slice(0, colon).trimEnd() : '';
    if (!TOKEN.test(name))
      return { kind: 'malformed', detail: `RFC 9112 §5.1: bad field line ${clip(line)}` };
    if (headers.length >= MAX_HEADERS)
      return { kind: 'malformed', detail: `more than ${MAX_HEADERS} header fields` };
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  if (dir === 0) {
    const m = REQUEST_LINE.exec(start);
    if (!m) return { kind: 'malformed', detail: `RFC 9112 §3: bad request-line ${clip(start)}` };
    return {
      kind: 'message',
      consumed: end,
      head: { kind: 'request', method: m[1]!, target: m[2]!, version: `1.${m[3]}`, headers, size: end },
    };
  }
  const m = STATUS_LINE.exec(start);
  if (!m) return { kind: 'malformed', detail: `RFC 9112 §4: bad status-line ${clip(start)}` };
  return {
    kind: 'message',
    consumed: end,
    head: {
      kind: 'response',
      version: `1.${m[1]}`,
      status: Number(m[2]),
      reason: m[3] ?? '',
      headers,
      size: end,
    },
  };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}

function isUpperToken(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x5f);
}

/** Whether the " HTTP/1." at `at` goes on with a minor version 0 or 1 and the line's end. */
function requestLineEnd(buf: Uint8Array, at: number): boolean {
  const v = buf[at + 8];
  if (v !== 0x30 && v !== 0x31) return false;
  const c = buf[at + 9];
  return c === LF || (c === CR && buf[at + 10] === LF);
}

const HTTP1 = Uint8Array.from(' HTTP/1.', (c) => c.charCodeAt(0));
const STATUS = Uint8Array.from('HTTP/1.', (c) => c.charCodeAt(0));

/**
 * Where the next message start lies in `buf` at or after `from`, or -1. For requests: a method, a
 * target without spaces and " HTTP/1.x" ending the line; the method is a known one ending right
 * before the target (a body's last bytes may precede it), or an upper-case token at a line start.
 * For responses: "HTTP/1.x NNN".
 */
export function findMessageStart(buf: Uint8Array, dir: Direction, from: number): number {
  if (dir === 1) {
    for (let i = buf.indexOf(STATUS[0]!, from); i >= 0; i = buf.indexOf(STATUS[0]!, i + 1)) {
      if (!matchAt(buf, i, STATUS)) continue;
      const v = buf[i + 7];
      if ((v === 0x30 || v === 0x31) && buf[i + 8] === SP && isDigits(buf, i + 9, 3)) return i;
    }
    return -1;
  }
  for (let i = buf.indexOf(SP, from); i >= 0; i = buf.indexOf(SP, i + 1)) {
    if (!matchAt(buf, i, HTTP1) || !requestLineEnd(buf, i)) continue;
    // Back over the request-target to the SP before it.
    let t = i - 1;
    while (t >= from && buf[t] !== SP && buf[t] !== LF && buf[t] !== CR && i - t < MAX_HEAD_BYTES) t--;
    if (t < from || buf[t] !== SP || t === i - 1) continue;
    for (const m of KNOWN_METHODS) {
      const s = t - m.length;
      if (s >= from && matchAt(buf, s, METHOD_BYTES.get(m)!)) return s;
    }
    let s = t;
    while (s > from && isUpperToken(buf[s - 1])) s--;
    if (s < t && (s === from || buf[s - 1] === LF)) return s;
  }
  return -1;
}

const METHOD_BYTES = new Map(KNOWN_METHODS.map((m) => [m, Uint8Array.from(m, (c) => c.charCodeAt(0))]));

function matchAt(buf: Uint8Array, at: number, pat: Uint8Array): boolean {
  if (at + pat.length > buf.length) return false;
  for (let k = 0; k < pat.length; k++) if (buf[at + k] !== pat[k]) return false;
  return true;
}

function isDigits(buf: Uint8Array, at: number, n: number): boolean {
  for (let k = 0; k < n; k++) {
    const b = buf[at + k];
    if (b === undefined || b < 0x30 || b > 0x39) return false;
  }
  return true;
}

/** How the body after a head is delimited (RFC 9112 §6.3), as the reader's owner decides it. */
export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  | { kind: 'close' }
  /** Not HTTP past this head (101 Switching Protocols, a CONNECT tunnel): hand the rest over. */
  | { kind: 'switch' };

export interface ReaderEvents {
  /** A head was read; `ts` is its first byte's time. Answers how the body is framed. */
  onHead(head: MessageHead, ts: number): BodyFraming;
  /** Content bytes (chunk framing removed); valid only during the call. */
  onBody(chunk: Uint8Array): void;
  /** `bytes` of the current body were lost in a gap; the framing survived. */
  onBodyGap(bytes: number): void;
  /** The message ended; `wireSize` counts head, body and framing; `error` says why it is incomplete. */
  onMessageEnd(wireSize: number, error: string | null): void;
  /** A head was partly read when a gap or the end of the stream cut it. */
  onLostHead(ts: number, bytes: number, why: string): void;
  onMalformed(detail: string): void;
  /** After a 'switch' head: the bytes left in this chunk (valid only during the call). */
  onSwitch(rest: Uint8Array, ts: number): void;
}

type State =
  | 'idle'
  | 'length'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-end'
  | 'trailers'
  | 'close'
  | 'resync'
  | 'paused'
  | 'done';

/**
 * One direction's incremental reader. It copies only what must wait for more bytes: an unfinished
 * head or chunk line (bounded by MAX_HEAD_BYTES / MAX_LINE_BYTES), the tail of a resync window, and
 * bytes held while paused (MAX_HELD_BYTES). Bodies stream through `onBody`.
 */
export class MessageReader {
  /**
   * A direction starts by looking for a start-line, as after a gap: a capture may begin mid-message,
   * and bytes before the first start-line are not a parse error, just unseen context.
   */
  private state: State = 'resync';
  /** Copied unconsumed bytes waiting for the rest of a head, chunk line or start line. */
  private pending: Uint8Array | null = null;
  private scanFrom = 0;
  private remaining = 0;
  /** Wire bytes of the message being read. */
  private wire = 0;
  private trailerBytes = 0;
  private headStarted = false;
  private msgTs = 0;
  private held: { data: Uint8Array; ts: number }[] = [];
  private heldBytes = 0;
  private heldLost = 0;
  /** Resynchronising after malformed bytes: the rest of the broken line is skipped first. */
  private skipLine = false;

  constructor(
    readonly dir: Direction,
    private readonly ev: ReaderEvents,
  ) {}

  get stopped(): boolean {
    return this.state === 'done';
  }

  /** Bytes this reader holds copied (pending tail and held bytes): bounded by the caps above. */
  get buffered(): number {
    return (this.pending?.length ?? 0) + this.heldBytes;
  }

  feed(data: Uint8Array, ts: number): void {
    if (this.state === 'done' || data.length === 0) return;
    if (this.state === 'paused') {
      this.hold(data, ts);
      return;
    }
    let buf = data;
    if (this.pending) {
      buf = new Uint8Array(this.pending.length + data.length);
      buf.set(this.pending, 0);
      buf.set(data, this.pending.length);
      this.pending = null;
    }
    let off = 0;
    while (off < buf.length) {
      // Re-read each turn: `step` and the owner's callbacks change the state.
      const state: State = this.state as State;
      if (state === 'done') return;
      if (state === 'paused') {
        this.hold(buf.subarray(off), ts);
        return;
      }
      const next = this.step(buf, off, ts);
      if (next < 0) {
        // Outlives the call: copied, and bounded by the caps each state checks.
        this.pending = buf.slice(off);
        return;
      }
      off = next;
    }
  }

  /** Holds what arrives until `resume` (parse it as HTTP) or `release` (hand it over). */
  pause(): void {
    if (this.state === 'idle' && !this.pending && !this.headStarted) this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    const held = this.held;
    const lost = this.heldLost;
    this.held = [];
    this.heldBytes = 0;
    this.heldLost = 0;
    this.state = lost ? 'resync' : 'idle';
    for (const h of held) this.feed(h.data, h.ts);
    if (held.length === 0 && lost) this.state = 'resync';
  }

  /** Stops reading HTTP; returns the held bytes (copies) for whoever takes the stream over. */
  release(): { data: Uint8Array; ts: number }[] {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.state = 'done';
    this.pending = null;
    return held;
  }

  stop(): void {
    this.state = 'done';
    this.pending = null;
    this.held = [];
  }

  onGap(bytes: number, ts: number): void {
    switch (this.state) {
      case 'done':
        return;
      case 'paused':
        this.held = [];
        this.heldBytes = 0;
        this.heldLost += bytes;
        return;
      case 'length':
      case 'chunk-data':
        // The framing survives a hole inside a body of known length (a chunk must still end in CRLF).
        if (bytes < this.remaining || (this.state === 'length' && bytes === this.remaining)) {
          this.remaining -= bytes;
          this.wire += bytes;
          this.ev.onBodyGap(bytes);
          if (this.remaining === 0) this.endMessage(null);
          return;
        }
        this.wire += bytes;
        this.endMessage(`${bytes} bytes lost in a gap; the body's end was not seen`);
        break;
      case 'close':
        this.wire += bytes;
        this.ev.onBodyGap(bytes);
        return;
      case 'chunk-size':
      case 'chunk-end':
      case 'trailers':
        this.wire += bytes;
        this.endMessage(`${bytes} bytes lost in a gap inside the chunked framing`);
        break;
      case 'idle':
        if (this.headStarted || this.pending)
          this.ev.onLostHead(
            this.msgTs || ts,
            (this.pending?.length ?? 0) + bytes,
            `${bytes} bytes lost in a gap`,
          );
        break;
      case 'resync':
        break;
    }
    this.pending = null;
    this.headStarted = false;
    this.scanFrom = 0;
    this.skipLine = false;
    this.state = 'resync';
  }

  /** The sender closed its side: a close-delimited body ends here (RFC 9112 §6.3 rule 8). */
  onEnd(): void {
    switch (this.state) {
      case 'close':
        this.endMessage(null);
        break;
      case 'length':
      case 'chunk-size':
      case 'chunk-data':
      case 'chunk-end':
        this.endMessage('the stream ended inside the body');
        break;
      case 'trailers':
        this.endMessage(null);
        break;
      case 'idle':
        if (this.headStarted && this.pending)
          this.ev.onLostHead(this.msgTs, this.pending.length, 'the stream ended inside the head');
        break;
      default:
        break;
    }
    this.pending = null;
    this.headStarted = false;
    if (this.state !== 'paused') this.state = 'done';
  }

  private hold(data: Uint8Array, ts: number): void {
    const room = MAX_HELD_BYTES - this.heldBytes;
    if (room <= 0) {
      this.heldLost += data.length;
      return;
    }
    // Held bytes outlive the call: copied, at most MAX_HELD_BYTES.
    this.held.push({ data: data.slice(0, room), ts });
    this.heldBytes += Math.min(room, data.length);
    if (data.length > room) this.heldLost += data.length - room;
  }

  private endMessage(error: string | null): void {
    const wire = this.wire;
    this.wire = 0;
    this.remaining = 0;
    this.trailerBytes = 0;
    this.state = 'idle';
    this.ev.onMessageEnd(wire, error);
  }

  private malformed(detail: string, resumeAt: number): number {
    this.ev.onMalformed(detail);
    // A message cut by malformed framing still leaves as an entry, marked.
    if (this.state !== 'idle' && this.state !== 'resync')
      this.ev.onMessageEnd(this.wire, `malformed: ${detail}`);
    this.wire = 0;
    this.remaining = 0;
    this.headStarted = false;
    this.scanFrom = 0;
    this.state = 'resync';
    this.skipLine = true;
    return resumeAt;
  }

  /** One step from `off`; returns the next offset, or -1 for "keep buf[off..] and wait". */
  private step(buf: Uint8Array, off: number, ts: number): number {
    switch (this.state) {
      case 'idle': {
        if (!this.headStarted) {
          // RFC 9112 §2.2: ignore empty lines before a start-line.
          while (off < buf.length && (buf[off] === CR || buf[off] === LF)) off++;
          if (off >= buf.length) return off;
          this.headStarted = true;
          this.msgTs = ts;
        }
        const r = parseHead(off === 0 ? buf : buf.subarray(off), this.dir, this.scanFrom);
        if (r.kind === 'need-more') {
          this.scanFrom = r.scanFrom;
          return -1;
        }
        this.scanFrom = 0;
        this.headStarted = false;
        if (r.kind === 'malformed') return this.malformed(r.detail, off + 1);
        this.wire = r.head.size;
        const framing = this.ev.onHead(r.head, this.msgTs);
        const after = off + r.consumed;
        switch (framing.kind) {
          case 'none':
            this.endMessage(null);
            return after;
          case 'length':
            if (framing.length === 0) {
              this.endMessage(null);
              return after;
            }
            this.remaining = framing.length;
            this.state = 'length';
            return after;
          case 'chunked':
            this.state = 'chunk-size';
            return after;
          case 'close':
            this.state = 'close';
            return after;
          case 'switch':
            this.state = 'done';
            this.ev.onSwitch(buf.subarray(after), ts);
            return buf.length;
        }
        return after;
      }
      case 'length':
      case 'chunk-data': {
        const take = Math.min(this.remaining, buf.length - off);
        this.ev.onBody(buf.subarray(off, off + take));
        this.wire += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.state === 'length') this.endMessage(null);
          else this.state = 'chunk-end';
        }
        return off + take;
      }
      case 'close':
        this.ev.onBody(buf.subarray(off));
        this.wire += buf.length - off;
        return buf.length;
      case 'chunk-size': {
        const lf = buf.indexOf(LF, off);
        if (lf < 0) {
          if (buf.length - off > MAX_LINE_BYTES)
            return this.malformed('RFC 9112 §7.1: chunk-size line too long', off);
          return -1;
        }
        // chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); at most 12 hex digits (256 TiB).
        let p = off;
        let size = 0;
        let digits = 0;
        for (; p < lf; p++) {
          const d = hexValue(buf[p]!);
          if (d < 0) break;
          size = size * 16 + d;
          digits++;
        }
        const c = buf[p];
        if (digits === 0 || digits > 12 || (c !== CR && c !== LF && c !== 0x3b && c !== SP && c !== 0x09))
          return this.malformed('RFC 9112 §7.1: bad chunk-size', off);
        this.wire += lf + 1 - off;
        if (size === 0) {
          this.state = 'trailers';
        } else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
        return lf + 1;
      }
      case 'chunk-end': {
        if (buf[off] === LF) {
          this.wire += 1;
          this.state = 'chunk-size';
          return off + 1;
        }
        if (buf[off] === CR) {
          if (off + 1 >= buf.length) return -1;
          if (buf[off + 1] === LF) {
            this.wire += 2;
            this.state = 'chunk-size';
            return off + 2;
          }
        }
        return this.malformed('RFC 9112 §7.1: chunk-data not followed by CRLF', off);
      }
      case 'trailers': {
        // trailer-section CRLF (RFC 9112 §7.1.2): field lines until an empty line.
        const lf = buf.indexOf(LF, off);
        if (lf < 0) {
          if (buf.length - off > MAX_LINE_BYTES)
            return this.malformed('RFC 9112 §7.1.2: trailer line too long', off);
          return -1;
        }
        const len = lf + 1 - off;
        this.wire += len;
        this.trailerBytes += len;
        if (len === 1 || (len === 2 && buf[off] === CR)) {
          this.endMessage(null);
        } else if (this.trailerBytes > MAX_HEAD_BYTES) {
          return this.malformed('RFC 9112 §7.1.2: trailer section too long', lf + 1);
        }
        return lf + 1;
      }
      case 'resync': {
        if (this.skipLine) {
          // A start-line begins a line: nothing before the broken line's end can be one.
          const lf = buf.indexOf(LF, off);
          if (lf < 0) return buf.length;
          this.skipLine = false;
          return lf + 1;
        }
        const at = findMessageStart(buf, this.dir, off);
        if (at >= 0) {
          this.state = 'idle';
          return at;
        }
        // Keep what may begin a start-line split across segments (from the last line start, at
        // most a head's worth); drop the rest.
        const keepFrom = Math.max(off, buf.length - MAX_HEAD_BYTES, buf.lastIndexOf(LF) + 1);
        if (keepFrom > off) return keepFrom;
        return -1;
      }
      case 'paused':
      case 'done':
        return buf.length;
    }
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}
