/**
 * Message bodies to plain values (§55.7 "Message Formats"), bounded: strings are cut (statement text
 * at TEXT_CAP with the full length kept beside it, values at VALUE_CAP), lists at LIST_CAP items.
 * A decoder answers null when the body does not follow its message's layout; the caller counts that
 * as a parse error. A body the framer kept only a prefix of (`truncated`) is read as far as it goes.
 */
import { ERROR_FIELDS } from './messages.js';
import { hex, Reader, text } from './reader.js';
import { TEXT_CAP } from './sql.js';

export const VALUE_CAP = 256;
/** Error and notice message texts run longer than values. */
export const MESSAGE_CAP = 1024;
export const LIST_CAP = 64;

/** Text with its full length in bytes; `length` > the text's bytes when it was cut. */
export interface Sized {
  text: string;
  length: number;
}

function sized(b: Uint8Array, cap: number, length = b.length): Sized {
  return { text: text(b, cap), length };
}

// ---- startup phase

export interface StartupParams {
  /** `3.0`, `3.2`... */
  version: string;
  params: Record<string, string>;
}

/** StartupMessage after its version word: name/value pairs ending with an empty name. */
export function startupParams(body: Uint8Array, version: number): StartupParams | null {
  const r = new Reader(body);
  const params: Record<string, string> = {};
  let n = 0;
  for (;;) {
    const name = r.cstring(VALUE_CAP);
    if (!r.ok) return null;
    if (name === '') break;
    const value = r.cstring(VALUE_CAP);
    if (!r.ok) return null;
    if (n++ < LIST_CAP) params[name] = value;
  }
  return { version: `${version >>> 16}.${version & 0xffff}`, params };
}

export interface Authentication {
  code: number;
  /** SASL mechanisms offered (AuthenticationSASL). */
  mechanisms?: string[];
}

export function authentication(body: Uint8Array): Authentication | null {
  const r = new Reader(body);
  const code = r.i32();
  if (!r.ok) return null;
  if (code !== 10) return { code };
  const mechanisms: string[] = [];
  for (;;) {
    const m = r.cstring(VALUE_CAP);
    if (!r.ok) return null;
    if (m === '') break;
    if (mechanisms.length < LIST_CAP) mechanisms.push(m);
  }
  return { code, mechanisms };
}

/** SASLInitialResponse: the mechanism chosen; the data that follows is never kept. */
export function saslMechanism(body: Uint8Array): string | null {
  const r = new Reader(body);
  const m = r.cstring(VALUE_CAP);
  return r.ok ? m : null;
}

export function parameterStatus(body: Uint8Array): { name: string; value: string } | null {
  const r = new Reader(body);
  const name = r.cstring(VALUE_CAP);
  const value = r.cstring(VALUE_CAP);
  return r.ok ? { name, value } : null;
}

/** BackendKeyData: the process id (the secret key, the cancel password, is not kept). */
export function backendPid(body: Uint8Array): number | null {
  const r = new Reader(body);
  const pid = r.i32();
  return r.ok && body.length >= 8 ? pid : null;
}

export function negotiateProtocolVersion(body: Uint8Array): { minor: number; unsupported: string[] } | null {
  const r = new Reader(body);
  const minor = r.i32();
  const n = r.i32();
  const unsupported: string[] = [];
  for (let i = 0; i < n && r.ok; i++) {
    const o = r.cstring(VALUE_CAP);
    if (unsupported.length < LIST_CAP) unsupported.push(o);
  }
  return r.ok ? { minor, unsupported } : null;
}

// ---- frontend

/** Query: the text, NUL-terminated. */
export function query(body: Uint8Array, length: number, truncated: boolean): Sized | null {
  if (truncated) return sized(body, TEXT_CAP, length - 1);
  if (length < 1 || body[length - 1] !== 0) return null;
  return sized(body.subarray(0, length - 1), TEXT_CAP);
}

export interface Parse {
  statement: string;
  query: Sized;
  paramTypes: number[];
  paramCount: number;
}

export function parse(body: Uint8Array, length: number, truncated: boolean): Parse | null {
  const r = new Reader(body);
  const statement = r.cstring(VALUE_CAP);
  if (!r.ok) return null;
  if (truncated) {
    // Only a prefix was kept: the text runs past it; its length is known up to the parameter list.
    const rest = body.subarray(r.pos);
    const nul = rest.indexOf(0);
    const q = nul >= 0 ? rest.subarray(0, nul) : rest;
    return {
      statement,
      query: sized(q, TEXT_CAP, nul >= 0 ? nul : length - r.pos - 3),
      paramTypes: [],
      paramCount: 0,
    };
  }
  const q = r.cstringBytes();
  const n = r.i16();
  const paramTypes: number[] = [];
  for (let i = 0; i < n && r.ok; i++) {
    const t = r.u32();
    if (i < LIST_CAP) paramTypes.push(t);
  }
  if (!r.ok || n < 0 || !r.atEnd) return null;
  return { statement, query: sized(q, TEXT_CAP), paramTypes, paramCount: n };
}

export type Param = string | null | { hex: string; length: number };

export interface Bind {
  portal: string;
  statement: string;
  params: Param[];
  paramCount: number;
  /** Result column formats: [] all text, [f] all f, else one per column (0 text, 1 binary). */
  resultFormats: number[];
}

export function bind(body: Uint8Array, truncated: boolean): Bind | null {
  const r = new Reader(body);
  const portal = r.cstring(VALUE_CAP);
  const statement = r.cstring(VALUE_CAP);
  const formats = formatCodes(r);
  const n = r.i16();
  if (!r.ok || formats === null || n < 0) return truncated && r.ok ? partialBind(portal, statement) : null;
  const params: Param[] = [];
  for (let i = 0; i < n; i++) {
    const len = r.i32();
    if (len < -1) return null;
    const v = len === -1 ? null : r.bytes(len);
    if (!r.ok) return truncated ? { ...partialBind(portal, statement), params, paramCount: n } : null;
    if (i >= LIST_CAP) continue;
    // Format codes (§55.7 Bind): none means all text, one applies to all, else one per parameter.
    const f = formats.length === 0 ? 0 : formats.length === 1 ? formats[0]! : (formats[i] ?? 0);
    params.push(
      v === null ? null : f === 0 ? text(v, VALUE_CAP) : { hex: hex(v, VALUE_CAP / 2), length: v.length },
    );
  }
  const resultFormats = formatCodes(r);
  if (!r.ok || resultFormats === null || !r.atEnd) {
    return truncated ? { portal, statement, params, paramCount: n, resultFormats: [] } : null;
  }
  return { portal, statement, params, paramCount: n, resultFormats: resultFormats.slice(0, LIST_CAP) };
}

function partialBind(portal: string, statement: string): Bind {
  return { portal, statement, params: [], paramCount: 0, resultFormats: [] };
}

function formatCodes(r: Reader): number[] | null {
  const n = r.i16();
  if (n < 0) return null;
  const out: number[] = [];
  for (let i = 0; i < n && r.ok; i++) {
    const f = r.i16();
    if (f !== 0 && f !== 1) return null;
    out.push(f);
  }
  return r.ok ? out : null;
}

export function execute(body: Uint8Array): { portal: string; maxRows: number } | null {
  const r = new Reader(body);
  const portal = r.cstring(VALUE_CAP);
  const maxRows = r.i32();
  return r.ok && r.atEnd ? { portal, maxRows } : null;
}

/** Describe and Close: 'S' statement or 'P' portal, and its name. */
export function target(body: Uint8Array): { kind: 'statement' | 'portal'; name: string } | null {
  const r = new Reader(body);
  const k = r.u8();
  const name = r.cstring(VALUE_CAP);
  if (!r.ok || !r.atEnd || (k !== 0x53 && k !== 0x50)) return null;
  return { kind: k === 0x53 ? 'statement' : 'portal', name };
}

export function functionCall(body: Uint8Array): { oid: number; argCount: number } | null {
  const r = new Reader(body);
  const oid = r.u32();
  if (formatCodes(r) === null) return null;
  const argCount = r.i16();
  return r.ok && argCount >= 0 ? { oid, argCount } : null;
}

export function copyFail(body: Uint8Array): string | null {
  const r = new Reader(body);
  const m = r.cstring(MESSAGE_CAP);
  return r.ok ? m : null;
}

// ---- backend

export interface Column {
  name: string;
  typeOid: number;
  format: 'text' | 'binary';
}

export function rowDescription(body: Uint8Array): { columns: Column[]; count: number } | null {
  const r = new Reader(body);
  const n = r.i16();
  const columns: Column[] = [];
  for (let i = 0; i < n && r.ok; i++) {
    const name = r.cstring(VALUE_CAP);
    r.bytes(6); // table OID, column attribute number
    const typeOid = r.u32();
    r.bytes(6); // type size, type modifier
    const f = r.i16();
    if (i < LIST_CAP) columns.push({ name, typeOid, format: f === 1 ? 'binary' : 'text' });
  }
  return r.ok && n >= 0 && r.atEnd ? { columns, count: n } : null;
}

export function parameterDescription(body: Uint8Array): number[] | null {
  const r = new Reader(body);
  const n = r.i16();
  const out: number[] = [];
  for (let i = 0; i < n && r.ok; i++) {
    const t = r.u32();
    if (i < LIST_CAP) out.push(t);
  }
  return r.ok && n >= 0 && r.atEnd ? out : null;
}

export function commandTag(body: Uint8Array): string | null {
  const r = new Reader(body);
  const tag = r.cstring(VALUE_CAP);
  return r.ok && r.atEnd ? tag : null;
}

/** ErrorResponse / NoticeResponse fields by name (§55.8); unknown field codes are ignored. */
export type ErrorFields = Record<string, string>;

export function errorFields(body: Uint8Array): ErrorFields | null {
  const r = new Reader(body);
  const out: ErrorFields = {};
  for (;;) {
    const code = r.u8();
    if (!r.ok) return null;
    if (code === 0) break;
    const value = r.cstring(MESSAGE_CAP);
    if (!r.ok) return null;
    const name = ERROR_FIELDS[code];
    if (name) out[name] = value;
  }
  // 'V' (9.6+) is the unlocalized severity; older servers send only the localized 'S'.
  if (out.severity === undefined && out.severityLocalized !== undefined) out.severity = out.severityLocalized;
  delete out.severityLocalized;
  return out;
}

export interface CopyResponse {
  format: 'text' | 'binary';
  columns: number;
}

export function copyResponse(body: Uint8Array): CopyResponse | null {
  const r = new Reader(body);
  const f = r.u8();
  const formats = formatCodes(r);
  if (!r.ok || formats === null || !r.atEnd) return null;
  return { format: f === 1 ? 'binary' : 'text', columns: formats.length };
}

export interface Notification {
  pid: number;
  channel: string;
  payload: Sized;
}

export function notification(body: Uint8Array): Notification | null {
  const r = new Reader(body);
  const pid = r.i32();
  const channel = r.cstring(VALUE_CAP);
  const p = r.cstringBytes();
  if (!r.ok || !r.atEnd) return null;
  return { pid, channel, payload: sized(p, MESSAGE_CAP) };
}

/** FunctionCallResponse: the result's length (-1 for NULL). */
export function functionResult(body: Uint8Array): number | null {
  const r = new Reader(body);
  const len = r.i32();
  if (!r.ok || len < -1) return null;
  if (len > 0) r.bytes(len);
  return r.ok && r.atEnd ? len : null;
}
