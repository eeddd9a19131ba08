/**
 * NATS by content: a server opens with `INFO {json}` (docs.nats.io "Client Protocol": the first
 * thing a client gets), a client with `CONNECT {json}`; a stream picked up later shows PUB, HPUB,
 * SUB, UNSUB (client) or MSG, HMSG (server) lines with well-formed fields. `PING`, `PONG` and `+OK`
 * are shared with Redis (inline PING, simple string +OK) and decide nothing; the next line does.
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import { MAX_CONTROL_LINE } from './parser.js';

const MAX_LINES = 8;
/** Server bytes that start no NATS line may be a payload cut by the capture's start: wait this long. */
const MID_STREAM_WAIT = 4096;

const SUBJECT = '[^\\s]+';
const NUM = '\\d{1,9}';
const WS = '[ \\t]+';

/** Well-formed lines that only NATS sends, per direction (verbs are case-insensitive). */
const CLIENT_LINES = [
  new RegExp(`^connect${WS}\\{`, 'i'),
  new RegExp(`^pub${WS}${SUBJECT}(?:${WS}${SUBJECT})?${WS}${NUM}[ \\t]*$`, 'i'),
  new RegExp(`^hpub${WS}${SUBJECT}(?:${WS}${SUBJECT})?${WS}${NUM}${WS}${NUM}[ \\t]*$`, 'i'),
  new RegExp(`^sub${WS}${SUBJECT}(?:${WS}${SUBJECT})?${WS}\\S+[ \\t]*$`, 'i'),
  new RegExp(`^unsub${WS}\\S+(?:${WS}${NUM})?[ \\t]*$`, 'i'),
];
const SERVER_LINES = [
  new RegExp(`^info${WS}\\{`, 'i'),
  new RegExp(`^msg${WS}${SUBJECT}${WS}\\S+(?:${WS}${SUBJECT})?${WS}${NUM}[ \\t]*$`, 'i'),
  new RegExp(`^hmsg${WS}${SUBJECT}${WS}\\S+(?:${WS}${SUBJECT})?${WS}${NUM}${WS}${NUM}[ \\t]*$`, 'i'),
  /^-err[ \t]+'/i,
];
const SHARED = /^(?:ping|pong|\+ok)[ \t]*$/i;

export function detectNats(dir: Direction, data: Uint8Array): Detection {
  const lines = dir === 0 ? CLIENT_LINES : SERVER_LINES;
  let at = 0;
  for (let n = 0; n < MAX_LINES; n++) {
    if (at >= data.length) return 'more';
    const lf = data.indexOf(0x0a, at);
    if (lf < 0) {
      if (data.length - at > MAX_CONTROL_LINE) return 'no';
      // INFO and CONNECT lines are long: their start is enough.
      const head = latin1(data, at, Math.min(data.length, at + 16));
      if (lines[0]!.test(head)) return 'yes';
      return possiblePrefix(head) ? 'more' : notNats(dir, data, n);
    }
    const line = latin1(data, at, lf > at && data[lf - 1] === 0x0d ? lf - 1 : lf);
    if (lines.some((re) => re.test(line))) return 'yes';
    if (!SHARED.test(line)) return notNats(dir, data, n);
    at = lf + 1;
  }
  return 'no';
}

/** The first line is not NATS: a server's stream may have been picked up inside a payload. */
function notNats(dir: Direction, data: Uint8Array, line: number): Detection {
  return dir === 1 && line === 0 && data.length < MID_STREAM_WAIT ? 'more' : 'no';
}

/** An unfinished first word that may still become a verb. */
function possiblePrefix(head: string): boolean {
  const word = /^[A-Za-z+-]*/.exec(head)![0].toUpperCase();
  if (word.length === head.length) {
    return [
      'INFO',
      'CONNECT',
      'PUB',
      'HPUB',
      'SUB',
      'UNSUB',
      'MSG',
      'HMSG',
      'PING',
      'PONG',
      '+OK',
      '-ERR',
    ].some((v) => v.startsWith(word));
  }
  return /^(?:PUB|HPUB|SUB|UNSUB|MSG|HMSG|-ERR)[ \t]/i.test(head);
}

function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
}
