/**
 * Exchanges to entries (DESIGN.md's mqtt row): method is the packet type that opened the exchange,
 * path its topic (a SUBSCRIBE's or UNSUBSCRIBE's first topic filter, a CONNECT's client identifier),
 * status the reason / return code that closed it, named in `response.reasonName`.
 */
import type { Direction } from '../../flows/stream.js';
import type { Entry, EntryEndpoint } from '../entry.js';
import { codeName, type MqttPacket, type MqttVersion, PacketType } from './messages.js';

/** A packet as the session saw it. */
export interface Seen {
  packet: MqttPacket;
  dir: Direction;
  /** Capture time of its first byte, µs. */
  ts: number;
  /** The version it was read as. */
  version: MqttVersion | null;
}

/** One exchange: a request and what answered it, or an answer whose request was not seen. */
export interface Exchange {
  request: Seen | null;
  /** Acknowledgements, and a QoS 2 flow's PUBREL and PUBCOMP, in order. */
  replies: Seen[];
  /** A PUBLISH's topic after Topic Alias resolution (5.0 §3.3.2.3.4). */
  topic?: string;
  errors: string[];
}

export type MqttEntry = Omit<Entry, 'type' | 'id' | 'connectionId'>;

/** Fields of one packet, as `request` / `response` show them. */
export function packetFields(s: Seen): Record<string, unknown> {
  const p = s.packet;
  const f: Record<string, unknown> = { type: p.name };
  if (p.packetId !== null) f.packetId = p.packetId;
  if (p.connect) {
    const c = p.connect;
    // The version right after the level it comes from; the rest in the packet's order.
    Object.assign(f, { protocolName: c.protocolName, protocolLevel: c.protocolLevel, version: c.version }, c);
  }
  if (p.publish) {
    const { packetId: _id, ...pub } = p.publish;
    Object.assign(f, pub);
  }
  if (p.subscriptions) f.subscriptions = p.subscriptions;
  if (p.topicFilters) f.topicFilters = p.topicFilters;
  if (p.sessionPresent !== undefined) f.sessionPresent = p.sessionPresent;
  if (p.code !== null) {
    f.reasonCode = p.code;
    f.reasonName = codeName(s.version, p.type, p.code);
  }
  if (p.codes) {
    f.reasonCodes = p.codes;
    f.reasonNames = p.codes.map((c) => codeName(s.version, p.type, c));
  }
  if (p.properties) f.properties = p.properties;
  f.size = p.size;
  return f;
}

function pathOf(p: MqttPacket, topic: string | undefined): string {
  if (p.publish) return topic ?? p.publish.topic;
  if (p.connect) return p.connect.clientId;
  if (p.subscriptions) return p.subscriptions[0]?.topicFilter ?? '';
  if (p.topicFilters) return p.topicFilters[0] ?? '';
  return '';
}

/**
 * The entry for an exchange. `ends` are the endpoints by direction (0: the connection's client).
 * A request's sender is `src`; for an answer without its request, the answer's receiver is.
 */
export function buildEntry(ex: Exchange, ends: readonly [EntryEndpoint, EntryEndpoint]): MqttEntry {
  const first = ex.request ?? ex.replies[0]!;
  const reqDir: Direction = ex.request ? ex.request.dir : ex.replies[0]!.dir === 0 ? 1 : 0;
  const fromRequester = ex.replies.filter((r) => r.dir === reqDir);
  const answers = ex.replies.filter((r) => r.dir !== reqDir);
  const final = answers[answers.length - 1] ?? null;
  const request: Record<string, unknown> = ex.request ? packetFields(ex.request) : {};
  if (ex.request?.packet.publish && ex.topic !== undefined && ex.topic !== ex.request.packet.publish.topic) {
    request.topic = ex.topic;
    request.topicFromAlias = true;
  }
  let response: Record<string, unknown> | null = null;
  if (final) {
    response = packetFields(final);
    // A QoS 2 flow (5.0 §4.3.3): every step, the publisher's PUBREL included.
    if (ex.replies.length > 1 || fromRequester.length > 0) response.flow = ex.replies.map(packetFields);
  } else if (ex.replies.length > 0) {
    // Only the requester's follow-ups (an orphan PUBREL's flow cut short): shown, no answer.
    request.flow = ex.replies.map(packetFields);
  }
  const requestSize = (ex.request?.packet.size ?? 0) + fromRequester.reduce((n, r) => n + r.packet.size, 0);
  const responseSize = answers.reduce((n, r) => n + r.packet.size, 0);
  const firstAnswer = answers[0];
  const method = (ex.request ?? ex.replies[0]!).packet.name;
  return {
    protocol: 'mqtt',
    timestamp: first.ts,
    elapsedMs: ex.request && firstAnswer ? Math.round(firstAnswer.ts - ex.request.ts) / 1000 : null,
    src: ends[reqDir],
    dst: ends[reqDir === 0 ? 1 : 0],
    method,
    path: ex.request ? pathOf(ex.request.packet, ex.topic) : '',
    status: statusOf(ex, final),
    request,
    response,
    requestSize,
    responseSize,
    error: ex.errors.length > 0 ? ex.errors.join('; ') : null,
  };
}

/** The code that closed the exchange; a lone packet's own (5.0 DISCONNECT, AUTH); PINGRESP has none. */
function statusOf(ex: Exchange, final: Seen | null): number | null {
  if (final) return final.packet.code;
  const p = ex.request?.packet;
  if (p && (p.type === PacketType.DISCONNECT || p.type === PacketType.AUTH)) return p.code;
  return null;
}
