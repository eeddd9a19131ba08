/**
 * HPACK's static Huffman code (RFC 7541 §5.2, Appendix B). Appendix B lists each symbol's code and
 * bit length; the code is canonical (codes of one length are consecutive, in symbol order, and
 * shorter codes come first), so the lengths alone define it and the codes are rebuilt from them
 * here. The tests check codes from Appendix B and the Appendix C examples.
 */

/** Code length in bits of symbols 0..255 (RFC 7541 Appendix B), then EOS (256), 30 bits. */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

export const EOS = 256;

interface Canonical {
  /** Symbols sorted by (length, symbol). */
  symbols: Uint16Array;
  /** Per length L: the first code of that length, the index of its first symbol, and how many. */
  firstCode: Uint32Array;
  firstIndex: Uint16Array;
  count: Uint16Array;
  /** Per symbol: its code (up to 30 bits). */
  codes: Uint32Array;
}

function buildCanonical(): Canonical {
  const order = CODE_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const symbols = new Uint16Array(order.length);
  const firstCode = new Uint32Array(31);
  const firstIndex = new Uint16Array(31);
  const count = new Uint16Array(31);
  const codes = new Uint32Array(order.length);
  let code = 0;
  let prevLen = order[0]!.len;
  for (const [i, { len, sym }] of order.entries()) {
    code *= 2 ** (len - prevLen);
    prevLen = len;
    if (count[len] === 0) {
      firstCode[len] = code;
      firstIndex[len] = i;
    }
    count[len]!++;
    symbols[i] = sym;
    codes[sym] = code;
    code++;
  }
  return { symbols, firstCode, firstIndex, count, codes };
}

const TABLE = buildCanonical();

/** The code and length of a symbol, as Appendix B lists them (for tests and the encoder). */
export function huffmanCode(sym: number): { code: number; bits: number } {
  return { code: TABLE.codes[sym] ?? 0, bits: CODE_LENGTHS[sym] ?? 0 };
}

/**
 * Decodes a Huffman-coded string literal into `out`. Returns the number of bytes written, or an
 * error citing RFC 7541 §5.2: a padding longer than 7 bits, a padding that is not the most
 * significant bits of EOS (all ones), or an EOS symbol inside the string. `out` must hold
 * `src.length * 8 / 5` bytes (the shortest code has 5 bits).
 */
export function huffmanDecode(src: Uint8Array, out: Uint8Array): number | string {
  let code = 0;
  let len = 0;
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const byte = src[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      if (len > 30) return 'RFC 7541 §5.2: no Huffman code matches (over 30 bits)';
      const c = TABLE.count[len]!;
      if (c === 0) continue;
      const offset = code - TABLE.firstCode[len]!;
      if (offset < 0 || offset >= c) continue;
      const sym = TABLE.symbols[TABLE.firstIndex[len]! + offset]!;
      if (sym === EOS) return 'RFC 7541 §5.2: EOS symbol inside a Huffman-coded string';
      if (n >= out.length) return 'Huffman output exceeds its bound';
      out[n++] = sym;
      code = 0;
      len = 0;
    }
  }
  if (len > 7) return 'RFC 7541 §5.2: Huffman padding longer than 7 bits';
  if (code !== 2 ** len - 1) return 'RFC 7541 §5.2: Huffman padding is not the EOS prefix (all ones)';
  return n;
}

/** Huffman-encodes bytes (RFC 7541 §5.2), padding with the most significant bits of EOS. */
export function huffmanEncode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanLength(src));
  let pos = 0;
  const put = (code: number, n: number) => {
    for (let k = n - 1; k >= 0; k--) {
      if (Math.floor(code / 2 ** k) % 2) out[pos >> 3]! |= 0x80 >> (pos & 7);
      pos++;
    }
  };
  for (const b of src) put(TABLE.codes[b]!, CODE_LENGTHS[b]!);
  while (pos & 7) put(1, 1);
  return out;
}

/** Length in bytes of the Huffman encoding of `src`. */
export function huffmanLength(src: Uint8Array): number {
  let bits = 0;
  for (const b of src) bits += CODE_LENGTHS[b]!;
  return Math.ceil(bits / 8);
}
