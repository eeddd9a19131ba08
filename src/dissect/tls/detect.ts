/**
 * Detection on a direction's first bytes: a TLS handshake record header (RFC 8446 §5.1: content type
 * 22, legacy_record_version 0x0300–0x0304, a length a record may have) whose first handshake message
 * is a ClientHello or ServerHello; or an SSLv2-compatible ClientHello (RFC 5246 §E.2) from the client.
 * Application data alone is not claimed: five bytes of header are too weak a signature.
 */

import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import { ContentType, HandshakeType, MAX_RECORD_LENGTH } from './constants.js';

export function detectTls(dir: Direction, b: Uint8Array): Detection {
  if (b.length === 0) return 'more';
  if (b[0] === ContentType.handshake) {
    if (b.length >= 2 && b[1] !== 3) return 'no';
    if (b.length >= 3 && b[2]! > 4) return 'no';
    if (b.length < 6) return 'more';
    const length = (b[3]! << 8) | b[4]!;
    if (length < 4 || length > MAX_RECORD_LENGTH) return 'no';
    const hs = b[5]!;
    if (hs === HandshakeType.clientHello || hs === HandshakeType.serverHello) return 'yes';
    return 'no';
  }
  if (dir === 0 && (b[0]! & 0x80) !== 0) {
    // V2 ClientHello: 15-bit length, msg_type 1, version 0x0002 or 0x03xx (RFC 5246 §E.2).
    if (b.length < 5) return 'more';
    const length = ((b[0]! & 0x7f) << 8) | b[1]!;
    const version = (b[3]! << 8) | b[4]!;
    const versionOk = version === 0x0002 || (b[3] === 3 && b[4]! <= 3);
    return b[2] === 1 && length >= 9 && versionOk ? 'yes' : 'no';
  }
  return 'no';
}
