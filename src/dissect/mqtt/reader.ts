/**
 * A bounds-checked reader over one packet's bytes. Errors are values: the first failure is kept in
 * `error` (with the spec clause), later reads return zeros, and the parser checks `error` once per
 * section instead of guarding every read. Nothing here throws.
 */

/** MQTT 3.1.1 §1.5.3 / 5.0 §1.5.4: the UTF-8 encoded string's byte length is a 2-byte prefix. */
export class Reader {
  pos: number;
  error: string | null = null;
  /** The error is only that a large packet's body was kept in part (not a malformed packet). */
  cut = false;

  /**
   * @param b the bytes held of the packet's body (maybe only a prefix of it)
   * @param end where the body ends in `b`'s coordinates: past `b.length` when only a prefix is held
   */
  constructor(
    readonly b: Uint8Array,
    public end: number,
    start = 0,
  ) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  /** Whether the next `n` bytes lie past what is held (a body cut at the kept cap). */
  private short(n: number, what: string): boolean {
    if (this.error) return true;
    if (this.pos + n > this.end) {
      this.error = `${what} runs past the packet's end`;
      return true;
    }
    if (this.pos + n > this.b.length) {
      this.error = `${what} lies past the bytes kept of a large packet`;
      this.cut = true;
      return true;
    }
    return false;
  }

  fail(message: string): void {
    if (!this.error) this.error = message;
  }

  u8(what: string): number {
    if (this.short(1, what)) return 0;
    return this.b[this.pos++]!;
  }

  u16(what: string): number {
    if (this.short(2, what)) return 0;
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    if (this.short(4, what)) return 0;
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** 5.0 §1.5.5 Variable Byte Integer: at most 4 bytes, else malformed. */
  varint(what: string): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      if (this.short(1, what)) return 0;
      const byte = this.b[this.pos++]!;
      value += (byte & 0x7f) * 128 ** i;
      if ((byte & 0x80) === 0) return value;
    }
    this.fail(`${what}: a Variable Byte Integer longer than 4 bytes (MQTT 5.0 §1.5.5)`);
    return 0;
  }

  /** A length-prefixed byte run (§1.5.6 Binary Data, and a string's bytes), as a view. */
  lengthPrefixed(what: string): Uint8Array {
    const n = this.u16(`${what} length`);
    if (this.short(n, what)) return EMPTY;
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A UTF-8 string, kept up to `cap` bytes. */
  string(what: string, cap: number): string {
    return decodeCapped(this.lengthPrefixed(what), cap).text;
  }

  skip(n: number, what: string): void {
    if (!this.short(n, what)) this.pos += n;
  }
}

const EMPTY = new Uint8Array(0);

/** Decodes at most `cap` bytes of UTF-8, cut back to a character boundary. */
export function decodeCapped(v: Uint8Array, cap: number): { text: string; truncated: boolean } {
  if (v.length <= cap) return { text: utf8(v), truncated: false };
  let cut = cap;
  while (cut > 0 && (v[cut]! & 0xc0) === 0x80) cut--;
  return { text: utf8(v.subarray(0, cut)), truncated: true };
}

export function utf8(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.length).toString('utf8');
}

export function hex(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex');
}

/**
 * Whether `v` is well-formed UTF-8 without U+0000 (3.1.1 §1.5.3, 5.0 §1.5.4); with `cutOk` a
 * sequence cut by the end of `v` is accepted (a preview of a longer payload). With `printable`,
 * C0 controls other than tab, CR and LF, and DEL, are refused too.
 */
export function isUtf8(v: Uint8Array, cutOk = false, printable = false): boolean {
  let i = 0;
  while (i < v.length) {
    const c = v[i]!;
    if (c < 0x80) {
      if (c === 0) return false;
      if (printable && ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f)) return false;
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return false;
    if (i + n >= v.length) {
      // The sequence is cut by the end of `v`: acceptable only in a preview, if what is there fits.
      if (!cutOk) return false;
      for (let k = i + 1; k < v.length; k++) if ((v[k]! & 0xc0) !== 0x80) return false;
      return true;
    }
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = v[i + k]!;
      if ((cc & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}
