/**
 * HTTP/2 detection on the first bytes of a direction. The client preface (RFC 9113 §3.4) settles
 * it. Without one (a connection joined mid-way), a client direction that starts with a HEADERS
 * frame whose header block decodes, with the static table alone, to a request (:method and :path,
 * RFC 9113 §8.3.1) is claimed too: random bytes almost never do that. A server direction is never
 * claimed alone; it stays a candidate while it looks like frames (the client side decides).
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import { HpackDecoder } from './hpack.js';
import { CLIENT_PREFACE, Flag, FRAME_HEADER_SIZE, FrameType } from './messages.js';
import { plausibleHeader, readHeader } from './parser.js';

/** How far into the direction a request HEADERS frame is looked for. */
const SCAN_LIMIT = 8192;

export function detectHttp2(dir: Direction, data: Uint8Array): Detection {
  const n = Math.min(data.length, CLIENT_PREFACE.length);
  let prefix = true;
  for (let i = 0; i < n; i++) if (data[i] !== CLIENT_PREFACE[i]) prefix = false;
  if (dir === 0 && prefix) return n === CLIENT_PREFACE.length ? 'yes' : 'more';
  return dir === 0 ? detectRequestHeaders(data) : looksLikeFrames(data);
}

function looksLikeFrames(data: Uint8Array): Detection {
  if (data.length < FRAME_HEADER_SIZE) return 'more';
  return plausibleHeader(readHeader(data, 0), (data[5]! & 0x80) !== 0) ? 'more' : 'no';
}

function detectRequestHeaders(data: Uint8Array): Detection {
  let pos = 0;
  while (pos < Math.min(data.length, SCAN_LIMIT)) {
    if (pos + FRAME_HEADER_SIZE > data.length) return 'more';
    const h = readHeader(data, pos);
    if (!plausibleHeader(h, (data[pos + 5]! & 0x80) !== 0)) return 'no';
    const end = pos + FRAME_HEADER_SIZE + h.length;
    if (h.type !== FrameType.HEADERS) {
      pos = end;
      continue;
    }
    if (h.streamId % 2 !== 1 || !(h.flags & Flag.END_HEADERS)) return 'no';
    if (end > data.length) return end - pos > SCAN_LIMIT ? 'no' : 'more';
    let start = pos + FRAME_HEADER_SIZE;
    let pad = 0;
    if (h.flags & Flag.PADDED) pad = data[start++]!;
    if (h.flags & Flag.PRIORITY) start += 5;
    if (start > end - pad) return 'no';
    const r = new HpackDecoder(true).decode(data.subarray(start, end - pad));
    const names = new Set(r.headers.map(([name]) => name));
    return names.has(':method') && (names.has(':path') || names.has(':authority')) ? 'yes' : 'no';
  }
  return 'no';
}
