/**
 * Byte helpers shared by every stage. Readers take explicit bounds: a sniffer reads hostile bytes
 * and must never rely on a RangeError (typed arrays answer `undefined`, which quietly becomes NaN or
 * 0). Hot-path decoders check the length once per header and then index directly.
 */

export function u16be(b: Uint8Array, i: number): number {
  return ((b[i]! << 8) | b[i + 1]!) >>> 0;
}

export function u16le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8)) >>> 0;
}

export function u32be(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

export function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Formats 4 big-endian 32-bit words (IPv4-mapped for IPv4) as an address string. */
export function formatIp(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    return `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
  }
  const groups = [
    w0 >>> 16,
    w0 & 0xffff,
    w1 >>> 16,
    w1 & 0xffff,
    w2 >>> 16,
    w2 & 0xffff,
    w3 >>> 16,
    w3 & 0xffff,
  ];
  // RFC 5952 §4.2: compress the longest run (of two or more) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** A `tcpdump -X` style dump, for error messages and test fixtures. */
export function hexdump(b: Uint8Array, max = 256): string {
  const lines: string[] = [];
  const n = Math.min(b.length, max);
  for (let off = 0; off < n; off += 16) {
    const row = b.subarray(off, Math.min(off + 16, n));
    const hex = Array.from(row, (x) => x.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`0x${off.toString(16).padStart(4, '0')}:  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (b.length > max) lines.push(`... ${b.length - max} more bytes`);
  return lines.join('\n');
}

const lossyUtf8 = new TextDecoder('utf-8');

/**
 * UTF-8 to a string, malformed sequences as U+FFFD (as TextDecoder does). Short ASCII, the common
 * case of commands, keys and header names, is built directly: TextDecoder's per-call set-up costs
 * more than the decoding of a few bytes.
 */
export function utf8Text(b: Uint8Array): string {
  const n = b.length;
  if (n <= 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return n === 0 ? '' : String.fromCharCode.apply(null, b as unknown as number[]);
  }
  return lossyUtf8.decode(b);
}
