/**
 * RESP by content. A client opens with an array of bulk strings (`*N\r\n$L\r\n`, the only form
 * clients send, spec "Sending commands to a Redis server") or an inline command (a known command
 * name as the first word). A server's first bytes are a well-formed RESP value header.
 *
 * A few first lines are shared with NATS (`PING`, `+OK`, `-ERR '...'`): they decide nothing, and the
 * lines after them (or the other direction) do. HTTP request lines are turned down even when their
 * method is also a Redis command (`GET / HTTP/1.1`).
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import { isTypeByte, parseLength, T_ARRAY, T_BULK } from './resp.js';

/** Lines looked at before giving up on an ambiguous start. */
const MAX_LINES = 8;
/** A first line longer than this is not a command or reply header we recognise. */
const MAX_LINE = 1024;
/** Server bytes that start no RESP value may be a reply cut by the capture's start: wait this long. */
const MID_STREAM_WAIT = 4096;

/**
 * Command names accepted as the first word of an inline command (redis.io command reference;
 * common ones: an unknown word is not taken as Redis).
 */
export const INLINE_COMMANDS = new Set(
  (
    'APPEND AUTH BGREWRITEAOF BGSAVE BITCOUNT BITFIELD BITOP BITPOS BLMOVE BLMPOP BLPOP BRPOP ' +
    'BRPOPLPUSH BZMPOP BZPOPMAX BZPOPMIN CLIENT CLUSTER COMMAND CONFIG COPY DBSIZE DEBUG DECR DECRBY ' +
    'DEL DISCARD DUMP ECHO EVAL EVALSHA EXEC EXISTS EXPIRE EXPIREAT EXPIRETIME FCALL FLUSHALL ' +
    'FLUSHDB FUNCTION GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GET GETDEL GETEX GETRANGE GETSET HDEL ' +
    'HELLO HEXISTS HGET HGETALL HINCRBY HINCRBYFLOAT HKEYS HLEN HMGET HMSET HSCAN HSET HSETNX HSTRLEN ' +
    'HVALS INCR INCRBY INCRBYFLOAT INFO KEYS LASTSAVE LATENCY LINDEX LINSERT LLEN LMOVE LMPOP LOLWUT ' +
    'LPOP LPOS LPUSH LPUSHX LRANGE LREM LSET LTRIM MEMORY MGET MIGRATE MONITOR MOVE MSET MSETNX ' +
    'MULTI OBJECT PERSIST PEXPIRE PEXPIREAT PFADD PFCOUNT PFMERGE PING PSETEX PSUBSCRIBE PTTL ' +
    'PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY READONLY READWRITE RENAME RENAMENX REPLICAOF RESET ' +
    'RESTORE ROLE RPOP RPOPLPUSH RPUSH RPUSHX SADD SAVE SCAN SCARD SCRIPT SDIFF SDIFFSTORE SELECT SET ' +
    'SETEX SETNX SETRANGE SHUTDOWN SINTER SINTERCARD SINTERSTORE SISMEMBER SLAVEOF SLOWLOG SMEMBERS ' +
    'SMISMEMBER SMOVE SORT SPOP SPUBLISH SRANDMEMBER SREM SSCAN SSUBSCRIBE STRLEN SUBSCRIBE SUNION ' +
    'SUNIONSTORE SUNSUBSCRIBE SWAPDB SYNC TIME TOUCH TTL TYPE UNLINK UNSUBSCRIBE UNWATCH WAIT WATCH ' +
    'XACK XADD XAUTOCLAIM XCLAIM XDEL XGROUP XINFO XLEN XPENDING XRANGE XREAD XREADGROUP XREVRANGE ' +
    'XTRIM ZADD ZCARD ZCOUNT ZDIFF ZINCRBY ZINTER ZLEXCOUNT ZMPOP ZMSCORE ZPOPMAX ZPOPMIN ZRANDMEMBER ' +
    'ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREM ZREVRANGE ZREVRANK ZSCAN ZSCORE ZUNION ZUNIONSTORE'
  ).split(' '),
);

interface Line {
  /** Index of the line's first byte after the type byte, and of its CR (or LF), and the next line. */
  from: number;
  end: number;
  next: number;
}

/** The line starting at `at`: 'more' when its LF is not there yet, null when too long. */
function lineAt(b: Uint8Array, at: number): Line | 'more' | null {
  const lf = b.indexOf(0x0a, at);
  if (lf < 0) return b.length - at > MAX_LINE ? null : 'more';
  if (lf - at > MAX_LINE) return null;
  const end = lf > at && b[lf - 1] === 0x0d ? lf - 1 : lf;
  return { from: at, end, next: lf + 1 };
}

function text(b: Uint8Array, from: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, end - from).toString('latin1');
}

/** A client's first bytes. */
export function detectClient(b: Uint8Array): Detection {
  let at = 0;
  for (let n = 0; n < MAX_LINES; n++) {
    if (at >= b.length) return 'more';
    if (b[at] === T_ARRAY) return multibulkStart(b, at);
    const line = lineAt(b, at);
    if (line === 'more') return inlinePrefixPossible(b, at) ? 'more' : 'no';
    if (line === null) return 'no';
    const verdict = inlineLine(text(b, line.from, line.end));
    if (verdict !== 'more') return verdict;
    at = line.next;
  }
  return 'no';
}

/** `*N\r\n$L\r\n`: an array of bulk strings, as every client library sends. */
function multibulkStart(b: Uint8Array, at: number): Detection {
  const head = lineAt(b, at);
  if (head === 'more') return b.length - at < 16 ? 'more' : 'no';
  if (head === null || b[head.end] !== 0x0d) return 'no';
  const count = parseLength(b.subarray(head.from + 1, head.end));
  if (count === null || count < 1 || count > 1 << 20) return 'no';
  if (head.next >= b.length) return 'more';
  if (b[head.next] !== T_BULK) return 'no';
  const first = lineAt(b, head.next);
  if (first === 'more') return b.length - head.next < 16 ? 'more' : 'no';
  if (first === null || b[first.end] !== 0x0d) return 'no';
  const len = parseLength(b.subarray(first.from + 1, first.end));
  return len !== null && len > 0 && len < 1 << 20 ? 'yes' : 'no';
}

/**
 * One inline line: 'yes' for a known command; 'more' when it decides nothing (empty, PING, or a
 * word we do not know — module commands exist — so that the server's answer decides).
 */
function inlineLine(line: string): Detection {
  if (line.length === 0) return 'more';
  const m = /^([A-Za-z][A-Za-z0-9._-]{0,31})(?:[ \t]|$)/.exec(line);
  if (!m || !/^[\x20-\x7e\t]*$/.test(line)) return 'no';
  // An HTTP request line whose method is also a command name (GET, ...).
  if (/ HTTP\/\d/.test(line)) return 'no';
  const word = m[1]!.toUpperCase();
  // NATS clients send PING too.
  if (!INLINE_COMMANDS.has(word) || word === 'PING') return 'more';
  return 'yes';
}

/** A line without its end yet: can it still become an inline command? */
function inlinePrefixPossible(b: Uint8Array, at: number): boolean {
  const s = text(b, at, Math.min(b.length, at + 64));
  return /^[A-Za-z][A-Za-z0-9._-]{0,31}(?:[ \t][\x20-\x7e\t]*)?\r?$/.test(s) || /^[A-Za-z]{0,32}$/.test(s);
}

/** A server's first bytes. */
export function detectServer(b: Uint8Array): Detection {
  let at = 0;
  for (let n = 0; n < MAX_LINES; n++) {
    if (at >= b.length) return 'more';
    if (!isTypeByte(b[at]!)) return b.length < MID_STREAM_WAIT && n === 0 ? 'more' : 'no';
    const line = lineAt(b, at);
    if (line === 'more') return 'more';
    if (line === null || b[line.end] !== 0x0d) return n === 0 && b.length < MID_STREAM_WAIT ? 'more' : 'no';
    const verdict = replyHeader(b[at]!, text(b, line.from + 1, line.end));
    if (verdict !== 'more') return verdict;
    at = line.next;
  }
  return 'no';
}

/** Whether a reply header line (type byte and the rest) is well-formed. 'more': could be NATS. */
function replyHeader(type: number, rest: string): Detection {
  switch (String.fromCharCode(type)) {
    case '+':
      // NATS servers send `+OK` too (and POP3 servers `+OK ...`).
      return rest.startsWith('OK') ? 'more' : 'yes';
    case '-':
      if (rest.startsWith("ERR '")) return 'more'; // NATS: -ERR 'Unknown Protocol Operation'
      return /^[A-Z][A-Z_]*(?: |$)/.test(rest) ? 'yes' : 'no';
    case ':':
      return /^[-+]?\d{1,20}$/.test(rest) ? 'yes' : 'no';
    case '(':
      return /^[-+]?\d+$/.test(rest) ? 'yes' : 'no';
    case '$':
    case '*':
      return /^(?:-1|\d{1,10}|\?)$/.test(rest) ? 'yes' : 'no';
    case '%':
    case '~':
    case '>':
    case '|':
      return /^(?:\d{1,10}|\?)$/.test(rest) ? 'yes' : 'no';
    case '=':
    case '!':
      return /^\d{1,10}$/.test(rest) ? 'yes' : 'no';
    case '_':
      return rest === '' ? 'yes' : 'no';
    case '#':
      return rest === 't' || rest === 'f' ? 'yes' : 'no';
    case ',':
      return /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan)$/i.test(rest) ? 'yes' : 'no';
    default:
      return 'no';
  }
}

export function detectRedis(dir: Direction, data: Uint8Array): Detection {
  return dir === 0 ? detectClient(data) : detectServer(data);
}

/**
 * Whether a chunk may start a message: to resume after a gap or garbage, and at a session's first
 * chunk in each direction (a capture may start inside a message). The lines NATS shares count here
 * (the stream is known to be RESP). `first`: an inline command of any name is accepted, as detection
 * accepted it.
 */
export function plausibleStart(dir: Direction, b: Uint8Array, first = false): boolean {
  if (b.length === 0) return false;
  if (dir === 0) {
    // A first chunk may end before its first line does: 'more' is good enough there.
    if (b[0] === T_ARRAY) return first ? multibulkStart(b, 0) !== 'no' : multibulkStart(b, 0) === 'yes';
    const line = lineAt(b, 0);
    if (line === null) return false;
    if (line === 'more') return first && inlinePrefixPossible(b, 0);
    const words = text(b, line.from, line.end);
    if (first) return words.length > 0 && inlineLine(words) !== 'no';
    const m = /^([A-Za-z]{1,20})(?:[ \t]|$)/.exec(words);
    return m !== null && INLINE_COMMANDS.has(m[1]!.toUpperCase());
  }
  if (!isTypeByte(b[0]!)) return false;
  const line = lineAt(b, 0);
  if (line === 'more') return first;
  if (line === null || b[line.end] !== 0x0d) return false;
  const rest = text(b, line.from + 1, line.end);
  if (b[0] === 0x2b) return true; // '+': any simple string
  if (b[0] === 0x2d) return /^[A-Z]/.test(rest);
  return replyHeader(b[0]!, rest) === 'yes';
}
