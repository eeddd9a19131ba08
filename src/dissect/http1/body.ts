/**
 * Bodies for display: the first bytes of a body are kept (copied, capped), the full size counted;
 * at the end the kept bytes are decoded per Content-Encoding (RFC 9110 §8.4: gzip, deflate, br via
 * node:zlib) and shown as text or base64, capped again. Shared by HTTP/2 if it wants it.
 */
import { isUtf8 } from 'node:buffer';
import {
  brotliDecompressSync,
  constants,
  gunzipSync,
  inflateRawSync,
  inflateSync,
  type ZlibOptions,
} from 'node:zlib';
import { utf8At } from '../text.js';

/** Raw (still encoded) body bytes kept per message. */
export const BODY_KEEP_BYTES = 64 * 1024;
/** Decoded bytes shown per message. */
export const BODY_DISPLAY_BYTES = 64 * 1024;

export class BodyCollector {
  /** Made on the first part: most messages have no body. */
  private parts: Uint8Array[] | null = null;
  /** parts[volatileFrom..] are views of the caller's chunks, not copied yet (see `secure`). */
  private volatileFrom = 0;
  private kept = 0;
  /** Content bytes seen (chunk framing removed, before content decoding), including lost ones. */
  size = 0;
  /** Bytes lost in gaps. */
  lost = 0;

  /**
   * Takes `chunk` (valid only during the caller's call) as a view, without copying it: most bodies
   * are read, shown and dropped within the call that brought their last byte, and never need a
   * copy. Returns true when this is the first uncopied part, so that the owner calls `secure`
   * before the chunk goes (Http1Session.onData does).
   */
  add(chunk: Uint8Array): boolean {
    this.size += chunk.length;
    const room = BODY_KEEP_BYTES - this.kept;
    if (room <= 0 || this.lost > 0 || chunk.length === 0) return false;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (!this.parts) this.parts = [];
    const parts = this.parts;
    const first = this.volatileFrom === parts.length;
    parts.push(part);
    this.kept += part.length;
    return first;
  }

  /** Copies the parts still viewing the caller's chunks: the body outlives the call. */
  secure(): void {
    const parts = this.parts;
    if (!parts) return;
    for (let i = this.volatileFrom; i < parts.length; i++) parts[i] = parts[i]!.slice();
    this.volatileFrom = parts.length;
  }

  /** The body was shown: its bytes are no longer needed (nothing is left to secure either). */
  release(): void {
    this.parts = null;
    this.volatileFrom = 0;
  }

  /** A hole: what follows cannot be decoded (nor shown as contiguous), only counted. */
  gap(bytes: number): void {
    this.size += bytes;
    this.lost += bytes;
  }

  get truncated(): boolean {
    return this.kept < this.size;
  }

  bytes(): Uint8Array {
    const parts = this.parts ?? [];
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(this.kept);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

export interface DisplayBody {
  /** The decoded body, capped at BODY_DISPLAY_BYTES: UTF-8 text, or base64 when binary. */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  /** Bytes of the body on the wire (content, before decoding). */
  bodySize: number;
  /** Bytes after Content-Encoding was undone, when it was and the whole body was kept. */
  decodedSize?: number;
  /** Content-Encoding as sent, when present. */
  contentEncoding?: string;
  /** The body shown is not all of it (capped, or cut by a gap). */
  truncated: boolean;
  /** Content-Encoding could not be undone: why (the raw bytes are shown). */
  decodeError?: string;
}

const TEXTUAL =
  /^(text\/|application\/(?:[\w.+-]*\+)?(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|graphql|x-ndjson|yaml|x-yaml|csv))/i;

/** Decodes `raw` per `encoding` (a Content-Encoding list) for display; never throws. */
export function displayBody(
  collector: BodyCollector,
  contentType: string | undefined,
  encoding: string | undefined,
): DisplayBody | null {
  if (collector.size === 0) return null;
  let data = collector.bytes();
  let truncated = collector.truncated;
  let decodeError: string | undefined;
  let decodedSize: number | undefined;
  const codings =
    encoding === undefined
      ? NO_CODINGS
      : encoding
          .split(',')
          .map((c) => c.trim().toLowerCase())
          .filter((c) => c && c !== 'identity');
  if (codings.length > 0) {
    const r = decodeCodings(data, codings, truncated);
    if (r.error) decodeError = r.error;
    else {
      data = r.data;
      truncated ||= r.capped;
      if (!collector.truncated && !r.capped) decodedSize = r.data.length;
    }
  }
  if (data.length > BODY_DISPLAY_BYTES) {
    data = data.subarray(0, BODY_DISPLAY_BYTES);
    truncated = true;
  }
  const text = !decodeError && isText(data, contentType) ? utf8Prefix(data) : null;
  const out: DisplayBody = {
    body: text ?? Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64'),
    bodyEncoding: text === null ? 'base64' : 'utf8',
    bodySize: collector.size,
    truncated,
  };
  if (decodedSize !== undefined) out.decodedSize = decodedSize;
  if (encoding) out.contentEncoding = encoding;
  if (decodeError) out.decodeError = decodeError;
  return out;
}

/** Decoded text of a body (for GraphQL and the like), or null when binary or undecodable. */
export function bodyText(
  collector: BodyCollector,
  contentType: string | undefined,
  encoding: string | undefined,
) {
  const d = displayBody(collector, contentType, encoding);
  if (d?.bodyEncoding !== 'utf8' || d.truncated) return null;
  return d.body;
}

function decodeCodings(
  input: Uint8Array,
  codings: string[],
  partial: boolean,
): { data: Uint8Array; capped: boolean; error?: string } {
  let data = input;
  let capped = false;
  // Codings are listed in the order applied (RFC 9110 §8.4): undo them last to first.
  for (let i = codings.length - 1; i >= 0; i--) {
    const c = codings[i]!;
    const r = inflate(data, c, partial || capped);
    if (r.error) return { data: input, capped: false, error: `${c}: ${r.error}` };
    data = r.data;
    capped ||= r.capped;
  }
  return { data, capped };
}

/**
 * One coding undone, the output capped at BODY_DISPLAY_BYTES. A prefix of a stream (a body kept in
 * part, or cut by the cap) is inflated with a sync flush, so it yields what it holds instead of
 * failing at its end. Over the cap zlib throws ERR_BUFFER_TOO_LARGE; a shorter prefix of the input
 * is tried then (its output is a prefix of the whole), at most 12 times.
 */
function inflate(
  input: Uint8Array,
  coding: string,
  partial: boolean,
): { data: Uint8Array; capped: boolean; error?: string } {
  type Run = (b: Uint8Array, max: number, prefix: boolean) => Buffer;
  let run: Run;
  if (coding === 'gzip' || coding === 'x-gzip') {
    run = (b, max, prefix) => gunzipSync(b, zopts(max, prefix));
  } else if (coding === 'deflate') {
    // RFC 9110 §8.4.1.2 means the zlib format (RFC 1950); some servers send raw deflate (RFC 1951).
    const b0 = input[0] ?? 0;
    const zlibHeader = (b0 & 0x0f) === 8 && ((b0 << 8) | (input[1] ?? 0)) % 31 === 0;
    run = (b, max, prefix) => (zlibHeader ? inflateSync : inflateRawSync)(b, zopts(max, prefix));
  } else if (coding === 'br') {
    run = (b, max, prefix) =>
      brotliDecompressSync(b, {
        maxOutputLength: max,
        finishFlush: prefix ? constants.BROTLI_OPERATION_FLUSH : constants.BROTLI_OPERATION_FINISH,
      });
  } else {
    return { data: input, capped: false, error: 'unsupported content coding' };
  }
  let len = input.length;
  let capped = false;
  for (let attempt = 0; attempt < 12 && len > 0; attempt++) {
    try {
      return { data: run(input.subarray(0, len), BODY_DISPLAY_BYTES + 1, partial || capped), capped };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'ERR_BUFFER_TOO_LARGE')
        return { data: input, capped: false, error: (err as Error).message };
      capped = true;
      len = Math.floor(len / 2);
    }
  }
  return { data: new Uint8Array(0), capped: true };
}

function zopts(max: number, prefix: boolean): ZlibOptions {
  return { maxOutputLength: max, finishFlush: prefix ? constants.Z_SYNC_FLUSH : constants.Z_FINISH };
}

/** No Content-Encoding (never written to). */
const NO_CODINGS: string[] = [];

/**
 * What the Content-Type alone says: text, binary, or null (look at the bytes). Types repeat on every
 * message, so the answers are kept, up to a bound.
 */
function textByType(contentType: string): boolean | null {
  let known = typeVerdicts.get(contentType);
  if (known === undefined) {
    known = TEXTUAL.test(contentType.trim())
      ? true
      : /^(image|audio|video|font)\/|octet-stream|protobuf|grpc/i.test(contentType)
        ? false
        : null;
    if (typeVerdicts.size < MAX_TYPE_VERDICTS) typeVerdicts.set(contentType, known);
  }
  return known;
}

const MAX_TYPE_VERDICTS = 1024;
const typeVerdicts = new Map<string, boolean | null>();

function isText(data: Uint8Array, contentType: string | undefined): boolean {
  const byType = contentType ? textByType(contentType) : null;
  if (byType !== null) return byType;
  const n = Math.min(data.length, 1024);
  for (let i = 0; i < n; i++) {
    const b = data[i]!;
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** UTF-8 text of `data`, leaving out a sequence cut at the end by a cap. */
function utf8Prefix(data: Uint8Array): string {
  // Valid UTF-8 has no cut sequence to leave out: every conforming decoder reads it the same, and
  // utf8At does so without a decoder's set-up (it leaves a leading BOM to TextDecoder too).
  if (isUtf8(data)) return utf8At(data, 0, data.length);
  return new TextDecoder('utf-8').decode(data, { stream: true });
}
