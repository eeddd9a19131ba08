/**
 * Recognising Kafka by content. A client's first bytes must read as a request (Kafka protocol guide,
 * "Common Request and Response Structure"): a plausible Size, an API key this table knows with a
 * version within its range, and a client_id that is null or printable text. Kafka has no magic bytes,
 * so the client_id carries most of the weight: random or foreign bytes rarely pass all of it.
 *
 * A response carries nothing but a correlation id, so the server's direction is never claimed on its
 * own: detection waits ('more') for the client's bytes when the server's first bytes could be a
 * response, and the session pairs responses with the requests it saw.
 */
import type { Detection } from '../dissector.js';
import { apiInfo, requestHeaderVersion, validVersion } from './apis.js';

/** Broker default socket.request.max.bytes (100 MiB): brokers refuse larger requests. */
export const MAX_REQUEST_SIZE = 104_857_600;
/** Responses are bounded by fetch.max.bytes and the like, which can be raised; 1 GiB is generous. */
export const MAX_RESPONSE_SIZE = 1 << 30;
/** Request header v0 (api_key, api_version, correlation_id) is 8 bytes. */
export const MIN_REQUEST_SIZE = 8;
export const MIN_RESPONSE_SIZE = 4;
/** Versions a session accepts past the table's highest: newer clients than this table. */
export const VERSION_SLACK = 8;
/** Longest client_id detection waits for (the router holds at most 8 KiB). */
const MAX_DETECT_CLIENT_ID = 1024;

function i32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

function i16(b: Uint8Array, at: number): number {
  return (((b[at]! << 8) | b[at + 1]!) << 16) >> 16;
}

/** Text as client ids are written: no control characters (UTF-8 above 0x7f allowed). */
function printable(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/**
 * Is `data` the start of a Kafka request? `strict` (detection) requires a known version and a
 * printable client_id; the session's check within a stream it already follows allows versions a
 * little past the table.
 */
export function looksLikeRequest(data: Uint8Array, strict: boolean): Detection {
  if (data.length < 4) return 'more';
  const size = i32(data, 0);
  if (size < MIN_REQUEST_SIZE || size > MAX_REQUEST_SIZE) return 'no';
  if (data.length < 8) return 'more';
  const key = i16(data, 4);
  const version = i16(data, 6);
  const info = apiInfo(key);
  if (!info || version < 0) return 'no';
  if (strict ? !validVersion(key, version) : version > info.maxVersion + VERSION_SLACK) return 'no';
  if (requestHeaderVersion(key, version) === 0) return strict ? 'no' : 'yes';
  if (data.length < 14) return size < 10 ? 'no' : 'more';
  const idLen = i16(data, 12);
  if (idLen < -1 || 10 + Math.max(idLen, 0) > size) return 'no';
  if (!strict || idLen <= 0) return 'yes';
  if (idLen > MAX_DETECT_CLIENT_ID) return 'no';
  if (data.length < 14 + idLen) return 'more';
  return printable(data, 14, 14 + idLen) ? 'yes' : 'no';
}

/** Could `data` start a response? Only its Size can be judged. */
export function looksLikeResponse(data: Uint8Array): Detection {
  if (data.length < 4) return 'more';
  const size = i32(data, 0);
  return size >= MIN_RESPONSE_SIZE && size <= MAX_RESPONSE_SIZE ? 'more' : 'no';
}

export function detectKafka(dir: 0 | 1, data: Uint8Array): Detection {
  return dir === 0 ? looksLikeRequest(data, true) : looksLikeResponse(data);
}
