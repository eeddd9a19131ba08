/**
 * PostgreSQL by content. A connection's first client bytes are a startup-phase request (§55.7
 * StartupMessage, SSLRequest, GSSENCRequest, CancelRequest): a length, then protocol 3.x or one of
 * the special codes, then for StartupMessage NUL-terminated name/value pairs that include `user`.
 *
 * A connection picked up mid-way (a pooled connection opened before the capture) starts with typed
 * messages. Their type letters and lengths are easy to fake by accident, so a position is believed
 * only when the message there checks out field by field (§55.7's layout of each type) and, unless it
 * starts the stream, is followed by another message that checks out too. The same test finds where
 * messages start again after a gap (framer.ts).
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import {
  B,
  CANCEL_REQUEST_CODE,
  F,
  GSSENC_REQUEST_CODE,
  HEADER_SIZE,
  MAX_STARTUP_LENGTH,
  messageName,
  PLAUSIBLE_LENGTH,
  PROTOCOL_MAJOR,
  SSL_REQUEST_CODE,
} from './messages.js';
import { Reader } from './reader.js';

export type Plausible = 'yes' | 'no' | 'more';

/** Bytes of consistent message prefix enough to believe a first message too long to see whole. */
const LONG_PREFIX_BELIEVED = 4096;
/** Messages checked in a row from one position. */
const RUN = 8;

export function detectPostgres(dir: Direction, data: Uint8Array): Detection {
  if (data.length === 0) return 'more';
  if (dir === 0 && data[0] === 0) {
    const startup = detectStartup(data);
    // Not a startup packet: perhaps a stream picked up inside a message.
    if (startup !== 'no') return startup;
  }
  return detectMidStream(dir, data);
}

/** §55.7: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest. */
function detectStartup(data: Uint8Array): Detection {
  if (data.length < 8) return 'more';
  const len = u32(data, 0);
  const code = u32(data, 4);
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) return len === 8 ? 'yes' : 'no';
  // CancelRequest: pid and a secret key, 4 bytes in 3.0, up to 256 in 3.2.
  if (code === CANCEL_REQUEST_CODE) return len >= 16 && len <= 12 + 256 ? 'yes' : 'no';
  if (code >>> 16 !== PROTOCOL_MAJOR || len < 9 || len > MAX_STARTUP_LENGTH) return 'no';
  const body = data.subarray(8, Math.min(len, data.length));
  const r = new Reader(body);
  let user = false;
  for (;;) {
    const name = r.cstringBytes();
    if (!r.ok) return data.length < len ? 'more' : 'no';
    if (name.length === 0) break;
    if (!printable(name)) return 'no';
    if (name.length === 4 && name[0] === 0x75 && name[1] === 0x73 && name[2] === 0x65 && name[3] === 0x72)
      user = true;
    r.cstringBytes();
    if (!r.ok) return data.length < len ? 'more' : 'no';
  }
  return user && r.atEnd && data.length >= len ? 'yes' : 'no';
}

function detectMidStream(dir: Direction, data: Uint8Array): Detection {
  const p = plausibleAt(dir, data, 0);
  if (p === 'yes') return 'yes';
  if (p === 'more') return data.length >= LONG_PREFIX_BELIEVED ? 'yes' : 'more';
  // A CRLF-terminated text line first is a text protocol's (HTTP, RESP, NATS, SMTP...); a TLS
  // record header (RFC 8446 §5.1: content type 20-23, version 3.x) is TLS.
  if (crlfLine(data)) return 'no';
  if (data.length >= 3 && data[0]! >= 20 && data[0]! <= 23 && data[1] === 3 && data[2]! <= 4) return 'no';
  // The stream may start inside a message: look for a run of messages further in.
  for (let at = 1; at + HEADER_SIZE <= data.length; at++) {
    if (messageName(dir, data[at]!) !== null && plausibleAt(dir, data, at) === 'yes') return 'yes';
  }
  return data.length < LONG_PREFIX_BELIEVED ? 'more' : 'no';
}

/** The data starts with a line of printable ASCII ended by CRLF, within 256 bytes. */
function crlfLine(data: Uint8Array): boolean {
  const n = Math.min(data.length, 256);
  for (let i = 0; i < n; i++) {
    const c = data[i]!;
    if (c === 0x0d) return i > 0 && data[i + 1] === 0x0a;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return false;
}

/**
 * Whether typed messages plausibly start at `at`: 'yes' when the messages from there check out up to
 * the end of `data` (or for RUN messages; the last may be cut by the end) and at least one of them has
 * a structured body ('strong': a run of Syncs or CopyData alone could be anything); 'more' when
 * the first message is cut by the end of `data` but consistent so far (callers trust that only at a
 * stream's or segment's start); 'no' otherwise.
 */
export function plausibleAt(dir: Direction, data: Uint8Array, at: number): Plausible {
  let pos = at;
  let whole = 0;
  let strong = false;
  while (whole < RUN) {
    if (pos === data.length) break;
    if (data.length - pos < HEADER_SIZE) {
      if (messageName(dir, data[pos]!) === null) return 'no';
      break;
    }
    const type = data[pos]!;
    const len = u32(data, pos + 1);
    if (messageName(dir, type) === null || len < 4 || len > PLAUSIBLE_LENGTH) return 'no';
    const bodyEnd = pos + 1 + len;
    const complete = bodyEnd <= data.length;
    const verdict = checkBody(
      dir,
      type,
      data.subarray(pos + HEADER_SIZE, Math.min(bodyEnd, data.length)),
      complete,
      len - 4,
    );
    if (verdict === 'no') return 'no';
    if (!complete) {
      if (whole === 0) return at === 0 ? 'more' : 'no';
      break;
    }
    if (verdict === 'strong') strong = true;
    whole++;
    pos = bodyEnd;
  }
  // A run of weak messages alone (Syncs, CopyData) could be anything.
  return whole > 0 && strong ? 'yes' : 'no';
}

type BodyVerdict = 'strong' | 'weak' | 'no' | 'partial';

/**
 * Checks a message body against its type's layout (§55.7). `complete` says whether `b` is the whole
 * body (`length` bytes); a cut body is checked as far as it goes ('partial' if nothing contradicts).
 * 'strong' bodies have structure enough to tell them from noise; 'weak' ones (CopyData, fixed empty
 * bodies, password blobs) count only in the company of a strong one.
 */
function checkBody(
  dir: Direction,
  type: number,
  b: Uint8Array,
  complete: boolean,
  length: number,
): BodyVerdict {
  const r = new Reader(b);
  const ran = (): BodyVerdict => (complete ? 'no' : 'partial');
  const end = (): BodyVerdict =>
    !r.ok ? ran() : complete && !r.atEnd ? 'no' : complete ? 'strong' : 'partial';
  const empty = (): BodyVerdict => (length === 0 ? 'weak' : 'no');
  if (dir === 0) {
    switch (type) {
      case F.Query: {
        if (length < 1) return 'no';
        const nul = b.indexOf(0);
        if ((nul >= 0 || complete) && nul !== length - 1) return 'no';
        if (!sqlText(b.subarray(0, nul >= 0 ? nul : b.length))) return 'no';
        return complete ? 'strong' : 'partial';
      }
      case F.Parse: {
        if (!name(r)) return ran();
        const q = r.cstringBytes();
        if (!r.ok) return sqlText(r.buf.subarray(r.pos)) ? ran() : 'no';
        if (!sqlText(q)) return 'no';
        const n = r.i16();
        if (n < 0) return 'no';
        r.bytes(n * 4);
        return end();
      }
      case F.Bind: {
        if (!name(r) || !name(r)) return ran();
        if (!formats(r)) return r.ok ? 'no' : ran();
        const n = r.i16();
        if (n < 0) return 'no';
        for (let i = 0; i < n && r.ok; i++) {
          const l = r.i32();
          if (l < -1) return 'no';
          if (l > 0) r.bytes(l);
        }
        if (!r.ok) return ran();
        if (!formats(r)) return r.ok ? 'no' : ran();
        return end();
      }
      case F.Execute: {
        if (!name(r)) return ran();
        if (r.i32() < 0) return 'no';
        return end();
      }
      case F.Describe:
      case F.Close: {
        const k = r.u8();
        if (r.ok && k !== 0x53 && k !== 0x50) return 'no';
        if (!name(r)) return ran();
        return end();
      }
      case F.CopyFail:
        if (!name(r)) return ran();
        return end() === 'strong' ? 'weak' : end();
      case F.FunctionCall: {
        r.u32();
        if (!formats(r)) return r.ok ? 'no' : ran();
        const n = r.i16();
        if (n < 0) return 'no';
        for (let i = 0; i < n && r.ok; i++) {
          const l = r.i32();
          if (l < -1) return 'no';
          if (l > 0) r.bytes(l);
        }
        const f = r.i16();
        if (r.ok && f !== 0 && f !== 1) return 'no';
        return end();
      }
      case F.Sync:
      case F.Flush:
      case F.Terminate:
      case F.CopyDone:
        return empty();
      default:
        return 'weak'; // CopyData, password / SASL / GSS responses: any bytes
    }
  }
  switch (type) {
    case B.Authentication: {
      const code = r.i32();
      if (!r.ok) return ran();
      if (code === 0 || code === 2 || code === 3 || code === 7 || code === 9)
        return length === 4 ? 'strong' : 'no';
      if (code === 5) return length === 8 ? 'strong' : 'no';
      if (code === 8 || code === 11 || code === 12) return 'weak';
      if (code !== 10) return 'no';
      for (;;) {
        const m = r.cstringBytes();
        if (!r.ok) return ran();
        if (m.length === 0) return end();
        if (!printable(m)) return 'no';
      }
    }
    case B.BackendKeyData:
      return length >= 8 && length <= 4 + 256 ? 'strong' : 'no';
    case B.ParameterStatus: {
      if (!name(r)) return ran();
      const v = r.cstringBytes();
      if (r.ok && !sqlText(v)) return 'no';
      return end();
    }
    case B.ReadyForQuery: {
      if (length !== 1) return 'no';
      const s = r.u8();
      if (!r.ok) return ran();
      return s === 0x49 || s === 0x54 || s === 0x45 ? 'strong' : 'no';
    }
    case B.CommandComplete: {
      const tag = r.cstringBytes();
      if (!r.ok) return ran();
      if (tag.length === 0 || tag[0]! < 0x41 || tag[0]! > 0x5a || !printable(tag)) return 'no';
      return end();
    }
    case B.DataRow: {
      const n = r.i16();
      if (r.ok && (n < 0 || n > 1664)) return 'no';
      for (let i = 0; i < n && r.ok; i++) {
        const l = r.i32();
        if (l < -1) return 'no';
        if (l > 0) r.bytes(l);
      }
      return end();
    }
    case B.RowDescription: {
      const n = r.i16();
      if (r.ok && (n < 0 || n > 1664)) return 'no';
      for (let i = 0; i < n && r.ok; i++) {
        if (!name(r)) return ran();
        r.bytes(16);
        const f = r.i16();
        if (r.ok && f !== 0 && f !== 1) return 'no';
      }
      return end();
    }
    case B.ParameterDescription: {
      const n = r.i16();
      if (r.ok && n < 0) return 'no';
      r.bytes(n * 4);
      return end();
    }
    case B.ErrorResponse:
    case B.NoticeResponse: {
      let fields = 0;
      for (;;) {
        const code = r.u8();
        if (!r.ok) return ran();
        if (code === 0) break;
        if (!((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a))) return 'no';
        const v = r.cstringBytes();
        if (!r.ok) return ran();
        if (code === 0x43 && v.length !== 5) return 'no'; // SQLSTATE: five characters (Appendix A)
        fields++;
      }
      return fields === 0 ? 'no' : end();
    }
    case B.CopyInResponse:
    case B.CopyOutResponse:
    case B.CopyBothResponse: {
      const f = r.u8();
      if (r.ok && f !== 0 && f !== 1) return 'no';
      if (!formats(r)) return r.ok ? 'no' : ran();
      return end();
    }
    case B.NotificationResponse: {
      r.i32();
      if (!name(r)) return ran();
      r.cstringBytes();
      return end();
    }
    case B.FunctionCallResponse: {
      const l = r.i32();
      if (r.ok && l < -1) return 'no';
      if (l > 0) r.bytes(l);
      return end();
    }
    case B.NegotiateProtocolVersion: {
      r.i32();
      const n = r.i32();
      if (r.ok && (n < 0 || n > 1000)) return 'no';
      for (let i = 0; i < n && r.ok; i++) if (!name(r) && r.ok) return 'no';
      return end();
    }
    case B.ParseComplete:
    case B.BindComplete:
    case B.CloseComplete:
    case B.NoData:
    case B.EmptyQueryResponse:
    case B.PortalSuspended:
    case B.CopyDone:
      return empty();
    default:
      return 'weak'; // CopyData
  }
}

/** A name (statement, portal, parameter, channel): printable text; false if cut or not text. */
function name(r: Reader): boolean {
  const v = r.cstringBytes();
  if (!r.ok) return false;
  if (!printable(v)) {
    r.ok = false;
    return false;
  }
  return true;
}

/** An int16 count of int16 format codes, each 0 (text) or 1 (binary). */
function formats(r: Reader): boolean {
  const n = r.i16();
  if (n < 0) return false;
  for (let i = 0; i < n; i++) {
    const f = r.i16();
    if (!r.ok) return false;
    if (f !== 0 && f !== 1) return false;
  }
  return r.ok;
}

/** Names and tags: no control characters (UTF-8 above 0x7f is fine). */
function printable(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** SQL text: printable plus tab, newline, carriage return and form feed. */
function sqlText(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}
