/**
 * HTTP/1.x by content: a request-line (`METHOD SP target SP HTTP/1.x`, RFC 9112 §3) from the client
 * or a status-line (`HTTP/1.x NNN`, RFC 9112 §4) from the server at the stream's start; for a
 * stream picked up mid-way, such a line further in (after a body's end).
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import { findMessageStart } from './parser.js';

/** Past this many bytes without a start line, the stream is not HTTP/1.x for us. */
const DETECT_LIMIT = 8192;
const MAX_METHOD = 20;

const HTTP_SLASH_1 = 'HTTP/1.';

/** A first line shaped like another text protocol's (RTSP, SIP, HTTP/2's preface...). */
const OTHER_REQUEST = /^[A-Z_-]{1,20} [^ \r\n]+ [A-Z]+\/\d/;
const OTHER_STATUS = /^[A-Z]+\/\d\.\d \d{3}/;

export function detectHttp1(dir: Direction, data: Uint8Array): Detection {
  const atStart = dir === 0 ? requestLineAtStart(data) : statusLineAtStart(data);
  if (atStart !== 'no') return atStart;
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 64)).toString('latin1');
  if ((dir === 0 ? OTHER_REQUEST : OTHER_STATUS).test(head)) return 'no';
  // Mid-stream: a message start further in, at a line start for responses.
  const at = findMessageStart(data, dir, 0);
  if (at >= 0 && (dir === 0 || at === 0 || data[at - 1] === 0x0a)) return 'yes';
  return data.length < DETECT_LIMIT ? 'more' : 'no';
}

function requestLineAtStart(data: Uint8Array): Detection {
  let i = 0;
  // RFC 9112 §2.2: a server should ignore empty lines before the request-line.
  while (i < data.length && i < 4 && (data[i] === 0x0d || data[i] === 0x0a)) i++;
  const start = i;
  while (i < data.length && isMethodChar(data[i]!) && i - start <= MAX_METHOD) i++;
  if (i === data.length) return i - start <= MAX_METHOD ? 'more' : 'no';
  if (i === start || data[i] !== 0x20 || i - start > MAX_METHOD) return 'no';
  i++;
  const targetStart = i;
  while (i < data.length && data[i]! > 0x20 && data[i] !== 0x7f) i++;
  if (i === data.length) return i - start < DETECT_LIMIT ? 'more' : 'no';
  if (i === targetStart || data[i] !== 0x20) return 'no';
  i++;
  for (let k = 0; k < HTTP_SLASH_1.length; k++, i++) {
    if (i === data.length) return 'more';
    if (data[i] !== HTTP_SLASH_1.charCodeAt(k)) return 'no';
  }
  if (i === data.length) return 'more';
  if (data[i] !== 0x30 && data[i] !== 0x31) return 'no';
  i++;
  if (i === data.length) return 'more';
  if (data[i] === 0x0a) return 'yes';
  if (data[i] !== 0x0d) return 'no';
  i++;
  if (i === data.length) return 'more';
  return data[i] === 0x0a ? 'yes' : 'no';
}

function statusLineAtStart(data: Uint8Array): Detection {
  const pattern = 'HTTP/1.x NNN';
  for (let k = 0; k < pattern.length; k++) {
    if (k === data.length) return 'more';
    const b = data[k]!;
    const p = pattern[k]!;
    const ok =
      p === 'x' ? b === 0x30 || b === 0x31 : p === 'N' ? b >= 0x30 && b <= 0x39 : b === p.charCodeAt(0);
    if (!ok) return 'no';
  }
  return 'yes';
}

/** Methods are tokens (RFC 9110 §9.1); in practice upper-case letters, '-' and '_'. */
function isMethodChar(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x5f;
}
