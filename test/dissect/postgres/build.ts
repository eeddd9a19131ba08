/**
 * Fixture builders that write the exact bytes of PostgreSQL protocol messages (PostgreSQL docs
 * §55.7 "Message Formats"), in the manner of node-postgres' pg-protocol test buffers: a type byte, an
 * int32 length that counts itself, and the body.
 */

export type Bytes = Uint8Array;

const enc = new TextEncoder();

function cat(parts: (Bytes | number[])[]): Bytes {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function i16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function i32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function cstr(s: string): Bytes {
  return cat([enc.encode(s), [0]]);
}

/** A typed message: type letter, length, body. */
export function msg(type: string, ...body: (Bytes | number[])[]): Bytes {
  const b = cat(body);
  return cat([[type.charCodeAt(0)], i32(b.length + 4), b]);
}

export function concat(...parts: Bytes[]): Bytes {
  return cat(parts);
}

// ---- frontend

export function startup(params: Record<string, string>, version = 196608): Bytes {
  const body = cat([...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), [0]]);
  return cat([i32(body.length + 8), i32(version), body]);
}

export const sslRequest = (): Bytes => Uint8Array.from([...i32(8), ...i32(80877103)]);
export const gssencRequest = (): Bytes => Uint8Array.from([...i32(8), ...i32(80877104)]);
export const cancelRequest = (pid: number, key: number): Bytes =>
  Uint8Array.from([...i32(16), ...i32(80877102), ...i32(pid), ...i32(key)]);

export const password = (data: string): Bytes => msg('p', cstr(data));
export const saslInitial = (mech: string, data: string): Bytes =>
  msg('p', cstr(mech), i32(data.length), enc.encode(data));
export const saslResponse = (data: string): Bytes => msg('p', enc.encode(data));

export const query = (sql: string): Bytes => msg('Q', cstr(sql));
export const parse = (name: string, sql: string, types: number[] = []): Bytes =>
  msg('P', cstr(name), cstr(sql), i16(types.length), ...types.map(i32));

export function bind(
  portal: string,
  statement: string,
  params: (string | null)[] = [],
  formats: number[] = [],
): Bytes {
  const values = params.flatMap((p) => (p === null ? [i32(-1)] : [i32(enc.encode(p).length), enc.encode(p)]));
  return msg(
    'B',
    cstr(portal),
    cstr(statement),
    i16(formats.length),
    ...formats.map(i16),
    i16(params.length),
    ...values,
    i16(0),
  );
}

export const describe = (kind: 'S' | 'P', name: string): Bytes => msg('D', [kind.charCodeAt(0)], cstr(name));
export const execute = (portal = '', maxRows = 0): Bytes => msg('E', cstr(portal), i32(maxRows));
export const close = (kind: 'S' | 'P', name: string): Bytes => msg('C', [kind.charCodeAt(0)], cstr(name));
export const sync = (): Bytes => msg('S');
export const flush = (): Bytes => msg('H');
export const terminate = (): Bytes => msg('X');
export const copyData = (data: string): Bytes => msg('d', enc.encode(data));
export const copyDone = (): Bytes => msg('c');
export const copyFail = (why: string): Bytes => msg('f', cstr(why));
export const functionCall = (oid: number, args: string[]): Bytes =>
  msg(
    'F',
    i32(oid),
    i16(0),
    i16(args.length),
    ...args.flatMap((a) => [i32(a.length), enc.encode(a)]),
    i16(0),
  );

// ---- backend

export const single = (letter: 'S' | 'N' | 'G'): Bytes => Uint8Array.from([letter.charCodeAt(0)]);
export const authOk = (): Bytes => msg('R', i32(0));
export const authMd5 = (): Bytes => msg('R', i32(5), [1, 2, 3, 4]);
export const authSasl = (mechs: string[]): Bytes => msg('R', i32(10), ...mechs.map(cstr), [0]);
export const authSaslContinue = (data: string): Bytes => msg('R', i32(11), enc.encode(data));
export const authSaslFinal = (data: string): Bytes => msg('R', i32(12), enc.encode(data));
export const parameterStatus = (name: string, value: string): Bytes => msg('S', cstr(name), cstr(value));
export const backendKey = (pid: number, key: number): Bytes => msg('K', i32(pid), i32(key));
export const ready = (status: 'I' | 'T' | 'E' = 'I'): Bytes => msg('Z', [status.charCodeAt(0)]);
export const parseComplete = (): Bytes => msg('1');
export const bindComplete = (): Bytes => msg('2');
export const closeComplete = (): Bytes => msg('3');
export const noData = (): Bytes => msg('n');
export const emptyQuery = (): Bytes => msg('I');
export const portalSuspended = (): Bytes => msg('s');
export const commandComplete = (tag: string): Bytes => msg('C', cstr(tag));
export const parameterDescription = (types: number[]): Bytes =>
  msg('t', i16(types.length), ...types.map(i32));

export function rowDescription(names: string[], typeOid = 23): Bytes {
  return msg(
    'T',
    i16(names.length),
    ...names.flatMap((n, i) => [cstr(n), i32(0), i16(i + 1), i32(typeOid), i16(4), i32(-1), i16(0)]),
  );
}

export function dataRow(values: (string | null)[]): Bytes {
  return msg(
    'D',
    i16(values.length),
    ...values.flatMap((v) => (v === null ? [i32(-1)] : [i32(enc.encode(v).length), enc.encode(v)])),
  );
}

/** ErrorResponse ('E') or NoticeResponse ('N') from field letters, e.g. {S: 'ERROR', C: '42601'}. */
export function errorResponse(fields: Record<string, string>, type: 'E' | 'N' = 'E'): Bytes {
  return msg(type, ...Object.entries(fields).flatMap(([k, v]) => [[k.charCodeAt(0)], cstr(v)]), [0]);
}

export const copyInResponse = (columns: number): Bytes =>
  msg('G', [0], i16(columns), ...Array(columns).fill(i16(0)));
export const copyOutResponse = (columns: number): Bytes =>
  msg('H', [0], i16(columns), ...Array(columns).fill(i16(0)));
export const notification = (pid: number, channel: string, payload: string): Bytes =>
  msg('A', i32(pid), cstr(channel), cstr(payload));
export const functionResult = (value: string): Bytes => msg('V', i32(value.length), enc.encode(value));
