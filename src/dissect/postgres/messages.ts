/**
 * PostgreSQL Frontend/Backend Protocol 3.x wire codes (PostgreSQL 15+ documentation, chapter 55,
 * "Message Formats"): the type byte of each message, per direction, with the ASCII letter beside
 * it, and the codes of the untyped startup-phase requests.
 */

/** Frontend (client to server) message types. */
export const F = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share 'p'. */
  Password: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Backend (server to client) message types. */
export const B = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  CopyBothResponse: 0x57, // 'W'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

const FRONTEND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(F).map(([name, code]) => [code, name]),
);
const BACKEND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(B).map(([name, code]) => [code, name]),
);

/** The message's name, or null for a type byte the direction does not use. */
export function messageName(dir: 0 | 1, type: number): string | null {
  return (dir === 0 ? FRONTEND_NAMES[type] : BACKEND_NAMES[type]) ?? null;
}

/** Untyped startup-phase requests: the int32 after the length (§55.7 StartupMessage etc.). */
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
/** StartupMessage carries the protocol version, major 3 in the high 16 bits (3.0 = 196608). */
export const PROTOCOL_MAJOR = 3;

/** Authentication request codes (the int32 after 'R'). */
export const AUTH_NAMES: Record<number, string> = {
  0: 'Ok',
  2: 'KerberosV5',
  3: 'CleartextPassword',
  5: 'MD5Password',
  7: 'GSS',
  8: 'GSSContinue',
  9: 'SSPI',
  10: 'SASL',
  11: 'SASLContinue',
  12: 'SASLFinal',
};

/** ErrorResponse / NoticeResponse field codes (§55.8 "Error and Notice Message Fields"). */
export const ERROR_FIELDS: Record<number, string> = {
  83: 'severityLocalized', // 'S'
  86: 'severity', // 'V' (never localized, 9.6+)
  67: 'code', // 'C' SQLSTATE
  77: 'message', // 'M'
  68: 'detail', // 'D'
  72: 'hint', // 'H'
  80: 'position', // 'P'
  112: 'internalPosition', // 'p'
  113: 'internalQuery', // 'q'
  87: 'where', // 'W'
  115: 'schema', // 's'
  116: 'table', // 't'
  99: 'column', // 'c'
  100: 'dataType', // 'd'
  110: 'constraint', // 'n'
  70: 'file', // 'F'
  76: 'line', // 'L'
  82: 'routine', // 'R'
};

/** ReadyForQuery's transaction status byte. */
export const TRANSACTION_STATUS: Record<number, string> = {
  73: 'idle', // 'I'
  84: 'transaction', // 'T'
  69: 'failed', // 'E'
};

/** The length word counts itself; a message body is `length - 4` bytes. */
export const LENGTH_SIZE = 4;
/** Type byte and length. */
export const HEADER_SIZE = 5;
/**
 * Longest message believed when looking for a message start without context (detection, resync):
 * real messages can be longer (a 1 GB bytea in a DataRow), but a header claiming more than this is
 * far more likely to be some other protocol's bytes.
 */
export const PLAUSIBLE_LENGTH = 64 << 20;
/** PostgreSQL's own limit on a startup-phase packet (MAX_STARTUP_PACKET_LENGTH in pqcomm.h). */
export const MAX_STARTUP_LENGTH = 10000;
