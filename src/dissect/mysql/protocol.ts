/**
 * The MySQL Client/Server protocol's code tables (dev.mysql.com, "Client/Server Protocol"; MariaDB's
 * "Client/Server Protocol" for its extensions): commands, capability flags, server status flags,
 * column types, and the first bytes that tell response packets apart.
 */

/** MySQL protocol: Text Protocol and Prepared Statements, the command byte of each request. */
export const COM = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  CLONE: 0x20,
  /** MariaDB: COM_STMT_BULK_EXECUTE (array binding). */
  STMT_BULK_EXECUTE: 0xfa,
} as const;

const COMMAND_NAMES = new Map<number, string>(Object.entries(COM).map(([name, code]) => [code, name]));

/** The command's name without `COM_` (`QUERY`, `STMT_PREPARE`...), or `COM_0x2a` for an unknown code. */
export function commandName(code: number): string {
  return COMMAND_NAMES.get(code) ?? `COM_0x${code.toString(16).padStart(2, '0')}`;
}

/**
 * How the server answers a command (MySQL protocol: each command's "Response" section).
 * - `resultset`: OK, ERR, a LOCAL INFILE request or result sets (COM_QUERY, COM_STMT_EXECUTE...);
 * - `prepare`: COM_STMT_PREPARE_OK and its parameter and column definitions, or ERR;
 * - `fieldlist`: column definitions until EOF (COM_FIELD_LIST);
 * - `rows`: rows until EOF (COM_STMT_FETCH);
 * - `auth`: an authentication exchange until OK or ERR (COM_CHANGE_USER);
 * - `string`: one packet of text, or ERR (COM_STATISTICS);
 * - `stream`: binlog events until EOF or ERR (COM_BINLOG_DUMP);
 * - `simple`: one OK, EOF or ERR;
 * - `none`: no answer (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA).
 */
export type ResponseKind =
  | 'resultset'
  | 'prepare'
  | 'fieldlist'
  | 'rows'
  | 'auth'
  | 'string'
  | 'stream'
  | 'simple'
  | 'none';

export function responseKind(code: number): ResponseKind {
  switch (code) {
    case COM.QUERY:
    case COM.STMT_EXECUTE:
    case COM.PROCESS_INFO:
    case COM.STMT_BULK_EXECUTE:
      return 'resultset';
    case COM.STMT_PREPARE:
      return 'prepare';
    case COM.FIELD_LIST:
      return 'fieldlist';
    case COM.STMT_FETCH:
      return 'rows';
    case COM.CHANGE_USER:
      return 'auth';
    case COM.STATISTICS:
      return 'string';
    case COM.BINLOG_DUMP:
    case COM.BINLOG_DUMP_GTID:
      return 'stream';
    case COM.QUIT:
    case COM.STMT_CLOSE:
    case COM.STMT_SEND_LONG_DATA:
      return 'none';
    default:
      return 'simple';
  }
}

/** MySQL protocol: Capabilities Flags. The values above 2^31 are MariaDB's extended capabilities. */
export const CLIENT = {
  /** MySQL: CLIENT_LONG_PASSWORD. MariaDB reads it as CLIENT_MYSQL: when clear, the extended capabilities are sent. */
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 0x10,
  COMPRESS: 0x20,
  ODBC: 0x40,
  LOCAL_FILES: 0x80,
  IGNORE_SPACE: 0x100,
  PROTOCOL_41: 0x200,
  INTERACTIVE: 0x400,
  SSL: 0x800,
  IGNORE_SIGPIPE: 0x1000,
  TRANSACTIONS: 0x2000,
  RESERVED: 0x4000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  CAN_HANDLE_EXPIRED_PASSWORDS: 0x400000,
  SESSION_TRACK: 0x800000,
  DEPRECATE_EOF: 0x1000000,
  OPTIONAL_RESULTSET_METADATA: 0x2000000,
  ZSTD_COMPRESSION_ALGORITHM: 0x4000000,
  QUERY_ATTRIBUTES: 0x8000000,
  MULTI_FACTOR_AUTHENTICATION: 0x10000000,
  CAPABILITY_EXTENSION: 0x20000000,
  SSL_VERIFY_SERVER_CERT: 0x40000000,
  REMEMBER_OPTIONS: 0x80000000,
} as const;

/** MariaDB: extended capabilities (the upper 32 bits), as bits of the 4-byte extension. */
export const MARIADB_CLIENT = {
  PROGRESS: 1,
  COM_MULTI: 2,
  STMT_BULK_OPERATIONS: 4,
  EXTENDED_METADATA: 8,
  CACHE_METADATA: 16,
  BULK_UNIT_RESULTS: 32,
} as const;

/** Names of the set capability flags, for the entry (lower case, without `CLIENT_`). */
export function capabilityNames(caps: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(CLIENT))
    if ((caps & bit) >>> 0 === bit) out.push(name.toLowerCase());
  return out;
}

export function mariadbCapabilityNames(ext: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(MARIADB_CLIENT))
    if ((ext & bit) === bit) out.push(name.toLowerCase());
  return out;
}

/** MySQL protocol: SERVER_STATUS flags of OK and EOF packets (the ones the dissector acts on). */
export const SERVER_STATUS = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
  CURSOR_EXISTS: 0x0040,
  LAST_ROW_SENT: 0x0080,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

/** First byte of a response packet (MySQL protocol: Generic Response Packets). */
export const OK_HEADER = 0x00;
export const AUTH_MORE_DATA = 0x01;
export const LOCAL_INFILE_HEADER = 0xfb;
export const EOF_HEADER = 0xfe;
export const ERR_HEADER = 0xff;
/** MariaDB: an ERR packet with this code is a progress report, not an error (MARIADB_CLIENT_PROGRESS). */
export const PROGRESS_ERRNO = 0xffff;
/** A packet of this length continues in the next one (MySQL protocol: Sending More Than 16Mb). */
export const MAX_PACKET_LENGTH = 0xffffff;

/** MySQL protocol: Column Types (enum_field_types). */
export const FIELD_TYPES: Record<number, string> = {
  0: 'DECIMAL',
  1: 'TINY',
  2: 'SHORT',
  3: 'LONG',
  4: 'FLOAT',
  5: 'DOUBLE',
  6: 'NULL',
  7: 'TIMESTAMP',
  8: 'LONGLONG',
  9: 'INT24',
  10: 'DATE',
  11: 'TIME',
  12: 'DATETIME',
  13: 'YEAR',
  14: 'NEWDATE',
  15: 'VARCHAR',
  16: 'BIT',
  17: 'TIMESTAMP2',
  18: 'DATETIME2',
  19: 'TIME2',
  20: 'TYPED_ARRAY',
  242: 'VECTOR',
  243: 'INVALID',
  244: 'BOOL',
  245: 'JSON',
  246: 'NEWDECIMAL',
  247: 'ENUM',
  248: 'SET',
  249: 'TINY_BLOB',
  250: 'MEDIUM_BLOB',
  251: 'LONG_BLOB',
  252: 'BLOB',
  253: 'VAR_STRING',
  254: 'STRING',
  255: 'GEOMETRY',
};

export function fieldTypeName(t: number): string {
  return FIELD_TYPES[t] ?? `TYPE_${t}`;
}
