/**
 * Content (§4.2.6): after basic.publish, basic.deliver, basic.return and basic.get-ok comes one
 * header frame (class-id, weight, body size, property flags, properties) and then body frames
 * until the body size is reached. Bodies are counted, not kept: a small preview of the first bytes
 * is copied, since it outlives the frames it came in.
 */
import { readArgs } from './methods.js';
import { BASIC_PROPERTIES, CLASS_BASIC } from './spec.js';
import { Reader } from './values.js';

/** Body bytes kept per message as a preview. */
export const MAX_BODY_PREVIEW = 256;
/** Property flag words read at most (14 basic properties need one; the continuation bit allows more). */
const MAX_FLAG_WORDS = 4;

export interface ContentHeader {
  classId: number;
  bodySize: number;
  properties: Record<string, unknown>;
  error: string | null;
}

/** §4.2.6.1: class-id, weight (0), body size (64-bit), property flags, property list. */
export function decodeContentHeader(payload: Uint8Array): ContentHeader {
  const r = new Reader(payload);
  const classId = r.u16('class-id');
  r.u16('weight');
  const size = r.u64('body size');
  const bodySize = typeof size === 'number' ? size : Number.MAX_SAFE_INTEGER;
  const properties: Record<string, unknown> = {};
  // Flag words: bit 0 set means another word follows; property i is bit 15 - (i mod 15) of word i/15.
  const flags: number[] = [];
  for (;;) {
    const word = r.u16('property flags');
    if (r.error !== null) break;
    flags.push(word);
    if ((word & 1) === 0 || flags.length >= MAX_FLAG_WORDS) break;
  }
  if (r.error === null && classId === CLASS_BASIC) {
    const present = BASIC_PROPERTIES.filter((_, i) => ((flags[0] ?? 0) & (0x8000 >> i)) !== 0);
    readArgs(r, present, properties);
  }
  const error = r.error ?? r.soft ?? (classId !== CLASS_BASIC ? `content of class ${classId}` : null);
  return { classId, bodySize, properties, error };
}

/** The first MAX_BODY_PREVIEW bytes of a body, and the count of all of it. */
export class BodyPreview {
  /** Allocated on the first body bytes, no larger than the body: most messages are small. */
  private head: Uint8Array | null = null;
  private kept = 0;
  /** The body size the content header announced, to size the preview. */
  expected = MAX_BODY_PREVIEW;
  /** Body bytes seen, and bytes lost in capture gaps (counted, not seen). */
  received = 0;
  lost = 0;

  add(chunk: Uint8Array): void {
    // After a hole the bytes no longer continue the preview.
    const n = this.lost > 0 ? 0 : Math.min(chunk.length, MAX_BODY_PREVIEW - this.kept);
    if (n > 0) {
      this.head ??= new Uint8Array(Math.max(n, Math.min(this.expected, MAX_BODY_PREVIEW)));
      if (this.head.length < this.kept + n) {
        const grown = new Uint8Array(MAX_BODY_PREVIEW);
        grown.set(this.head.subarray(0, this.kept));
        this.head = grown;
      }
      this.head.set(chunk.subarray(0, n), this.kept);
      this.kept += n;
    }
    this.received += chunk.length;
  }

  gap(bytes: number): void {
    this.lost += bytes;
    this.received += bytes;
  }

  /** `body` as UTF-8 text when it is, else base64; `bodyTruncated` when the preview is not all. */
  fields(): { body: string; bodyEncoding: 'utf8' | 'base64'; bodyTruncated: boolean } {
    const bytes = this.head?.subarray(0, this.kept) ?? new Uint8Array(0);
    const truncated = this.kept < this.received;
    const asText = utf8Prefix(bytes, truncated);
    if (asText !== null) return { body: asText, bodyEncoding: 'utf8', bodyTruncated: truncated };
    return {
      body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'),
      bodyEncoding: 'base64',
      bodyTruncated: truncated,
    };
  }
}

const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * `bytes` as text when they are UTF-8 without control characters other than whitespace; a cut
 * preview may end inside a character, so up to 3 trailing bytes may be dropped then.
 */
function utf8Prefix(bytes: Uint8Array, cut: boolean): string | null {
  for (const b of bytes) {
    // C0 controls other than \t \n \v \f \r, and DEL: binary (UTF-8 never uses these bytes inside characters).
    if ((b < 0x20 && (b < 0x09 || b > 0x0d)) || b === 0x7f) return null;
  }
  for (let drop = 0; drop <= (cut ? 3 : 0) && drop <= bytes.length; drop++) {
    try {
      return strict.decode(bytes.subarray(0, bytes.length - drop));
    } catch {
      // not (yet) valid UTF-8
    }
  }
  return null;
}
