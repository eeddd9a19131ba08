/**
 * From NATS protocol messages to entries (DESIGN.md: method = verb, path = subject, status = +OK /
 * -ERR). Payloads are shown by their sizes and first bytes, headers parsed (NATS/1.0 status line and
 * `Key: Value` lines, docs.nats.io "Client Protocol": HPUB), INFO and CONNECT options as JSON with
 * CONNECT's credentials redacted.
 */
import type { Entry, EntryEndpoint } from '../entry.js';
import type { NatsMessage } from './parser.js';

export type NatsEntry = Omit<Entry, 'type' | 'id' | 'connectionId' | 'src' | 'dst'> &
  Partial<Pick<Entry, 'src' | 'dst'>>;

export const REDACTED = '[redacted]';
/** CONNECT fields that carry credentials (docs.nats.io "Client Protocol": CONNECT). */
const SECRETS = new Set(['pass', 'auth_token', 'nkey', 'sig', 'jwt']);

const MAX_HEADERS = 64;
/** Subjects are short in practice; a control line allows 64 KiB. */
export const MAX_SUBJECT = 1024;
/** Subscription ids are numbers in every client library; a few characters. */
export const MAX_SID = 64;
const KEEP_TEXT = 256;
const MAX_JSON_KEYS = 64;
const MAX_JSON_ITEMS = 16;

const strict = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

/** A message seen on the wire, with the direction it went. */
export interface Seen {
  msg: NatsMessage;
  src: EntryEndpoint;
  dst: EntryEndpoint;
}

export function cut(s: string, max = KEEP_TEXT): string {
  return s.length > max ? s.slice(0, max) : s;
}

/** JSON made safe to keep: strings cut, arrays and objects capped, nesting flattened past depth 3. */
function capJson(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return cut(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= 3) return Array.isArray(v) ? `[${v.length} items]` : '{...}';
  if (Array.isArray(v)) return v.slice(0, MAX_JSON_ITEMS).map((x) => capJson(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v).slice(0, MAX_JSON_KEYS)) out[cut(k, 64)] = capJson(x, depth + 1);
  return out;
}

/** INFO's or CONNECT's options; null when the JSON does not parse. */
export function options(rest: string, redact: boolean): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const obj = { ...(parsed as Record<string, unknown>) };
  if (redact) for (const k of Object.keys(obj)) if (SECRETS.has(k)) obj[k] = REDACTED;
  return capJson(obj) as Record<string, unknown>;
}

/** The header block: `NATS/1.0[ code[ description]]` then `Key: Value` lines, then an empty line. */
export function parseHeaders(block: Uint8Array, size: number): Record<string, unknown> {
  const text = lossy.decode(block);
  const lines = text.split('\r\n');
  const out: Record<string, unknown> = {};
  const status = /^NATS\/(\d+\.\d+)(?:[ \t]+(\d{3})(?:[ \t]+(.*))?)?$/.exec(lines[0] ?? '');
  if (status) {
    out.version = status[1];
    if (status[2]) out.status = Number(status[2]);
    if (status[3]) out.description = cut(status[3]);
  } else {
    out.malformed = true;
  }
  const headers: Record<string, string> = {};
  let n = 0;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (++n > MAX_HEADERS) break;
    const key = cut(line.slice(0, colon), 64);
    const value = cut(line.slice(colon + 1).trim());
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  out.headers = headers;
  if (block.length < size) out.truncated = true;
  return out;
}

/** A payload's first bytes as text (UTF-8) or base64. */
function data(fields: Record<string, unknown>, msg: NatsMessage): void {
  const p = msg.payload!;
  const size = p.total - p.headerSize;
  fields.payloadSize = size;
  if (size === 0) return;
  try {
    // `stream`: a cut in the middle of a character is not an error.
    fields.payload = strict.decode(p.data, { stream: p.data.length < size });
  } catch {
    fields.payload = Buffer.from(p.data).toString('base64');
    fields.payloadEncoding = 'base64';
  }
  if (p.data.length < size) fields.payloadTruncated = true;
}

/** The summary's path and the request fields of a message. */
export function describe(msg: NatsMessage, subjectOfSid: (sid: string) => string | undefined) {
  const a = msg.args;
  const fields: Record<string, unknown> = {};
  let path = '';
  switch (msg.known ? msg.verb : '') {
    case 'CONNECT': {
      const o = options(msg.rest, true);
      if (o) fields.options = o;
      else fields.invalidJson = true;
      break;
    }
    case 'INFO': {
      const o = options(msg.rest, false);
      if (o) fields.info = o;
      else fields.invalidJson = true;
      break;
    }
    case 'PUB':
    case 'HPUB': {
      // PUB subject [reply-to] size; HPUB subject [reply-to] header-size total-size
      const withReply = a.length === (msg.verb === 'PUB' ? 3 : 4);
      path = cut(a[0]!, MAX_SUBJECT);
      fields.subject = path;
      if (withReply) fields.replyTo = cut(a[1]!, MAX_SUBJECT);
      headersAndData(fields, msg);
      break;
    }
    case 'MSG':
    case 'HMSG': {
      // MSG subject sid [reply-to] size; HMSG subject sid [reply-to] header-size total-size
      const withReply = a.length === (msg.verb === 'MSG' ? 4 : 5);
      path = cut(a[0]!, MAX_SUBJECT);
      fields.subject = path;
      fields.sid = cut(a[1]!, MAX_SID);
      if (withReply) fields.replyTo = cut(a[2]!, MAX_SUBJECT);
      headersAndData(fields, msg);
      break;
    }
    case 'SUB':
      // SUB subject [queue group] sid
      path = cut(a[0]!, MAX_SUBJECT);
      fields.subject = path;
      if (a.length === 3) fields.queueGroup = a[1];
      fields.sid = cut(a[a.length - 1]!, MAX_SID);
      break;
    case 'UNSUB': {
      // UNSUB sid [max_msgs]: the subject is the one the sid was subscribed to, when seen.
      fields.sid = cut(a[0]!, MAX_SID);
      if (a[1] !== undefined) fields.maxMsgs = Number(a[1]);
      path = subjectOfSid(cut(a[0]!, MAX_SID)) ?? '';
      if (path) fields.subject = path;
      break;
    }
    case 'PING':
    case 'PONG':
    case '+OK':
    case '-ERR':
      break;
    default:
      // An operation the other side does not know (the server answers -ERR 'Unknown Protocol Operation').
      fields.line = cut(`${msg.verb} ${msg.rest}`.trim());
  }
  return { path, fields };
}

function headersAndData(fields: Record<string, unknown>, msg: NatsMessage): void {
  const p = msg.payload!;
  if (p.headerSize > 0) {
    fields.headerSize = p.headerSize;
    fields.totalSize = p.total;
    Object.assign(fields, { headers: parseHeaders(p.headers, p.headerSize) });
  }
  data(fields, msg);
}

/** -ERR's message without the single quotes it comes in. */
export function errorText(rest: string): string {
  const m = /^'(.*)'$/s.exec(rest.trim());
  return cut(m ? m[1]! : rest.trim(), 1024);
}

/** The response object of an acknowledgement or PONG. */
export function responseOf(reply: NatsMessage): Record<string, unknown> {
  if (reply.verb === '-ERR') return { verb: '-ERR', error: errorText(reply.rest) };
  return { verb: reply.verb };
}

/**
 * An operation or message reduced to what its entry shows, at arrival: what waits for an answer
 * keeps these capped fields, not the message (whose control line may be 64 KiB).
 */
export interface Op {
  method: string;
  path: string;
  request: Record<string, unknown>;
  /** A lone +OK or -ERR: its own status and response. */
  status: string | null;
  response: Record<string, unknown> | null;
  ts: number;
  size: number;
  src: EntryEndpoint;
  dst: EntryEndpoint;
}

export function prepare(seen: Seen, subjectOfSid: (sid: string) => string | undefined): Op {
  const { msg } = seen;
  const { path, fields } = describe(msg, subjectOfSid);
  // A lone +OK or -ERR (an asynchronous error, or one whose operation was not seen).
  const lone = msg.known && (msg.verb === '+OK' || msg.verb === '-ERR');
  return {
    method: msg.verb,
    path,
    request: lone ? {} : fields,
    status: lone ? msg.verb : null,
    response: lone ? responseOf(msg) : null,
    ts: msg.ts,
    size: msg.size,
    src: seen.src,
    dst: seen.dst,
  };
}

/** The entry of `op` and what answered it (+OK, -ERR, PONG). */
export function entry(op: Op, reply: NatsMessage | null, error: string | null): NatsEntry {
  const answered = reply && (reply.verb === '+OK' || reply.verb === '-ERR');
  return {
    protocol: 'nats',
    timestamp: op.ts,
    elapsedMs: reply ? (reply.ts - op.ts) / 1000 : null,
    src: op.src,
    dst: op.dst,
    method: op.method,
    path: op.path,
    status: answered ? reply.verb : op.status,
    request: op.request,
    response: reply ? responseOf(reply) : op.response,
    requestSize: op.size,
    responseSize: reply?.size ?? 0,
    error,
  };
}
