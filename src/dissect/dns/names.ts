/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4): labels, compression pointers, and their text.
 * Pointers come from hostile bytes, so every step is bounded: a pointer must point strictly before
 * itself ("a prior occurrence", §4.1.4), at most MAX_POINTERS are followed, and the expanded name may
 * not pass 255 octets (§2.3.4). A loop therefore ends in an error, never a hang.
 */
import { MAX_LABEL_LENGTH, MAX_NAME_WIRE_LENGTH } from './messages.js';

/** Pointers followed for one name; 255 octets hold at most 127 labels, so real names need far fewer. */
export const MAX_POINTERS = 64;

export type NameResult = { ok: true; name: string; next: number } | { ok: false; error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the name at `off` in `msg` (the whole DNS message, which pointers index). `limit` bounds the
 * name's own bytes (the end of the record data it sits in); pointer targets may be anywhere before.
 * `next` is the offset after the name's own bytes. The root is '.', other names have no final dot.
 */
export function readName(msg: Uint8Array, off: number, limit: number = msg.length): NameResult {
  let pos = off;
  let end = limit;
  let next = -1;
  let wire = 1; // the root's zero octet
  let pointers = 0;
  let text = '';
  for (;;) {
    if (pos >= end) return { ok: false, error: `name at ${off} runs past its bounds (RFC 1035 §4.1.4)` };
    const len = msg[pos]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= end) return { ok: false, error: `name at ${off}: pointer cut off (RFC 1035 §4.1.4)` };
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (next < 0) next = pos + 2;
      if (target >= pos)
        return {
          ok: false,
          error: `name at ${off}: pointer to ${target} is not a prior occurrence (RFC 1035 §4.1.4)`,
        };
      if (++pointers > MAX_POINTERS)
        return { ok: false, error: `name at ${off}: too many compression pointers` };
      pos = target;
      end = msg.length;
      continue;
    }
    if (kind !== 0) {
      // 0x40 and 0x80: extended label types, obsolete (RFC 6891 §5).
      return {
        ok: false,
        error: `name at ${off}: unsupported label type 0x${kind.toString(16)} (RFC 6891 §5)`,
      };
    }
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { ok: true, name: text === '' ? '.' : text, next };
    }
    if (len > MAX_LABEL_LENGTH) return { ok: false, error: `name at ${off}: label longer than 63 octets` };
    if (pos + 1 + len > end)
      return { ok: false, error: `name at ${off}: label runs past its bounds (RFC 1035 §4.1.4)` };
    wire += len + 1;
    if (wire > MAX_NAME_WIRE_LENGTH)
      return { ok: false, error: `name at ${off}: longer than 255 octets (RFC 1035 §2.3.4)` };
    const label = labelText(msg, pos + 1, pos + 1 + len);
    text = text === '' ? label : `${text}.${label}`;
    pos += 1 + len;
  }
}

/**
 * One label as text. Printable ASCII is kept; '.' and '\' are escaped as in master files (RFC 1035
 * §5.1); UTF-8 is decoded (mDNS names are UTF-8, RFC 6762 §16); control and invalid bytes become \DDD.
 */
export function labelText(b: Uint8Array, from: number, to: number): string {
  let plain = true;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return String.fromCharCode(...b.subarray(from, to));
  let s: string;
  try {
    s = utf8.decode(b.subarray(from, to));
  } catch {
    s = '';
    for (let i = from; i < to; i++) {
      const c = b[i]!;
      if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
      else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
      else s += `\\${c.toString().padStart(3, '0')}`;
    }
    return s;
  }
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '.' || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString().padStart(3, '0')}`;
    else out += ch;
  }
  return out;
}
