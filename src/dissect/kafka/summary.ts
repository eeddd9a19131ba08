/**
 * From a request and its response to an Entry (DESIGN.md: method = API name, path = topics, status =
 * error code name). Either side may be missing: a request never answered (or a Produce with acks=0,
 * which is never answered), a response whose request was not captured.
 */
import type { Entry } from '../entry.js';
import { apiName, isFlexible } from './apis.js';
import { errorName } from './errors.js';
import type { ParsedBody, RequestHeader, TopicInfo } from './messages.js';

/** A message as seen on the wire; its fields are decoded copies, so it may outlive the capture buffer. */
interface SeenMessage {
  /** Capture time of its first byte, µs. */
  ts: number;
  /** Wire bytes, Size field included. */
  size: number;
  /** Bytes lost in gaps. */
  lost: number;
  /** The stream ended inside it. */
  cut: boolean;
  /** Part of it was not read: past the keep cap, or after a gap. */
  partial: boolean;
  /** Why its body did not parse, when it was whole. */
  malformed: string | null;
}

export interface SeenRequest extends SeenMessage {
  header: RequestHeader;
  body: ParsedBody;
  /** False for Produce with acks=0 (Kafka protocol guide, Produce API: no response is sent). */
  expectsResponse: boolean;
  /** Bytes of it read, which bound its decoded form (the pending table's budget). */
  weight: number;
}

export interface SeenResponse extends SeenMessage {
  correlationId: number;
  /** Null when the request was not seen (its API, hence the body's layout, is unknown). */
  body: ParsedBody | null;
}

export type KafkaEntry = Omit<Entry, 'type' | 'id' | 'connectionId' | 'src' | 'dst'>;

/** Topics listed in `path` (the entry's `request.topics` has up to MAX_TOPICS). */
const PATH_TOPICS = 8;
const PATH_MAX = 256;

function topicLabel(t: TopicInfo): string {
  return t.name ?? t.topicId ?? '';
}

export function topicsPath(body: ParsedBody): string {
  if (!body.topics) return '';
  const names = body.topics.slice(0, PATH_TOPICS).map(topicLabel);
  let path = names.join(',');
  if (path.length > PATH_MAX) path = `${path.slice(0, PATH_MAX)}…`;
  const more = body.topicCount - Math.min(body.topics.length, PATH_TOPICS);
  return more > 0 ? `${path} (+${more})` : path;
}

/** The top-level error if set, else the first non-zero partition/topic error, else NONE; null if none was read. */
export function statusOf(body: ParsedBody): string | null {
  if (body.errorCode !== null && body.errorCode !== 0) return errorName(body.errorCode);
  const nested = body.nestedErrors.find((c) => c !== 0);
  if (nested !== undefined) return errorName(nested);
  if (body.errorCode !== null || body.nestedErrors.length > 0) return 'NONE';
  return null;
}

function bodyFields(body: ParsedBody): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body.fields };
  if (body.topics) {
    out.topics = body.topics;
    out.topicCount = body.topicCount;
  }
  if (body.error) out.parseError = body.error;
  if (body.trailingBytes > 0) out.trailingBytes = body.trailingBytes;
  return out;
}

function requestFields(q: SeenRequest): Record<string, unknown> {
  const h = q.header;
  const out: Record<string, unknown> = {
    apiKey: h.apiKey,
    apiVersion: h.apiVersion,
    correlationId: h.correlationId,
    clientId: h.clientId,
    headerVersion: h.headerVersion,
    flexible: isFlexible(h.apiKey, h.apiVersion),
    ...bodyFields(q.body),
  };
  if (h.apiKey === 0 && q.body.topics) {
    let bytes = 0;
    let count = 0;
    for (const t of q.body.topics)
      for (const p of t.partitions ?? []) {
        bytes += p.records?.bytes ?? 0;
        count += p.records?.records ?? 0;
      }
    out.recordBytes = bytes;
    out.recordCount = count;
  }
  if (q.partial) out.partial = true;
  return out;
}

function responseFields(r: SeenResponse): Record<string, unknown> {
  const out: Record<string, unknown> = { correlationId: r.correlationId };
  if (r.body) {
    if (r.body.errorCode !== null) {
      out.errorCode = r.body.errorCode;
      out.error = errorName(r.body.errorCode);
    }
    Object.assign(out, bodyFields(r.body));
  }
  if (r.partial) out.partial = true;
  return out;
}

function damage(side: string, m: SeenMessage, errors: string[]): void {
  if (m.cut) errors.push(`${side} cut at the end of the stream`);
  else if (m.lost > 0) errors.push(`${m.lost} bytes of the ${side} lost in a gap`);
  if (m.malformed) errors.push(`malformed ${side}: ${m.malformed}`);
}

/** `missing` explains an absent side ('no response', 'request not captured'); null when normal. */
export function buildEntry(
  q: SeenRequest | null,
  r: SeenResponse | null,
  missing: string | null,
): KafkaEntry {
  const errors: string[] = [];
  if (missing) errors.push(missing);
  if (q) damage('request', q, errors);
  if (r) damage('response', r, errors);
  return {
    protocol: 'kafka',
    timestamp: (q ?? r)!.ts,
    elapsedMs: q && r ? Math.round(r.ts - q.ts) / 1000 : null,
    method: q ? apiName(q.header.apiKey) : '',
    path: q ? topicsPath(q.body) : '',
    status: r?.body ? statusOf(r.body) : null,
    request: q ? requestFields(q) : {},
    response: r ? responseFields(r) : null,
    requestSize: q?.size ?? 0,
    responseSize: r?.size ?? 0,
    error: errors.length ? errors.join('; ') : null,
  };
}
