/**
 * Recognising MySQL from the first bytes of a direction, and finding a message start again after a
 * gap. A connection is claimed on what only MySQL sends: the server's Initial Handshake (protocol 10,
 * a printable version string, the filler byte) or its refusal (an ERR packet before any request);
 * the client's HandshakeResponse41 or SSLRequest (23 filler bytes of zero); or, on a connection
 * picked up mid-stream, a command packet whose length, sequence id 0, command byte and contents fit
 * together — as a plain packet, or wrapped in the compression protocol's 7-byte header.
 * Ports are only hints, so these checks must turn down HTTP, TLS and other binary protocols.
 */
import type { Detection } from '../dissector.js';
import { CLIENT, COM, MAX_PACKET_LENGTH } from './protocol.js';

const u24 = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);

/** Bytes of a command's text that must read as text before a split packet is claimed. */
const TEXT_PROBE = 12;

function isTextByte(x: number): boolean {
  return x >= 0x20 ? x !== 0x7f : x === 0x09 || x === 0x0a || x === 0x0d;
}

/** `b` reads as the start of text (printable ASCII, whitespace or UTF-8) over its first `n` bytes. */
function looksLikeText(b: Uint8Array, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (!isTextByte(b[i]!)) return false;
  return true;
}

export type Plausibility = 'yes' | 'no' | 'more';

/**
 * Whether `p` (a payload of `len` bytes, of which `p` holds the first ones) is a command a client
 * sends with sequence id 0 (MySQL protocol: Text Protocol, Prepared Statements, Utility Commands).
 */
export function plausibleCommand(p: Uint8Array, len: number): Plausibility {
  if (len < 1 || p.length < 1) return len < 1 ? 'no' : 'more';
  const cmd = p[0]!;
  const whole = p.length >= len;
  const fixed = (want: number): Plausibility => (len === want ? 'yes' : 'no');
  switch (cmd) {
    case COM.QUIT:
    case COM.STATISTICS:
    case COM.PROCESS_INFO:
    case COM.DEBUG:
    case COM.PING:
    case COM.RESET_CONNECTION:
      return fixed(1);
    case COM.PROCESS_KILL:
    case COM.STMT_CLOSE:
    case COM.STMT_RESET:
      return fixed(5);
    case COM.STMT_FETCH:
      return fixed(9);
    case COM.REFRESH:
      return fixed(2);
    case COM.SET_OPTION:
      if (len !== 3) return 'no';
      return p.length < 3 ? 'more' : p[2] === 0 && p[1]! <= 1 ? 'yes' : 'no';
    case COM.SHUTDOWN:
      return len <= 2 ? 'yes' : 'no';
    case COM.INIT_DB:
    case COM.CREATE_DB:
    case COM.DROP_DB: {
      if (len < 2 || len > 1024) return 'no';
      if (!whole) return 'more';
      return looksLikeText(p, 1, len) ? 'yes' : 'no';
    }
    case COM.FIELD_LIST: {
      if (len < 3 || len > 4096) return 'no';
      if (!whole) return 'more';
      const nul = p.indexOf(0, 1);
      return nul > 1 && looksLikeText(p, 1, nul) ? 'yes' : 'no';
    }
    case COM.CHANGE_USER: {
      if (len < 2) return 'no';
      if (!whole && p.length < 2 + TEXT_PROBE) return 'more';
      const nul = p.indexOf(0, 1);
      return nul >= 1 && looksLikeText(p, 1, nul) ? 'yes' : 'no';
    }
    case COM.QUERY:
    case COM.STMT_PREPARE:
      return plausibleStatement(p, len, cmd === COM.QUERY);
    case COM.STMT_EXECUTE: {
      if (len < 10) return 'no';
      if (p.length < 10) return 'more';
      // flags: a cursor type (0-4) with MySQL's PARAMETER_COUNT_AVAILABLE (8) or MariaDB's
      // "return all insert ids" (128); iteration_count: always 1.
      const flags = p[5]!;
      if ((flags & ~0x8f) !== 0 || (flags & 7) > 4) return 'no';
      return p[6] === 1 && p[7] === 0 && p[8] === 0 && p[9] === 0 ? 'yes' : 'no';
    }
    case COM.STMT_SEND_LONG_DATA:
      return len >= 7 ? 'yes' : 'no';
    case COM.BINLOG_DUMP:
      return len >= 11 ? 'yes' : 'no';
    case COM.BINLOG_DUMP_GTID:
      return len >= 19 ? 'yes' : 'no';
    case COM.REGISTER_SLAVE:
      return len >= 18 ? 'yes' : 'no';
    case COM.STMT_BULK_EXECUTE:
      return len >= 7 ? 'yes' : 'no';
    default:
      return 'no';
  }
}

/**
 * COM_QUERY and COM_STMT_PREPARE carry statement text; a COM_QUERY may first carry query attributes
 * (CLIENT_QUERY_ATTRIBUTES: a parameter count, then a parameter set count that is always 1).
 */
function plausibleStatement(p: Uint8Array, len: number, query: boolean): Plausibility {
  if (len < 2) return 'no';
  if (p.length < 2) return 'more';
  let start = 1;
  if (query && !isTextByte(p[1]!)) {
    if (p[1]! >= 0xfb) return 'no';
    if (p.length < 3) return 'more';
    if (p[2] !== 1) return 'no';
    if (p[1] !== 0) return p.length >= 4 ? 'yes' : 'more'; // attributes follow: their types vary
    start = 3;
  }
  const visible = Math.min(p.length, len);
  const probe = Math.min(len, start + TEXT_PROBE);
  if (visible < probe) return 'more';
  return looksLikeText(p, start, probe) && /[A-Za-z(/]/.test(String.fromCharCode(...p.subarray(start, probe)))
    ? 'yes'
    : 'no';
}

/**
 * HandshakeResponse41 or SSLRequest (MySQL protocol: Connection Phase): sequence id 1, CLIENT_PROTOCOL_41,
 * a max packet size, a character set and 23 filler bytes of zero (MariaDB puts its extended
 * capabilities in the last 4).
 */
export function plausibleHandshakeResponse(b: Uint8Array): Plausibility {
  if (b.length < 4) return 'more';
  const len = u24(b, 0);
  if (b[3] !== 1 || len < 32 || len > 64 * 1024) return 'no';
  if (b.length < 4 + 32) return 'more';
  const caps = b[4]! | (b[5]! << 8);
  if ((caps & CLIENT.PROTOCOL_41) === 0) return 'no';
  for (let i = 4 + 9; i < 4 + 28; i++) if (b[i] !== 0) return 'no';
  return 'yes';
}

/** The same check on a payload (the packet header already read). */
export function isHandshakeResponsePayload(p: Uint8Array, length: number): boolean {
  if (length < 32 || p.length < 32 || (p[1]! & (CLIENT.PROTOCOL_41 >> 8)) === 0) return false;
  for (let i = 9; i < 28; i++) if (p[i] !== 0) return false;
  return true;
}

/** A plain command packet at the start of `b`, with what follows it (if anything) fitting too. */
export function plausibleCommandPacket(b: Uint8Array): Plausibility {
  if (b.length < 5) return b.length >= 4 && (b[3] !== 0 || u24(b, 0) === 0) ? 'no' : 'more';
  const len = u24(b, 0);
  if (b[3] !== 0 || len === 0 || len >= MAX_PACKET_LENGTH) return 'no';
  const verdict = plausibleCommand(b.subarray(4, 4 + len), len);
  if (verdict !== 'yes') return verdict;
  // Usually a command is alone in its segment; if something follows, it must start a packet too.
  const next = 4 + len;
  if (b.length > next && b.length - next >= 4) {
    const nlen = u24(b, next);
    if (nlen === 0 || nlen >= MAX_PACKET_LENGTH) return 'no';
  }
  return 'yes';
}

/**
 * A compressed packet (MySQL protocol: Compressed Packet) with sequence id 0 that carries a command:
 * stored as is (uncompressed length 0) with a plausible command inside, or a zlib stream (RFC 1950
 * §2.2: CMF 0x78, FCHECK making CMF·256+FLG a multiple of 31).
 */
export function plausibleCompressedCommand(b: Uint8Array): Plausibility {
  if (b.length < 7) return 'more';
  const clen = u24(b, 0);
  const ulen = u24(b, 4);
  if (b[3] !== 0 || clen === 0) return 'no';
  if (ulen === 0) {
    if (clen < 5) return 'no';
    const inner = b.subarray(7, 7 + clen);
    if (inner.length >= 4 && 4 + u24(inner, 0) > clen) return 'no';
    return plausibleCommandPacket(inner);
  }
  if (b.length < 9) return 'more';
  return b[7] === 0x78 && ((b[7]! << 8) | b[8]!) % 31 === 0 && ulen > clen - 16 ? 'yes' : 'no';
}

/** The server's Initial Handshake v10, or an ERR packet refusing the connection before it. */
export function plausibleGreeting(b: Uint8Array): Plausibility {
  if (b.length < 5) return 'more';
  const len = u24(b, 0);
  if (b[3] !== 0 || len < 3 || len > 4096) return 'no';
  if (b[4] === 0x0a) {
    if (len < 34) return 'no';
    // A printable version string, NUL-terminated, then thread id (4) and salt (8) and a 0 filler.
    const end = Math.min(b.length, 4 + len);
    let i = 5;
    while (i < end && b[i] !== 0) {
      if (b[i]! < 0x20 || b[i]! > 0x7e) return 'no';
      i++;
    }
    if (i >= end) return end < 4 + len && i - 5 < 64 ? 'more' : 'no';
    if (i === 5) return 'no';
    const filler = i + 1 + 4 + 8;
    if (filler >= 4 + len) return 'no';
    if (filler >= b.length) return 'more';
    return b[filler] === 0 ? 'yes' : 'no';
  }
  if (b[4] === 0xff) {
    // Before the handshake an ERR has no SQL state marker: errno, then the message.
    if (b.length < 4 + len) return len < 512 ? 'more' : 'no';
    const errno = b[5]! | (b[6]! << 8);
    if (errno < 1000 || errno >= 5000) return 'no';
    return looksLikeText(b, 7, 4 + len) ? 'yes' : 'no';
  }
  return 'no';
}

export type ClientStart = 'command' | 'compressed' | 'handshake';

/** What a client direction starts with, or why it cannot tell yet. */
export function classifyClientStart(b: Uint8Array): ClientStart | 'more' | 'no' {
  const plain = plausibleCommandPacket(b);
  if (plain === 'yes') return 'command';
  const hs = plausibleHandshakeResponse(b);
  if (hs === 'yes') return 'handshake';
  const zip = plausibleCompressedCommand(b);
  if (zip === 'yes') return 'compressed';
  return plain === 'more' || hs === 'more' || zip === 'more' ? 'more' : 'no';
}

/**
 * Mid-stream server bytes (the middle of a response) cannot be recognised, but they must not rule
 * MySQL out before the client speaks: a packet header of a plausible size asks for more.
 */
function serverMidStream(b: Uint8Array): Detection {
  if (b.length < 4) return 'more';
  const len = u24(b, 0);
  return len > 0 && (b[2] === 0 || len === MAX_PACKET_LENGTH) ? 'more' : 'no';
}

/**
 * Which side a direction is, from its first bytes: the server (its greeting), the client (a login or
 * a command, plain or compressed), or not yet known ('more') or not at a message start ('no').
 * Mid-stream, the flow tracker guesses the client by the higher port, so either direction may turn
 * out to be either side.
 */
export function sideOf(b: Uint8Array): 'server' | 'client' | 'compressed-client' | 'more' | 'no' {
  const g = plausibleGreeting(b);
  if (g === 'yes') return 'server';
  const c = classifyClientStart(b);
  if (c === 'compressed') return 'compressed-client';
  if (c === 'command' || c === 'handshake') return 'client';
  return c === 'more' || g === 'more' ? 'more' : 'no';
}

export function detectMysql(_dir: 0 | 1, b: Uint8Array): Detection {
  if (plausibleGreeting(b) === 'yes') return 'yes';
  const c = classifyClientStart(b);
  if (c === 'command' || c === 'compressed' || c === 'handshake') return 'yes';
  if (c === 'more' || plausibleGreeting(b) === 'more') return 'more';
  return serverMidStream(b);
}

/**
 * After a client command, the server's next segment should start its response: sequence id
 * `seq`, and a first byte that begins OK, ERR, EOF, a LOCAL INFILE request, a column count or
 * auth data. Used to pick the server direction up again after a gap.
 */
export function plausibleResponseStart(b: Uint8Array, seq: number): boolean {
  if (b.length < 5) return false;
  const len = u24(b, 0);
  return len > 0 && b[3] === seq && (len < 0x10000 || len === MAX_PACKET_LENGTH);
}

/** The same, wrapped in the compression protocol (the inner packet checked when stored as is). */
export function plausibleCompressedResponseStart(b: Uint8Array, seq: number): boolean {
  if (b.length < 7) return false;
  const clen = u24(b, 0);
  const ulen = u24(b, 4);
  if (clen === 0) return false;
  if (ulen === 0) return plausibleResponseStart(b.subarray(7, 7 + clen), seq);
  return b.length >= 9 && b[7] === 0x78 && ((b[7]! << 8) | b[8]!) % 31 === 0;
}
