/**
 * Cheap, stateless recognition of a DNS message from its first bytes: a header whose fields are
 * possible (a known OPCODE, a query with RCODE 0, section counts that fit the length) and a first
 * question (or, in a response without questions such as an mDNS announcement, a first record) that
 * reads as a name, a type and a known class. Ports only order detection, so this must turn down HTTP,
 * TLS and random bytes on its own.
 */
import { u16be } from '../../wire/bytes.js';
import type { Detection } from '../dissector.js';
import { HEADER_LENGTH, isKnownClass, isKnownOpcode, MAX_NAME_WIRE_LENGTH, TYPE_OPT } from './messages.js';
import { readName } from './names.js';

/** Bytes enough to judge: the header, a longest name, type and class. */
const ENOUGH = HEADER_LENGTH + MAX_NAME_WIRE_LENGTH + 1 + 10;

/**
 * `b` is the start of a message whose full length is `length` (the datagram's size, or the TCP
 * length prefix); `b` may hold fewer bytes than that.
 */
export function detectMessage(b: Uint8Array, length: number): Detection {
  if (length < HEADER_LENGTH) return 'no';
  if (b.length < HEADER_LENGTH) return 'more';
  const flags = b[2]!;
  const qr = (flags & 0x80) !== 0;
  if (!isKnownOpcode((flags >> 3) & 0x0f)) return 'no';
  if (!qr && (b[3]! & 0x0f) !== 0) return 'no';
  const qd = u16be(b, 4);
  const records = u16be(b, 6) + u16be(b, 8) + u16be(b, 10);
  // RFC 1035 §4.1.2-§4.1.3: a question takes at least 5 bytes, a record at least 11.
  if (qd * 5 + records * 11 > length - HEADER_LENGTH) return 'no';
  if (qd === 0 && (!qr || records === 0)) return 'no';
  const view = b.subarray(0, Math.min(b.length, length));
  const name = readName(view, HEADER_LENGTH);
  if (!name.ok || name.next + 4 > view.length) {
    return view.length < length && view.length < ENOUGH ? 'more' : 'no';
  }
  const type = u16be(view, name.next);
  const cls = u16be(view, name.next + 2) & 0x7fff; // mDNS uses the top bit (RFC 6762 §5.4, §10.2)
  if (qd === 0 && type === TYPE_OPT) return 'yes'; // OPT's CLASS is a payload size (RFC 6891 §6.1.2)
  return isKnownClass(cls) ? 'yes' : 'no';
}

/** A UDP datagram is one whole message (RFC 1035 §4.2.1). */
export function detectDatagram(data: Uint8Array): Detection {
  const d = detectMessage(data, data.length);
  return d === 'more' ? 'no' : d;
}

/** Over TCP each message has a two-byte length prefix (RFC 1035 §4.2.2). */
export function detectStream(data: Uint8Array): Detection {
  if (data.length < 2) return 'more';
  return detectMessage(data.subarray(2), u16be(data, 0));
}
