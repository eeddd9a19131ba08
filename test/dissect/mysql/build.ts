/**
 * Builders that write MySQL packets byte by byte from the specification (MySQL protocol: Basic
 * Data Types, Connection Phase, Generic Response Packets, Text and Binary Resultsets, Prepared
 * Statements), for unit tests and for the synthetic login the tshark test gives tshark.
 */

export const CAPS = {
  LONG_PASSWORD: 1,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  COMPRESS: 0x20,
  LOCAL_FILES: 0x80,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  SESSION_TRACK: 0x800000,
  DEPRECATE_EOF: 0x1000000,
  QUERY_ATTRIBUTES: 0x8000000,
} as const;

/** A usual modern client: 4.1 protocol, plugin auth, transactions. */
export const BASE_CAPS =
  CAPS.LONG_PASSWORD |
  CAPS.LONG_FLAG |
  CAPS.PROTOCOL_41 |
  CAPS.TRANSACTIONS |
  CAPS.SECURE_CONNECTION |
  CAPS.MULTI_STATEMENTS |
  CAPS.MULTI_RESULTS |
  CAPS.PLUGIN_AUTH;

export function bytes(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === 'string'
      ? new Uint8Array(Buffer.from(p, 'utf8'))
      : p instanceof Uint8Array
        ? p
        : Uint8Array.from(p),
  );
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export const u16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
export const u24 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff];
export const u32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];

/** int<lenenc>. */
export function lenenc(v: number): number[] {
  if (v < 0xfb) return [v];
  if (v < 0x10000) return [0xfc, ...u16(v)];
  if (v < 0x1000000) return [0xfd, ...u24(v)];
  return [0xfe, ...u32(v), 0, 0, 0, 0];
}

/** string<lenenc>. */
export function lstr(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? bytes(s) : s;
  return bytes(lenenc(b.length), b);
}

/** A packet: 3-byte length, sequence id, payload (one packet; longer payloads: `packets`). */
export function packet(seq: number, payload: Uint8Array): Uint8Array {
  return bytes(u24(payload.length), [seq & 0xff], payload);
}

/** A payload cut into 0xffffff-byte packets, the last one shorter (Sending More Than 16Mb). */
export function packets(seq: number, payload: Uint8Array, max = 0xffffff): Uint8Array {
  const out: Uint8Array[] = [];
  let at = 0;
  let s = seq;
  for (;;) {
    const n = Math.min(max, payload.length - at);
    out.push(bytes(u24(n === max ? 0xffffff : n), [s++ & 0xff], payload.subarray(at, at + n)));
    at += n;
    if (n < max) break;
  }
  return bytes(...out);
}

export interface GreetingOptions {
  version?: string;
  connectionId?: number;
  caps?: number;
  plugin?: string;
  /** MariaDB extended capabilities (sent when bit 0 of caps is clear). */
  mariadbCaps?: number;
}

/** Protocol::HandshakeV10. */
export function greeting(o: GreetingOptions = {}): Uint8Array {
  const caps = o.caps ?? BASE_CAPS | CAPS.DEPRECATE_EOF | CAPS.COMPRESS | CAPS.SSL;
  const plugin = o.plugin ?? 'mysql_native_password';
  return bytes(
    [10],
    o.version ?? '8.0.36',
    [0],
    u32(o.connectionId ?? 42),
    [1, 2, 3, 4, 5, 6, 7, 8],
    [0],
    u16(caps & 0xffff),
    [33],
    u16(2),
    u16(caps >>> 16),
    [21],
    [0, 0, 0, 0, 0, 0],
    u32(o.mariadbCaps ?? 0),
    [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0],
    plugin,
    [0],
  );
}

export interface LoginOptions {
  caps?: number;
  user?: string;
  schema?: string | null;
  auth?: Uint8Array;
  plugin?: string;
  attributes?: Record<string, string>;
}

/** Protocol::HandshakeResponse41. */
export function handshakeResponse(o: LoginOptions = {}): Uint8Array {
  let caps = o.caps ?? BASE_CAPS | CAPS.DEPRECATE_EOF;
  if (o.schema) caps |= CAPS.CONNECT_WITH_DB;
  if (o.attributes) caps |= CAPS.CONNECT_ATTRS;
  const auth = o.auth ?? new Uint8Array(20).fill(0xaa);
  const attrs = o.attributes
    ? (() => {
        const body = bytes(...Object.entries(o.attributes).flatMap(([k, v]) => [lstr(k), lstr(v)]));
        return bytes(lenenc(body.length), body);
      })()
    : new Uint8Array(0);
  return bytes(
    u32(caps),
    u32(16 * 1024 * 1024),
    [33],
    new Uint8Array(23),
    o.user ?? 'root',
    [0],
    [auth.length],
    auth,
    o.schema ? bytes(o.schema, [0]) : new Uint8Array(0),
    o.plugin ?? 'mysql_native_password',
    [0],
    attrs,
  );
}

/** Protocol::SSLRequest. */
export function sslRequest(caps = BASE_CAPS | CAPS.SSL): Uint8Array {
  return bytes(u32(caps), u32(16 * 1024 * 1024), [33], new Uint8Array(23));
}

/** OK_Packet (4.1). `header` 0xfe for the OK that ends a result set under CLIENT_DEPRECATE_EOF. */
export function ok(
  o: {
    affected?: number;
    insertId?: number;
    status?: number;
    warnings?: number;
    header?: number;
    info?: string;
  } = {},
): Uint8Array {
  return bytes(
    [o.header ?? 0],
    lenenc(o.affected ?? 0),
    lenenc(o.insertId ?? 0),
    u16(o.status ?? 2),
    u16(o.warnings ?? 0),
    o.info ?? '',
  );
}

/** ERR_Packet (4.1, with SQL state). */
export function err(code: number, sqlState: string, message: string): Uint8Array {
  return bytes([0xff], u16(code), '#', sqlState, message);
}

/** EOF_Packet (4.1). */
export function eof(status = 2, warnings = 0): Uint8Array {
  return bytes([0xfe], u16(warnings), u16(status));
}

/** Protocol::ColumnDefinition41. */
export function columnDef(name: string, type = 0xfd, table = 't', flags = 0): Uint8Array {
  return bytes(
    lstr('def'),
    lstr('test'),
    lstr(table),
    lstr(table),
    lstr(name),
    lstr(name),
    [0x0c],
    u16(33),
    u32(255),
    [type],
    u16(flags),
    [0],
    [0, 0],
  );
}

/** A text row: lenenc strings, null as 0xfb. */
export function textRow(values: (string | null)[]): Uint8Array {
  return bytes(...values.map((v) => (v === null ? Uint8Array.of(0xfb) : lstr(v))));
}

/** COM_STMT_PREPARE_OK. */
export function prepareOk(id: number, columns: number, params: number, warnings = 0): Uint8Array {
  return bytes([0], u32(id), u16(columns), u16(params), [0], u16(warnings));
}

/**
 * A text result set's packets from sequence id `seq` on: column count, definitions, [EOF], rows,
 * and the terminator (EOF, or an OK with a 0xfe header under CLIENT_DEPRECATE_EOF).
 */
export function resultSet(
  columns: string[],
  rows: (string | null)[][],
  o: { deprecateEof?: boolean; seq?: number; status?: number } = {},
): Uint8Array {
  let seq = o.seq ?? 1;
  const parts: Uint8Array[] = [packet(seq++, Uint8Array.from(lenenc(columns.length)))];
  for (const c of columns) parts.push(packet(seq++, columnDef(c)));
  if (!o.deprecateEof) parts.push(packet(seq++, eof()));
  for (const r of rows) parts.push(packet(seq++, textRow(r)));
  parts.push(packet(seq++, o.deprecateEof ? ok({ header: 0xfe, status: o.status }) : eof(o.status ?? 2)));
  return bytes(...parts);
}

/** A command packet (sequence id 0). */
export function command(code: number, body: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  return packet(0, bytes([code], body));
}

export const query = (sql: string): Uint8Array => command(0x03, sql);
