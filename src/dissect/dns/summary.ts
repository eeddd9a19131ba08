/**
 * From a query and its response to an Entry (DESIGN.md: method = query type, path = query name,
 * status = rcode name). Either side may be missing: a query never answered, a response whose query
 * was not captured (mid-capture, or an mDNS announcement, which answers no one).
 */
import type { Entry, EntryEndpoint } from '../entry.js';
import { type DnsMessage, rcodeName } from './messages.js';

/** A message as seen on the wire. Its fields are decoded copies: it may outlive the capture buffer. */
export interface Seen {
  message: DnsMessage;
  /** The parser's first error, if the message was malformed. */
  parseError: string | null;
  /** Capture time of its first byte, µs. */
  ts: number;
  /** Bytes on the wire (for TCP with the two-byte length prefix). */
  size: number;
  src: EntryEndpoint;
  dst: EntryEndpoint;
}

export type DnsEntry = Omit<Entry, 'type' | 'id' | 'connectionId'>;

/** 224.0.0.0/4 and ff00::/8. */
export function isMulticast(ip: string): boolean {
  if (ip.includes(':')) return ip.toLowerCase().startsWith('ff');
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return first >= 224 && first <= 239;
}

/**
 * method and path: the first question's type and name. A message without questions (an mDNS
 * announcement, RFC 6762 §8.3) is summarised by its first answer, else by its opcode.
 */
export function summary(m: DnsMessage): { method: string; path: string } {
  const q = m.questions[0];
  if (q) return { method: q.type, path: q.name };
  const a = m.answers[0] ?? m.authority[0] ?? m.additional[0];
  if (a) return { method: a.type, path: a.name };
  return { method: m.header.flags.opcode, path: '' };
}

function fields(m: DnsMessage): Record<string, unknown> {
  const h = m.header;
  return {
    id: h.id,
    opcode: h.flags.opcode,
    flags: h.flags,
    counts: { questions: h.qdcount, answers: h.ancount, authority: h.nscount, additional: h.arcount },
    questions: m.questions,
    answers: m.answers,
    authority: m.authority,
    additional: m.additional,
    edns: m.edns,
  };
}

export function requestFields(m: DnsMessage): Record<string, unknown> {
  return fields(m);
}

export function responseFields(m: DnsMessage): Record<string, unknown> {
  return { ...fields(m), rcode: rcodeName(m.rcode) };
}

function sameQuestion(q: DnsMessage, r: DnsMessage): boolean {
  const a = q.questions[0];
  const b = r.questions[0];
  // A response may leave the question out (RFC 1035 §4.1.1 does not require it back, e.g. FORMERR).
  if (!a || !b) return true;
  return a.type === b.type && a.name.toLowerCase() === b.name.toLowerCase();
}

/** Whether `response` may answer `query` beyond the ID match (RFC 5452 §9.1: the question too). */
export function answers(query: Seen, response: Seen): boolean {
  return sameQuestion(query.message, response.message);
}

/**
 * The entry for a query and/or its response. `missing` explains an absent side (e.g. 'no response'),
 * null when its absence is normal (mDNS multicast).
 */
export function buildEntry(query: Seen | null, response: Seen | null, missing: string | null): DnsEntry {
  const errors: string[] = [];
  if (missing) errors.push(missing);
  if (query?.parseError) errors.push(`malformed query: ${query.parseError}`);
  if (response?.parseError) errors.push(`malformed response: ${response.parseError}`);
  const first = (query ?? response)!;
  const { method, path } = summary(first.message);
  let src: EntryEndpoint;
  let dst: EntryEndpoint;
  if (query) {
    src = query.src;
    // A query to a multicast group (mDNS one-shot, LLMNR) is answered by one host: name it.
    dst = response && isMulticast(query.dst.ip) ? response.src : query.dst;
  } else if (isMulticast(first.dst.ip)) {
    // An announcement: from the responder to the group.
    src = first.src;
    dst = first.dst;
  } else {
    // A response whose query was not seen: the entry still reads client -> server.
    src = first.dst;
    dst = first.src;
  }
  return {
    protocol: 'dns',
    timestamp: first.ts,
    elapsedMs: query && response ? Math.round(response.ts - query.ts) / 1000 : null,
    src,
    dst,
    method,
    path,
    status: response ? rcodeName(response.message.rcode) : null,
    request: query ? requestFields(query.message) : {},
    response: response ? responseFields(response.message) : null,
    requestSize: query?.size ?? 0,
    responseSize: response?.size ?? 0,
    error: errors.length ? errors.join('; ') : null,
  };
}
