/**
 * Decoders for single MySQL packets: the connection phase (Initial Handshake v10,
 * HandshakeResponse41 and 320, SSLRequest, AuthSwitchRequest), the generic responses (OK_Packet,
 * ERR_Packet, EOF_Packet), result set metadata (column count, ColumnDefinition41), COM_STMT_PREPARE_OK,
 * and the binary protocol values carried by COM_STMT_EXECUTE and binary rows. Each takes a payload
 * (possibly cut at MAX_KEPT) and returns plain values; nothing here keeps a reference to the bytes.
 */
import { CLIENT, fieldTypeName } from './protocol.js';
import { printable, Reader, text } from './reader.js';

/** Longest value kept in an entry (a parameter, a row value, an attribute). */
export const MAX_VALUE = 256;
/** Longest statement text kept in an entry; the full length is recorded beside it. */
export const MAX_STATEMENT = 4096;

// ---------------------------------------------------------------- connection phase

export interface Greeting {
  protocolVersion: number;
  /** As sent; MariaDB 10+ prefixes "5.5.5-" for old clients. */
  rawVersion: string;
  /** Without MariaDB's "5.5.5-" prefix. */
  serverVersion: string;
  flavor: 'mysql' | 'mariadb';
  connectionId: number;
  capabilities: number;
  /** MariaDB's extended capabilities (0 from MySQL). */
  mariadbCapabilities: number;
  charset: number;
  status: number;
  authPlugin: string | null;
}

/** MySQL protocol: Protocol::HandshakeV10 (and the version string of the old V9). */
export function parseGreeting(p: Uint8Array): Greeting | null {
  const r = new Reader(p);
  const protocolVersion = r.u8();
  if (protocolVersion !== 10 && protocolVersion !== 9) return null;
  const rawVersion = text(r.nulBytes(), 128);
  if (r.short) return null;
  let serverVersion = rawVersion;
  let flavor: Greeting['flavor'] = /mariadb/i.test(rawVersion) ? 'mariadb' : 'mysql';
  if (rawVersion.startsWith('5.5.5-') && flavor === 'mariadb') serverVersion = rawVersion.slice(6);
  const connectionId = r.u32();
  const g: Greeting = {
    protocolVersion,
    rawVersion,
    serverVersion,
    flavor,
    connectionId,
    capabilities: 0,
    mariadbCapabilities: 0,
    charset: 0,
    status: 0,
    authPlugin: null,
  };
  if (protocolVersion === 9) return g;
  r.skip(8); // auth-plugin-data-part-1
  r.skip(1); // filler
  let caps = r.u16();
  if (r.short) return g;
  if (!r.atEnd) {
    g.charset = r.u8();
    g.status = r.u16();
    caps = (caps | (r.u16() << 16)) >>> 0;
    const authDataLen = r.u8();
    r.skip(6);
    const ext = r.u32();
    // MariaDB: with CLIENT_MYSQL (bit 0) clear, the last 4 reserved bytes are its extended capabilities.
    if ((caps & CLIENT.LONG_PASSWORD) === 0) {
      g.mariadbCapabilities = ext;
      flavor = 'mariadb';
      g.flavor = flavor;
    }
    if (caps & CLIENT.SECURE_CONNECTION) r.skip(Math.max(13, authDataLen - 8));
    if (caps & CLIENT.PLUGIN_AUTH && !r.atEnd) g.authPlugin = text(r.nulBytes(), 64);
  }
  g.capabilities = caps;
  return g;
}

export interface HandshakeResponse {
  capabilities: number;
  mariadbCapabilities: number;
  maxPacketSize: number;
  charset: number;
  /** SSLRequest: the payload stops after the filler; TLS follows. */
  sslRequest: boolean;
  user: string;
  /** Bytes of auth response; the response itself is never kept (it is derived from the password). */
  authResponseLength: number;
  schema: string | null;
  authPlugin: string | null;
  attributes: Record<string, string> | null;
  zstdLevel: number | null;
  /** The packet ended early. */
  short: boolean;
}

/**
 * MySQL protocol: Protocol::HandshakeResponse41, Protocol::SSLRequest and, for clients without
 * CLIENT_PROTOCOL_41, Protocol::HandshakeResponse320.
 */
export function parseHandshakeResponse(
  p: Uint8Array,
  length: number,
  serverCaps: number | null,
): HandshakeResponse {
  const r = new Reader(p);
  const low = r.u16();
  const out: HandshakeResponse = {
    capabilities: low,
    mariadbCapabilities: 0,
    maxPacketSize: 0,
    charset: 0,
    sslRequest: false,
    user: '',
    authResponseLength: 0,
    schema: null,
    authPlugin: null,
    attributes: null,
    zstdLevel: null,
    short: false,
  };
  if ((low & CLIENT.PROTOCOL_41) === 0) {
    // HandshakeResponse320: capabilities int<2>, max packet int<3>, user, auth response, [schema].
    out.maxPacketSize = r.u24();
    out.sslRequest = (low & CLIENT.SSL) !== 0 && length <= 5;
    if (out.sslRequest) return out;
    out.user = text(r.nulBytes(), 128);
    if (low & CLIENT.CONNECT_WITH_DB) {
      out.authResponseLength = r.nulBytes().length;
      out.schema = text(r.nulBytes(), 256);
    } else {
      out.authResponseLength = r.rest().length;
    }
    out.short = r.short;
    return out;
  }
  const caps = (low | (r.u16() << 16)) >>> 0;
  out.capabilities = caps;
  out.maxPacketSize = r.u32();
  out.charset = r.u8();
  r.skip(19);
  const ext = r.u32();
  if (
    (caps & CLIENT.LONG_PASSWORD) === 0 &&
    (serverCaps === null || (serverCaps & CLIENT.LONG_PASSWORD) === 0)
  )
    out.mariadbCapabilities = ext;
  if (length === 32) {
    out.sslRequest = (caps & CLIENT.SSL) !== 0;
    out.short = r.short;
    return out;
  }
  out.user = text(r.nulBytes(), 128);
  if (caps & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) out.authResponseLength = r.lenencBytes()?.length ?? 0;
  else if (caps & CLIENT.SECURE_CONNECTION) out.authResponseLength = r.bytes(r.u8()).length;
  else out.authResponseLength = r.nulBytes().length;
  if (caps & CLIENT.CONNECT_WITH_DB && !r.atEnd) out.schema = text(r.nulBytes(), 256);
  if (caps & CLIENT.PLUGIN_AUTH && !r.atEnd) out.authPlugin = text(r.nulBytes(), 64);
  if (caps & CLIENT.CONNECT_ATTRS && !r.atEnd) out.attributes = parseAttributes(r);
  if (caps & CLIENT.ZSTD_COMPRESSION_ALGORITHM && !r.atEnd) out.zstdLevel = r.u8();
  out.short = r.short;
  return out;
}

/** Connection attributes: a lenenc total length, then key/value lenenc strings; at most 32 kept. */
function parseAttributes(r: Reader): Record<string, string> {
  const total = r.lenenc() ?? 0;
  const end = Math.min(r.end, r.pos + total);
  const inner = new Reader(r.b, r.pos, end);
  const out: Record<string, string> = {};
  let n = 0;
  while (!inner.atEnd && n < 32) {
    const k = inner.lenencBytes();
    const v = inner.lenencBytes();
    if (inner.short || !k) break;
    out[text(k, 64)] = v ? printable(v, MAX_VALUE) : '';
    n++;
  }
  r.pos = end;
  return out;
}

/** MySQL protocol: Protocol::AuthSwitchRequest — 0xfe, the plugin name, its data (not kept). */
export function parseAuthSwitch(p: Uint8Array): string {
  const r = new Reader(p, 1);
  return r.atEnd ? 'mysql_old_password' : text(r.nulBytes(), 64);
}

// ---------------------------------------------------------------- generic responses

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
  info: string;
}

/**
 * MySQL protocol: OK_Packet (header 0x00, or 0xfe when it ends a result set under
 * CLIENT_DEPRECATE_EOF). `caps` null: unknown (a connection picked up mid-stream), read as 4.1.
 */
export function parseOk(p: Uint8Array, caps: number | null): OkPacket {
  const r = new Reader(p, 1);
  const ok: OkPacket = { affectedRows: 0, lastInsertId: 0, status: 0, warnings: 0, info: '' };
  ok.affectedRows = r.lenenc() ?? 0;
  ok.lastInsertId = r.lenenc() ?? 0;
  const c = caps ?? CLIENT.PROTOCOL_41;
  if (c & CLIENT.PROTOCOL_41) {
    ok.status = r.u16();
    ok.warnings = r.u16();
  } else if (c & CLIENT.TRANSACTIONS) {
    ok.status = r.u16();
  }
  if (r.atEnd) return ok;
  if (c & CLIENT.SESSION_TRACK) {
    const info = r.lenencBytes();
    if (info && !r.short) ok.info = text(info, MAX_VALUE);
  } else {
    ok.info = text(r.rest(), MAX_VALUE);
  }
  return ok;
}

export interface ErrPacket {
  errorCode: number;
  sqlState: string | null;
  message: string;
}

/** MySQL protocol: ERR_Packet — 0xff, error code, ['#' and a 5-character SQL state], message. */
export function parseErr(p: Uint8Array): ErrPacket {
  const r = new Reader(p, 1);
  const errorCode = r.u16();
  let sqlState: string | null = null;
  if (r.peek() === 0x23 && r.left >= 6) {
    r.skip(1);
    sqlState = text(r.bytes(5), 5);
  }
  return { errorCode, sqlState, message: text(r.rest(), 512) };
}

export interface EofPacket {
  warnings: number;
  status: number;
}

/** MySQL protocol: EOF_Packet — 0xfe, then (4.1) warnings and status. */
export function parseEof(p: Uint8Array): EofPacket {
  const r = new Reader(p, 1);
  if (r.left < 4) return { warnings: 0, status: 0 };
  return { warnings: r.u16(), status: r.u16() };
}

/**
 * A 0xfe packet ends a result set (or stands for EOF) only while shorter than a row could be: 9 bytes
 * for EOF_Packet, 0xffffff for the OK_Packet that replaces it under CLIENT_DEPRECATE_EOF
 * (MySQL protocol: EOF_Packet; a text row starting with a 0xfe length prefix is at least 9 bytes).
 */
export function isEofLike(p: Uint8Array, length: number, deprecateEof: boolean | null): boolean {
  if (p[0] !== 0xfe) return false;
  return deprecateEof === false ? length < 9 : length < 0xffffff;
}

/** A 0xfe packet in the EOF_Packet's own form: 1 byte (pre-4.1) or 5 bytes. */
export function isClassicEof(p: Uint8Array, length: number): boolean {
  return p[0] === 0xfe && (length === 5 || length === 1);
}

// ---------------------------------------------------------------- result sets

/** The column count packet: int<lenenc>, then a metadata-follows byte when optional metadata is on. */
export function parseColumnCount(p: Uint8Array): { count: number; metadata: boolean } | null {
  const r = new Reader(p);
  const count = r.lenenc();
  if (r.short || count === null) return null;
  // CLIENT_OPTIONAL_RESULTSET_METADATA / MARIADB_CLIENT_CACHE_METADATA: 0 = none, 1 = full.
  const metadata = r.atEnd ? true : r.u8() !== 0;
  return { count, metadata };
}

export interface ColumnDef {
  schema: string;
  table: string;
  name: string;
  type: number;
  flags: number;
  charset: number;
}

/**
 * MySQL protocol: Protocol::ColumnDefinition41 (MariaDB may add extended type info before the fixed
 * fields, MARIADB_CLIENT_EXTENDED_METADATA), or ColumnDefinition320 for pre-4.1 peers.
 */
export function parseColumnDef(
  p: Uint8Array,
  protocol41: boolean,
  extendedMetadata: boolean,
): ColumnDef | null {
  const r = new Reader(p);
  if (!protocol41) {
    const table = r.lenencBytes();
    const name = r.lenencBytes();
    r.lenencBytes(); // column length
    const type = r.lenencBytes();
    if (r.short) return null;
    return {
      schema: '',
      table: text(table ?? new Uint8Array(0), 64),
      name: text(name ?? new Uint8Array(0), 64),
      type: type?.[0] ?? 0,
      flags: 0,
      charset: 0,
    };
  }
  r.lenencBytes(); // catalog, "def"
  const schema = r.lenencBytes();
  const table = r.lenencBytes();
  r.lenencBytes(); // org_table
  const name = r.lenencBytes();
  r.lenencBytes(); // org_name
  if (extendedMetadata || (r.peek() !== 0x0c && r.peek() >= 0)) r.lenencBytes();
  r.lenenc(); // length of fixed fields, 0x0c
  const charset = r.u16();
  r.u32(); // column length
  const type = r.u8();
  const flags = r.u16();
  if (r.short) return null;
  const s = (b: Uint8Array | null) => (b ? text(b, 64) : '');
  return { schema: s(schema), table: s(table), name: s(name), type, flags, charset };
}

export interface PrepareOk {
  statementId: number;
  columns: number;
  params: number;
  warnings: number;
  /** Optional metadata: false when the definitions are left out. */
  metadata: boolean;
}

/** MySQL protocol: COM_STMT_PREPARE_OK. */
export function parsePrepareOk(p: Uint8Array): PrepareOk | null {
  const r = new Reader(p, 1);
  const statementId = r.u32();
  const columns = r.u16();
  const params = r.u16();
  r.skip(1);
  if (r.short) return null;
  const warnings = r.left >= 2 ? r.u16() : 0;
  const metadata = r.atEnd ? true : r.u8() !== 0;
  return { statementId, columns, params, warnings, metadata };
}

/** A text protocol row (MySQL protocol: ProtocolText::ResultsetRow): lenenc strings, 0xfb for NULL. */
export function textRow(p: Uint8Array, columns: number): (string | null)[] {
  const r = new Reader(p);
  const out: (string | null)[] = [];
  for (let i = 0; i < Math.min(columns, 64) && !r.atEnd; i++) {
    const v = r.lenencBytes();
    if (r.short) {
      // Cut at MAX_KEPT, or malformed: what could be read of this value.
      break;
    }
    out.push(v === null ? null : printable(v, MAX_VALUE));
  }
  return out;
}

/**
 * A binary protocol row (MySQL protocol: Binary Protocol Resultset Row): 0x00, a NULL bitmap with a
 * 2-bit offset, then the non-NULL values encoded by their column type.
 */
export function binaryRow(p: Uint8Array, types: readonly number[]): (string | number | null)[] {
  const r = new Reader(p, 1);
  const n = types.length;
  const bitmap = r.bytes((n + 7 + 2) >> 3);
  const out: (string | number | null)[] = [];
  for (let i = 0; i < Math.min(n, 64); i++) {
    const bit = i + 2;
    if ((bitmap[bit >> 3]! >> (bit & 7)) & 1) {
      out.push(null);
      continue;
    }
    const t = types[i]!;
    const v = binaryValue(r, t & 0xff, (t & 0x8000) !== 0);
    if (r.short || v === undefined) break;
    out.push(v);
  }
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * One value of the binary protocol (MySQL protocol: Binary Protocol Value), by column type; numbers
 * as numbers (64-bit ones exact up to 2^53), dates and times as text, the rest as capped text.
 * Undefined for a type it cannot size.
 */
export function binaryValue(r: Reader, type: number, unsigned: boolean): string | number | null | undefined {
  switch (type) {
    case 0x06: // NULL
      return null;
    case 0x01: {
      const v = r.u8();
      return unsigned ? v : (v << 24) >> 24;
    }
    case 0x02:
    case 0x0d: {
      const v = r.u16();
      return unsigned || type === 0x0d ? v : (v << 16) >> 16;
    }
    case 0x03:
    case 0x09: {
      const v = r.u32();
      return unsigned ? v : v | 0;
    }
    case 0x08:
      return unsigned ? r.u64() : r.i64();
    case 0x04: {
      const b = r.bytes(4);
      return b.length === 4 ? Buffer.from(b).readFloatLE(0) : 0;
    }
    case 0x05: {
      const b = r.bytes(8);
      return b.length === 8 ? Buffer.from(b).readDoubleLE(0) : 0;
    }
    case 0x07:
    case 0x0a:
    case 0x0c:
    case 0x0e:
    case 0x11:
    case 0x12: {
      const len = r.u8();
      const b = new Reader(r.bytes(len));
      if (len === 0) return '0000-00-00';
      const date = `${pad(b.u16(), 4)}-${pad(b.u8())}-${pad(b.u8())}`;
      if (len < 7) return date;
      const time = `${pad(b.u8())}:${pad(b.u8())}:${pad(b.u8())}`;
      return len >= 11 ? `${date} ${time}.${pad(b.u32(), 6)}` : `${date} ${time}`;
    }
    case 0x0b:
    case 0x13: {
      const len = r.u8();
      const b = new Reader(r.bytes(len));
      if (len === 0) return '00:00:00';
      const neg = b.u8() === 1;
      const days = b.u32();
      const h = b.u8() + days * 24;
      const t = `${neg ? '-' : ''}${pad(h)}:${pad(b.u8())}:${pad(b.u8())}`;
      return len >= 12 ? `${t}.${pad(b.u32(), 6)}` : t;
    }
    default: {
      if (!(type in FIELD_LENENC)) return undefined;
      const v = r.lenencBytes();
      return v === null ? null : printable(v, MAX_VALUE);
    }
  }
}

/** Types sent as string<lenenc> in the binary protocol. */
const FIELD_LENENC: Record<number, true> = {
  0: true,
  15: true,
  16: true,
  20: true,
  242: true,
  245: true,
  246: true,
  247: true,
  248: true,
  249: true,
  250: true,
  251: true,
  252: true,
  253: true,
  254: true,
  255: true,
};

export interface BoundParam {
  name?: string;
  type: string;
  value: string | number | null;
}

/**
 * Parameter values as COM_STMT_EXECUTE and COM_QUERY's query attributes carry them: a NULL bitmap,
 * new-params-bound flag, [types (and names with query attributes)], values. `types` are those bound
 * earlier (re-executions may leave them out). Returns the parameters (at most 64) and the types
 * used, or null when the types are unknown.
 */
export function boundParams(
  r: Reader,
  count: number,
  names: boolean,
  earlierTypes: readonly number[] | null,
): { params: BoundParam[]; types: number[]; namesSeen: string[] } | null {
  const bitmap = r.bytes((count + 7) >> 3);
  const bound = r.u8();
  let types: number[] | null = null;
  const namesSeen: string[] = [];
  if (bound === 1) {
    types = [];
    for (let i = 0; i < count && !r.short; i++) {
      types.push(r.u16());
      if (names) namesSeen.push(text(r.lenencBytes() ?? new Uint8Array(0), 64));
    }
  } else if (earlierTypes && earlierTypes.length === count) {
    types = [...earlierTypes];
  }
  if (r.short || !types) return null;
  const params: BoundParam[] = [];
  for (let i = 0; i < count; i++) {
    const t = types[i]!;
    const isNull = (bitmap[i >> 3]! >> (i & 7)) & 1;
    let value: string | number | null = null;
    if (!isNull) {
      const v = binaryValue(r, t & 0xff, (t & 0x8000) !== 0);
      if (v === undefined || r.short) break;
      value = v;
    }
    if (i < 64) {
      const p: BoundParam = { type: fieldTypeName(t & 0xff), value };
      if (namesSeen[i]) p.name = namesSeen[i];
      params.push(p);
    }
  }
  return { params, types, namesSeen };
}
