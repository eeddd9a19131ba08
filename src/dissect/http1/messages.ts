/**
 * HTTP/1.x message heads as the parser reads them (RFC 9112 §2.1: start-line, header fields, empty
 * line). Header names keep the case they had on the wire; lookups ignore case (RFC 9110 §5.1).
 */

/** Header fields in wire order; a name may repeat (RFC 9110 §5.3). */
export type HeaderList = [name: string, value: string][];

export interface RequestHead {
  kind: 'request';
  method: string;
  /** The request-target as sent (RFC 9112 §3.2): origin, absolute, authority or asterisk form. */
  target: string;
  /** "1.0" or "1.1". */
  version: string;
  headers: HeaderList;
  /** Bytes of the head on the wire, start-line to the empty line included. */
  size: number;
}

export interface ResponseHead {
  kind: 'response';
  version: string;
  status: number;
  reason: string;
  headers: HeaderList;
  size: number;
}

export type MessageHead = RequestHead | ResponseHead;

/**
 * A field name in lower case, for comparisons (RFC 9110 §5.1: names are case-insensitive). Names
 * repeat on every message (and come interned from the head parser), so the lower-case forms are
 * kept, up to a bound, instead of being made again for every lookup.
 */
export function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < MAX_LOWER_NAMES) lowerNames.set(name, lower);
  }
  return lower;
}

const MAX_LOWER_NAMES = 4096;
const lowerNames = new Map<string, string>();

// Field names are tokens (ASCII, parser.ts), so a name and its lower case have the same length:
// comparing lengths first skips most fields without a lookup.

/** The first value of a header field, compared case-insensitively; undefined when absent. */
export function header(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h[0].length === lower.length && lowerName(h[0]) === lower) return h[1];
  }
  return undefined;
}

/**
 * Every value of a (list-valued) header field, split on commas and trimmed (RFC 9110 §5.6.1). The
 * list is the caller's to read, not to change: without the field it is one shared empty list.
 */
export function headerTokens(headers: HeaderList, name: string): readonly string[] {
  const lower = name.toLowerCase();
  let out: string[] | null = null;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h[0].length !== lower.length || lowerName(h[0]) !== lower) continue;
    out ??= [];
    for (const part of h[1].split(',')) {
      const t = part.trim().toLowerCase();
      if (t) out.push(t);
    }
  }
  return out ?? NO_TOKENS;
}

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** Headers as the entry shows them: one key per name as first seen, repeated fields joined by ", ". */
export function headerRecord(headers: HeaderList): Record<string, string> {
  const out: Record<string, string> = {};
  const n = headers.length;
  for (let i = 0; i < n; i++) {
    const h = headers[i]!;
    const name = h[0];
    const value = h[1];
    const lower = lowerName(name);
    // The key is the first name with this lower case (a short list is searched, not mapped).
    let key: string | undefined;
    for (let j = 0; j < i; j++) {
      const earlier = headers[j]![0];
      if (earlier.length === name.length && lowerName(earlier) === lower) {
        key = earlier;
        break;
      }
    }
    if (key === undefined) out[name] = value;
    else out[key] = `${out[key]}, ${value}`;
  }
  return out;
}

/** Methods of RFC 9110 §9, PATCH (RFC 5789) and WebDAV (RFC 4918, 3253, 5323), for resynchronising. */
export const KNOWN_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
  'PURGE',
] as const;
