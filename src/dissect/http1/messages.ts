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

/** The first value of a header field, compared case-insensitively; undefined when absent. */
export function header(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of a (list-valued) header field, split on commas and trimmed (RFC 9110 §5.6.1). */
export function headerTokens(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (n.toLowerCase() !== lower) continue;
    for (const part of v.split(',')) {
      const t = part.trim().toLowerCase();
      if (t) out.push(t);
    }
  }
  return out;
}

/** Headers as the entry shows them: one key per name as first seen, repeated fields joined by ", ". */
export function headerRecord(headers: HeaderList): Record<string, string> {
  const out: Record<string, string> = {};
  const keyOf = new Map<string, string>();
  for (const [n, v] of headers) {
    const lower = n.toLowerCase();
    const key = keyOf.get(lower);
    if (key === undefined) {
      keyOf.set(lower, n);
      out[n] = v;
    } else {
      out[key] = `${out[key]}, ${v}`;
    }
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
