/**
 * The NATS client protocol (docs.nats.io, "Client Protocol"), read incrementally per direction: a
 * control line (`VERB args\r\n`, verbs case-insensitive, fields separated by spaces or tabs), then
 * for PUB, HPUB, MSG and HMSG a payload of the size the line gives and a CRLF. The payload is skipped
 * by its length; only the header block (HPUB/HMSG) and the payload's first bytes are copied.
 */

export const CLIENT_VERBS: ReadonlySet<string> = new Set([
  'CONNECT',
  'PUB',
  'HPUB',
  'SUB',
  'UNSUB',
  'PING',
  'PONG',
]);
export const SERVER_VERBS: ReadonlySet<string> = new Set([
  'INFO',
  'MSG',
  'HMSG',
  'PING',
  'PONG',
  '+OK',
  '-ERR',
]);

/** A control line, as read. */
export interface ControlLine {
  /** The verb in upper case; for an unknown verb, its first 16 characters. */
  verb: string;
  /** Whether the verb is one this side of the connection may send. */
  known: boolean;
  /** The fields after the verb (PUB, SUB...). */
  args: string[];
  /** Everything after the verb, trimmed (INFO's and CONNECT's JSON, -ERR's message). */
  rest: string;
}

export interface NatsMessage extends ControlLine {
  /** Capture time of the first byte, µs. */
  ts: number;
  /** Bytes on the wire: the control line, the payload and its CRLF. */
  size: number;
  /** PUB/HPUB/MSG/HMSG: the payload's sizes and first bytes (copies). */
  payload: Payload | null;
}

export interface Payload {
  /** Total bytes after the control line (headers and data), not counting the final CRLF. */
  total: number;
  /** HPUB/HMSG: the header block's size (it ends with an empty line); 0 otherwise. */
  headerSize: number;
  /** The header block's first bytes. */
  headers: Uint8Array;
  /** The data's first bytes. */
  data: Uint8Array;
}

export interface NatsEvents {
  onMessage(m: NatsMessage): void;
  /** Malformed input: the reader skips to a line that starts with a verb it knows. */
  onError(detail: string): void;
}

/** Control lines: nats-server allows 4 KiB from clients (max_control_line); INFO may be longer. */
export const MAX_CONTROL_LINE = 64 * 1024;
/** nats-server's max_payload tops out at 64 MiB. */
export const MAX_PAYLOAD = 64 * 1024 * 1024;
/** Header bytes and data bytes kept per message. */
export const HEADER_KEEP = 4096;
export const DATA_KEEP = 256;

const ST_LINE = 0;
const ST_PAYLOAD = 1;
const ST_CR = 2;
const ST_LF = 3;
/** Lost: dropping bytes up to the next line start, then lines up to one with a known verb. */
const ST_SKIP = 4;

const decoder = new TextDecoder('utf-8');
/** Shared by every message without headers or data (never written to). */
const EMPTY = new Uint8Array(0);

/** Where the payload's size is read from the control line's fields, per verb. */
const PAYLOAD_FIELDS: Record<string, { min: number; max: number; headers: boolean }> = {
  PUB: { min: 2, max: 3, headers: false }, // subject [reply-to] #bytes
  HPUB: { min: 3, max: 4, headers: true }, // subject [reply-to] #header-bytes #total-bytes
  MSG: { min: 3, max: 4, headers: false }, // subject sid [reply-to] #bytes
  HMSG: { min: 4, max: 5, headers: true }, // subject sid [reply-to] #header-bytes #total-bytes
};

/** Field counts of the verbs without payload (`rest` verbs take the whole line). */
const FIELD_COUNTS: Record<string, [number, number]> = {
  SUB: [2, 3], // subject [queue group] sid
  UNSUB: [1, 2], // sid [max_msgs]
  PING: [0, 0],
  PONG: [0, 0],
  '+OK': [0, 0],
};

export class NatsReader {
  private state = ST_LINE;
  private readonly line = new Uint8Array(1024);
  private lineBuf: Uint8Array = this.line;
  private lineLen = 0;
  /** In ST_SKIP: still inside the line that was bad (drop up to its LF). */
  private midLine = false;
  private current: NatsMessage | null = null;
  private remaining = 0;
  private offset = 0;
  private startTs = 0;
  private lineStarted = false;
  private size = 0;
  private headerBuf: Uint8Array | null = null;
  private dataBuf: Uint8Array | null = null;

  constructor(
    private readonly verbs: ReadonlySet<string>,
    private readonly events: NatsEvents,
  ) {
    // A capture may start inside a message: reading begins at the first line with a known verb.
    this.state = ST_SKIP;
  }

  /** A message has begun and is not whole. */
  get partial(): boolean {
    return this.lineStarted || this.current !== null;
  }

  /** Bytes held across calls. */
  get retained(): number {
    return this.lineBuf.length + (this.headerBuf?.length ?? 0) + (this.dataBuf?.length ?? 0);
  }

  /** After a gap or garbage: skip to the next line that starts with a known verb. */
  lose(): void {
    this.state = ST_SKIP;
    this.midLine = true;
    this.reset();
  }

  private reset(): void {
    this.current = null;
    this.lineLen = 0;
    this.lineStarted = false;
    this.headerBuf = null;
    this.dataBuf = null;
    if (this.lineBuf !== this.line) this.lineBuf = this.line;
  }

  feed(data: Uint8Array, ts: number): void {
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      switch (this.state) {
        case ST_SKIP: {
          if (this.midLine) {
            const lf = data.indexOf(0x0a, pos);
            if (lf < 0) return;
            pos = lf + 1;
            this.midLine = false;
            break;
          }
          // At a line start: resume only at a verb this side sends (else drop the line).
          if (!this.startsVerb(data, pos)) {
            this.midLine = true;
            break;
          }
          this.state = ST_LINE;
          break;
        }
        case ST_LINE: {
          if (!this.lineStarted) {
            this.lineStarted = true;
            this.startTs = ts;
            this.size = 0;
          }
          const lf = data.indexOf(0x0a, pos);
          const end = lf < 0 ? n : lf;
          if (!this.append(data, pos, end)) return;
          this.size += end - pos;
          if (lf < 0) return;
          this.size += 1;
          pos = lf + 1;
          this.endLine();
          break;
        }
        case ST_PAYLOAD: {
          const take = Math.min(this.remaining, n - pos);
          this.keep(data.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          this.size += take;
          if (this.remaining === 0) this.state = ST_CR;
          break;
        }
        case ST_CR:
        case ST_LF: {
          const want = this.state === ST_CR ? 0x0d : 0x0a;
          if (data[pos] !== want) {
            this.fail(`${this.current?.verb ?? ''} payload not followed by CRLF`);
            break;
          }
          pos++;
          this.size++;
          if (this.state === ST_CR) {
            this.state = ST_LF;
          } else {
            this.state = ST_LINE;
            this.finish();
          }
          break;
        }
      }
    }
  }

  /** Appends a line's bytes; false when the line is too long (then the reader is lost). */
  private append(data: Uint8Array, from: number, to: number): boolean {
    const len = to - from;
    if (len === 0) return true;
    if (this.lineLen + len > MAX_CONTROL_LINE) {
      this.fail(`control line longer than ${MAX_CONTROL_LINE} bytes`);
      return false;
    }
    if (this.lineLen + len > this.lineBuf.length) {
      // Copied: the line outlives this chunk. Grows by doubling up to the limit.
      let cap = this.lineBuf.length;
      while (cap < this.lineLen + len) cap *= 2;
      const bigger = new Uint8Array(Math.min(cap, MAX_CONTROL_LINE));
      bigger.set(this.lineBuf.subarray(0, this.lineLen));
      this.lineBuf = bigger;
    }
    this.lineBuf.set(data.subarray(from, to), this.lineLen);
    this.lineLen += len;
    return true;
  }

  /** Whether a verb this side sends starts at `pos` (or may, when the chunk ends inside the word). */
  private startsVerb(data: Uint8Array, pos: number): boolean {
    let word = '';
    for (let i = pos; i < pos + 8; i++) {
      if (i === data.length) {
        const w = word.toUpperCase();
        return [...this.verbs].some((v) => v.startsWith(w));
      }
      const c = data[i]!;
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) return this.verbs.has(word.toUpperCase());
      word += String.fromCharCode(c);
    }
    return false;
  }

  /** `atLineStart`: the bad line was read whole, so skipping starts at the next line. */
  private fail(detail: string, atLineStart = false): void {
    this.lose();
    if (atLineStart) this.midLine = false;
    this.events.onError(detail);
  }

  private endLine(): void {
    let len = this.lineLen;
    if (len > 0 && this.lineBuf[len - 1] === 0x0d) len--;
    const text = decoder.decode(this.lineBuf.subarray(0, len));
    this.lineLen = 0;
    if (this.lineBuf.length > this.line.length) this.lineBuf = this.line;
    if (text.trim() === '') {
      // An empty line: nothing to dissect (a human at a telnet prompt).
      this.lineStarted = false;
      return;
    }
    const ctl = parseControlLine(text, this.verbs);
    const msg: NatsMessage = {
      verb: ctl.verb,
      known: ctl.known,
      args: ctl.args,
      rest: ctl.rest,
      ts: this.startTs,
      size: this.size,
      payload: null,
    };
    const spec = ctl.known ? PAYLOAD_FIELDS[ctl.verb] : undefined;
    if (spec) {
      const sizes = payloadSizes(ctl.args, spec);
      if (typeof sizes === 'string') {
        this.fail(`${ctl.verb}: ${sizes}`, true);
        return;
      }
      msg.payload = {
        total: sizes.total,
        headerSize: sizes.headers,
        headers: EMPTY,
        data: EMPTY,
      };
      this.current = msg;
      this.remaining = sizes.total;
      this.offset = 0;
      this.headerBuf = sizes.headers > 0 ? new Uint8Array(Math.min(sizes.headers, HEADER_KEEP)) : null;
      this.dataBuf =
        sizes.total > sizes.headers ? new Uint8Array(Math.min(sizes.total - sizes.headers, DATA_KEEP)) : null;
      this.state = sizes.total === 0 ? ST_CR : ST_PAYLOAD;
      return;
    }
    const counts = ctl.known ? FIELD_COUNTS[ctl.verb] : undefined;
    if (counts && (ctl.args.length < counts[0] || ctl.args.length > counts[1])) {
      this.lineStarted = false;
      this.events.onError(`${ctl.verb} with ${ctl.args.length} fields`);
      return;
    }
    this.current = msg;
    this.finish();
  }

  /** Copies the kept parts of a payload chunk: the header block's start, the data's start. */
  private keep(chunk: Uint8Array): void {
    const headerSize = this.current!.payload!.headerSize;
    const start = this.offset;
    const end = start + chunk.length;
    this.offset = end;
    if (this.headerBuf) {
      const to = Math.min(end, this.headerBuf.length);
      if (start < to) this.headerBuf.set(chunk.subarray(0, to - start), start);
    }
    if (this.dataBuf) {
      const from = Math.max(start, headerSize);
      const to = Math.min(end, headerSize + this.dataBuf.length);
      if (from < to) this.dataBuf.set(chunk.subarray(from - start, to - start), from - headerSize);
    }
  }

  private finish(): void {
    const m = this.current!;
    m.size = this.size;
    if (m.payload) {
      m.payload.headers = this.headerBuf ?? EMPTY;
      m.payload.data = this.dataBuf ?? EMPTY;
    }
    this.current = null;
    this.headerBuf = null;
    this.dataBuf = null;
    this.lineStarted = false;
    this.events.onMessage(m);
  }
}

/** Splits a control line into its verb and fields. */
export function parseControlLine(text: string, verbs: ReadonlySet<string>): ControlLine {
  const trimmed = text.replace(/^[ \t]+/, '');
  const m = /^(\S+)[ \t]*(.*)$/s.exec(trimmed);
  const word = m?.[1] ?? '';
  const rest = (m?.[2] ?? '').trim();
  const verb = word.toUpperCase();
  const known = verbs.has(verb);
  return {
    verb: known ? verb : word.slice(0, 16).toUpperCase(),
    known,
    args: rest === '' ? [] : rest.split(/[ \t]+/),
    rest,
  };
}

function count(s: string | undefined): number | null {
  if (s === undefined || !/^\d{1,9}$/.test(s)) return null;
  return Number(s);
}

/** The payload sizes from a PUB/HPUB/MSG/HMSG line's last fields. */
function payloadSizes(
  args: string[],
  spec: { min: number; max: number; headers: boolean },
): { total: number; headers: number } | string {
  if (args.length < spec.min || args.length > spec.max) return `${args.length} fields`;
  const total = count(args[args.length - 1]);
  if (total === null || total > MAX_PAYLOAD) return `bad size ${JSON.stringify(args[args.length - 1])}`;
  if (!spec.headers) return { total, headers: 0 };
  const headers = count(args[args.length - 2]);
  if (headers === null || headers > total) return `bad header size ${JSON.stringify(args[args.length - 2])}`;
  return { total, headers };
}
