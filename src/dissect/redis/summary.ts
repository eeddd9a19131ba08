/**
 * From commands and replies to entries (DESIGN.md: method = command, path = first key, status =
 * OK / ERROR / NIL). Replies are shown compactly: their type, their value (strings cut, the first
 * elements of aggregates) and their element count.
 */
import { type EntryFields, NO_DETAIL } from '../dissector.js';
import type { Entry, EntryEndpoint } from '../entry.js';
import type { Command } from './commands.js';
import type { RespMessage, RespValue } from './resp.js';

/**
 * What the session emits: a whole Entry for commands and orphan replies (the router sets its id
 * and connection in place, SessionContext.emit), the fields with their own src and dst for pushes.
 */
export type RedisEntry = EntryFields | Entry;

/** The connection's client and server, as a command's entry names them. */
export interface Endpoints {
  readonly client: EntryEndpoint;
  readonly server: EntryEndpoint;
}

/** A command seen on the wire, waiting for its reply (or replies, for pub/sub confirmations). */
export interface PendingCommand {
  command: Command;
  ts: number;
  size: number;
  /** Replies still expected: 1, or one confirmation per channel for (P|S)(UN)SUBSCRIBE. */
  expect: number;
  /** The first replies (up to 32); `received` counts them all. */
  replies: RespMessage[];
  received: number;
  /** Wire bytes of all replies, also those not kept. */
  replyBytes: number;
  /** Estimated bytes kept for it (its arguments), for the pending budget. */
  cost: number;
}

/** Confirmations kept per command (a SUBSCRIBE to thousands of channels is counted, not listed). */
const MAX_KEPT_REPLIES = 32;

/**
 * `replies` of a command still waiting: shared, and replaced by the first reply's own array (most
 * commands get one reply; an empty array per command, grown on its first push, costs more).
 */
export const NO_REPLIES: readonly RespMessage[] = Object.freeze([]);

export function addReply(p: PendingCommand, m: RespMessage): void {
  if (p.replies.length === 0) p.replies = [m];
  else if (p.replies.length < MAX_KEPT_REPLIES) p.replies.push(m);
  p.received++;
  p.replyBytes += m.size;
  p.expect--;
}

/** A nested value as plain JSON: strings, numbers, booleans, null, arrays, objects. */
export function renderValue(v: RespValue): unknown {
  switch (v.type) {
    case 'simple':
    case 'bulk':
    case 'verbatim':
    case 'bignum':
      return v.text ?? '';
    case 'integer':
      return v.int ?? v.text ?? null;
    case 'double': {
      const n = Number(v.text);
      return Number.isFinite(n) ? n : (v.text ?? '').toLowerCase();
    }
    case 'boolean':
      return v.bool ?? false;
    case 'null':
      return null;
    case 'error':
    case 'blobError':
      return { error: v.text ?? '' };
    case 'map':
      return mapObject(v);
    default:
      return (v.items ?? []).map(renderValue);
  }
}

/** A map as an object; keys that are not strings are written as JSON. Later duplicates win. */
function mapObject(v: RespValue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const items = v.items ?? [];
  for (let i = 0; i + 1 < items.length; i += 2) {
    const k = renderValue(items[i]!);
    out[typeof k === 'string' ? k : JSON.stringify(k)] = renderValue(items[i + 1]!);
  }
  return out;
}

/** A top-level reply: `type`, `value`, and `count` / `length` / `code` / `format` where they apply. */
export function renderReply(v: RespValue): Record<string, unknown> {
  if (v.truncated !== true && v.attributes === undefined) {
    // The common replies, built whole (the same keys in the same order as below).
    switch (v.type) {
      case 'simple':
        return { type: v.type, value: v.text ?? '' };
      case 'integer':
        return { type: v.type, value: v.int ?? v.text ?? null };
      case 'null':
        return { type: v.type };
      case 'bulk':
        if (v.format === undefined) return { type: v.type, value: v.text ?? '', length: v.length ?? 0 };
        break;
    }
  }
  const out: Record<string, unknown> = { type: v.type };
  switch (v.type) {
    case 'null':
      break;
    case 'error':
    case 'blobError':
      out.value = v.text ?? '';
      // The first word is the error's code by convention (spec, "Simple errors"): ERR, WRONGTYPE...
      out.code = /^\S+/.exec(v.text ?? '')?.[0] ?? '';
      break;
    case 'bulk':
    case 'verbatim':
      out.value = v.text ?? '';
      out.length = v.length ?? 0;
      if (v.format) out.format = v.format;
      break;
    case 'array':
    case 'set':
    case 'push':
    case 'map':
      out.count = v.count ?? 0;
      out.value = renderValue(v);
      break;
    default:
      out.value = renderValue(v);
  }
  if (v.truncated) out.truncated = true;
  if (v.attributes) out.attributes = renderValue(v.attributes);
  // Attributes may also describe an element (spec, "Attribute type": "*3 :1 :2 |1 +ttl :3600 :3").
  if (v.items) {
    const nested: Record<string, unknown> = {};
    v.items.forEach((item, i) => {
      if (item.attributes) nested[String(i)] = renderValue(item.attributes);
    });
    if (Object.keys(nested).length > 0) out.elementAttributes = nested;
  }
  return out;
}

export function replyStatus(v: RespValue): 'OK' | 'ERROR' | 'NIL' {
  if (v.type === 'error' || v.type === 'blobError') return 'ERROR';
  // RESP3's null and RESP2's null bulk string and null array alike.
  if (v.type === 'null') return 'NIL';
  return 'OK';
}

function requestFields(c: Command): Record<string, unknown> {
  const r: Record<string, unknown> = { command: c.name, args: c.args, argCount: c.argCount };
  if (c.truncated) r.truncated = true;
  if (c.inline) r.inline = true;
  return r;
}

/**
 * The entry of a command and what answered it; `error` explains a missing or odd reply. Without
 * `detail` (SessionContext.detail), request and response are NO_DETAIL.
 */
export function commandEntry(p: PendingCommand, error: string | null, at: Endpoints, detail = true): Entry {
  const first = p.replies[0];
  if (!first) return entryOf(p, null, null, null, error, at, detail);
  if (p.command.subscribe && first.value.type !== 'error') {
    // One confirmation per channel (spec, "Pub/Sub"): [kind, channel, subscription count].
    let response: Record<string, unknown> = NO_DETAIL;
    if (detail) {
      const confirmations = p.replies.map((r) => renderValue(r.value));
      response = { type: first.value.type, count: p.received + Math.max(0, p.expect), confirmations };
      if (p.expect > 0) response.missing = p.expect;
    }
    const failed = p.replies.find((r) => replyStatus(r.value) === 'ERROR');
    return entryOf(p, first.ts, response, failed ? 'ERROR' : 'OK', error, at, detail);
  }
  return answeredEntry(p, first.value, first.ts, error, at, detail);
}

/** The entry of a command answered by `v` (first byte at `ts`); its responseSize is p.replyBytes. */
export function answeredEntry(
  p: PendingCommand,
  v: RespValue,
  ts: number,
  error: string | null,
  at: Endpoints,
  detail: boolean,
): Entry {
  return entryOf(p, ts, detail ? renderReply(v) : NO_DETAIL, replyStatus(v), error, at, detail);
}

function entryOf(
  p: PendingCommand,
  replyTs: number | null,
  response: Record<string, unknown> | null,
  status: string | null,
  error: string | null,
  at: Endpoints,
  detail: boolean,
): Entry {
  // The keys in the order every entry is written (router.ts): id and connectionId set there.
  return {
    type: 'entry',
    id: '',
    connectionId: 0,
    protocol: 'redis',
    timestamp: p.ts,
    elapsedMs: replyTs === null ? null : (replyTs - p.ts) / 1000,
    method: p.command.name,
    path: p.command.key,
    status,
    request: detail ? requestFields(p.command) : NO_DETAIL,
    response,
    requestSize: p.size,
    responseSize: p.replyBytes,
    error,
    src: at.client,
    dst: at.server,
  };
}

/** A reply whose command was not seen (capture started late, a gap, or a mismatch). */
export function orphanEntry(m: RespMessage, error: string, at: Endpoints, detail = true): Entry {
  return {
    type: 'entry',
    id: '',
    connectionId: 0,
    protocol: 'redis',
    timestamp: m.ts,
    elapsedMs: null,
    method: '',
    path: '',
    status: replyStatus(m.value),
    request: detail ? {} : NO_DETAIL,
    response: detail ? renderReply(m.value) : NO_DETAIL,
    requestSize: 0,
    responseSize: m.size,
    error,
    src: at.client,
    dst: at.server,
  };
}

function text(v: RespValue | undefined): string {
  if (!v) return '';
  const r = renderValue(v);
  return typeof r === 'string' ? r : typeof r === 'number' ? String(r) : '';
}

/**
 * A message the server pushes on its own (spec, "Pub/Sub" and "Push type"): `message`, `pmessage`,
 * `smessage`, `invalidate`... An entry from the server to the client, method its kind upper-cased,
 * path its channel.
 */
export function pushEntry(
  m: RespMessage,
  kind: string,
  server: EntryEndpoint,
  client: EntryEndpoint,
  error: string | null = null,
): RedisEntry {
  const items = m.value.items ?? [];
  const request: Record<string, unknown> = { kind, push: m.value.type === 'push' };
  let path = '';
  if (kind === 'pmessage') {
    // [pmessage, pattern, channel, payload]
    request.pattern = text(items[1]);
    path = text(items[2]);
    request.channel = path;
    payload(request, items[3]);
  } else if (kind === 'message' || kind === 'smessage') {
    // [message, channel, payload]
    path = text(items[1]);
    request.channel = path;
    payload(request, items[2]);
  } else if (kind === 'invalidate') {
    // Client-side caching (redis.io "Client-side caching"): [invalidate, [key...] | null]
    const keys = items[1];
    request.keys = keys ? renderValue(keys) : null;
    path = text(keys?.items?.[0]);
  } else {
    path = text(items[1]);
    request.value = items.slice(1).map(renderValue);
  }
  if (m.value.truncated) request.truncated = true;
  return {
    protocol: 'redis',
    timestamp: m.ts,
    elapsedMs: null,
    src: server,
    dst: client,
    method: kind.toUpperCase(),
    path,
    status: null,
    request,
    response: null,
    requestSize: m.size,
    responseSize: 0,
    error,
  };
}

function payload(request: Record<string, unknown>, v: RespValue | undefined): void {
  if (!v) return;
  request.payload = renderValue(v);
  if (v.length !== undefined) request.payloadSize = v.length;
}
