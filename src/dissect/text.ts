/**
 * Strings out of a chunk without the view object `subarray` costs: the hot paths of the busiest
 * dissectors (Redis arguments, HTTP/1 heads and bodies) make several strings per message, and a
 * view plus a TextDecoder call costs more than the decoding of a short string.
 *
 * `utf8At` gives exactly what `wire/bytes.ts` utf8Text (TextDecoder, lossy) gives for the same
 * bytes: Node's Buffer utf8Slice and TextDecoder both end in V8's String::NewFromUtf8 (WHATWG
 * decoding, malformed sequences as U+FFFD); the one difference, TextDecoder dropping a leading
 * byte order mark, is handed to TextDecoder itself.
 */
import { utf8Text } from '../wire/bytes.js';

type Slice = (this: Uint8Array, start: number, end: number) => string;

/**
 * Buffer.prototype.utf8Slice / latin1Slice take any Uint8Array as receiver. They are what
 * Buffer#toString calls; looked up once, with a plain fallback should a Node version lack them.
 */
const bufferProto = Buffer.prototype as unknown as { utf8Slice?: Slice; latin1Slice?: Slice };
const nativeUtf8: Slice | undefined = bufferProto.utf8Slice;
const nativeLatin1: Slice | undefined = bufferProto.latin1Slice;

/** UTF-8 text of `b[start, end)`, malformed sequences as U+FFFD: utf8Text without the view. */
export function utf8At(b: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  // A BOM: TextDecoder drops it (WHATWG Encoding "UTF-8 decode"), utf8Slice would keep it.
  if (nativeUtf8 === undefined || (b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf))
    return utf8Text(b.subarray(start, end));
  return nativeUtf8.call(b, start, end);
}

/**
 * Bytes as Latin-1, one character per byte: the same string as utf8At when every byte is ASCII.
 * Callers check that (a head scanned byte by byte, a command name); short strings are built
 * directly, which is cheaper than a native call.
 */
export function latin1At(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n <= 4 || nativeLatin1 === undefined) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  return nativeLatin1.call(b, start, end);
}

/** Whether every byte of `b[start, end)` is ASCII (below 0x80). */
export function isAsciiAt(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}
