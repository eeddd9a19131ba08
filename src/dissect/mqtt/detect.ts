/**
 * MQTT by content. A client's stream starts with CONNECT, whose protocol name and level are
 * unmistakable (3.1 "MQIsdp" level 3, 3.1.1 "MQTT" 4, 5.0 "MQTT" 5). A stream picked up mid-way
 * is recognised by a run of packets that each read well: a known type with the fixed header flags
 * its type requires, a Remaining Length that the body fills exactly, reason codes its section
 * allows, non-zero packet identifiers, topics that are printable UTF-8. The same checks find where
 * a stream resumes after a gap.
 */
import type { Direction } from '../../flows/stream.js';
import type { Detection } from '../dissector.js';
import { readHeader } from './framer.js';
import { flagsValid, type MqttPacket, PacketType, reasonAllowed } from './messages.js';
import { parsePacket } from './parser.js';

/** Past this many bytes without a run of packets, a stream is not MQTT for us. */
export const SCAN_LIMIT = 1024;
/** At most this many packets are read to judge a run. */
const RUN_CAP = 8;
/** Bytes enough for a CONNECT's header up to the protocol level. */
const CONNECT_HEAD = 5 + 2 + 6 + 1;

type Verdict =
  /** A whole packet that reads well. */
  | { kind: 'ok'; next: number; type: number }
  /** The bytes end inside a packet whose visible part reads well; `vouched` when enough of it did. */
  | { kind: 'partial'; vouched: boolean }
  | { kind: 'bad' };

const PRINTABLE_OR_EMPTY = /^[^\u0000-\u001f\u007f\ufffd]*$/u;

function goodTopic(t: string, wildcards: boolean): boolean {
  if (!PRINTABLE_OR_EMPTY.test(t)) return false;
  return wildcards || (!t.includes('+') && !t.includes('#'));
}

/** 3.1 §3.1, 3.1.1 §3.1.2.1-2, 5.0 §3.1.2.1-2: the protocol name and level at a CONNECT body. */
function connectName(b: Uint8Array, at: number): 'yes' | 'no' | 'more' {
  const expect = (want: number[]): 'yes' | 'no' | 'more' => {
    for (let i = 0; i < want.length; i++) {
      const c = b[at + i];
      if (c === undefined) return 'more';
      if (c !== want[i]) return 'no';
    }
    return 'yes';
  };
  const mqtt = expect([0, 4, 0x4d, 0x51, 0x54, 0x54]);
  if (mqtt === 'no') {
    const isdp = expect([0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70]);
    if (isdp !== 'yes') return isdp;
    const level = b[at + 8];
    return level === undefined ? 'more' : (level & 0x7f) === 3 ? 'yes' : 'no';
  }
  if (mqtt !== 'yes') return mqtt;
  const level = b[at + 6];
  return level === undefined ? 'more' : (level & 0x7f) === 4 || (level & 0x7f) === 5 ? 'yes' : 'no';
}

/** Whether a decoded packet keeps to what its section allows (beyond parsing without error). */
function wellFormed(p: MqttPacket, v5: boolean): boolean {
  const needsId =
    p.type !== PacketType.CONNECT &&
    p.type !== PacketType.CONNACK &&
    p.type !== PacketType.PINGREQ &&
    p.type !== PacketType.PINGRESP &&
    p.type !== PacketType.DISCONNECT &&
    p.type !== PacketType.AUTH &&
    !(p.type === PacketType.PUBLISH && p.publish?.qos === 0);
  if (needsId && !p.packetId) return false; // 3.1.1 §2.3.1: non-zero
  switch (p.type) {
    case PacketType.CONNECT:
      return goodTopic(p.connect?.clientId ?? '', true);
    case PacketType.CONNACK:
      return v5 ? reasonAllowed(p.type, p.code ?? -1) : (p.code ?? 9) <= 5;
    case PacketType.PUBLISH: {
      const pub = p.publish!;
      // 5.0 §3.3.2.1: an empty topic only with a Topic Alias.
      if (pub.topic === '' && !(v5 && pub.properties?.topicAlias)) return false;
      return goodTopic(pub.topic, false);
    }
    case PacketType.SUBSCRIBE:
      return (p.subscriptions ?? []).every(
        (s) => s.topicFilter !== '' && s.qos < 3 && goodTopic(s.topicFilter, true),
      );
    case PacketType.UNSUBSCRIBE:
      return (p.topicFilters ?? []).every((f) => f !== '' && goodTopic(f, true));
    case PacketType.SUBACK:
      return (p.codes ?? []).every((c) => (v5 ? reasonAllowed(p.type, c) : c <= 2 || c === 0x80));
    case PacketType.UNSUBACK:
      return (p.codes ?? []).every((c) => reasonAllowed(p.type, c));
    default:
      return p.code === null || reasonAllowed(p.type, p.code);
  }
}

/** Judges the packet at `at` without knowing the connection's version (3.1.1 and 5.0 are tried). */
function judge(b: Uint8Array, at: number): Verdict {
  const h = readHeader(b, at);
  if (h === 'more') {
    const byte0 = b[at];
    return byte0 === undefined || (byte0 >> 4 !== 0 && flagsValid(byte0 >> 4, byte0 & 15))
      ? { kind: 'partial', vouched: false }
      : { kind: 'bad' };
  }
  if (typeof h === 'string') return { kind: 'bad' };
  const type = h.byte0 >> 4;
  if (!flagsValid(type, h.byte0 & 15)) return { kind: 'bad' };
  const start = at + h.headerSize;
  const end = start + h.length;
  if (type === PacketType.CONNECT) {
    const name = connectName(b, start);
    if (name === 'no') return { kind: 'bad' };
    if (end > b.length) return { kind: 'partial', vouched: name === 'yes' };
  }
  if (end > b.length) {
    // Of a packet cut by the end of the bytes, a PUBLISH vouches for itself by a well-read topic.
    if (type !== PacketType.PUBLISH) return { kind: 'partial', vouched: false };
    if (start + 2 > b.length) return { kind: 'partial', vouched: false };
    const topicLength = (b[start]! << 8) | b[start + 1]!;
    if (topicLength + 2 > h.length) return { kind: 'bad' };
    // An empty topic (5.0 Topic Alias) vouches for nothing.
    if (topicLength === 0 || start + 2 + topicLength > b.length) return { kind: 'partial', vouched: false };
    const held = b.subarray(start, b.length);
    const { packet, error, cut } = parsePacket(h.byte0, held, h.length, h.headerSize + h.length, '3.1.1');
    if (error && !cut) return { kind: 'bad' };
    return goodTopic(packet.publish?.topic ?? '', false)
      ? { kind: 'partial', vouched: true }
      : { kind: 'bad' };
  }
  const body = b.subarray(start, end);
  for (const version of ['3.1.1', '5.0'] as const) {
    if (version === '5.0' && type === PacketType.CONNECT) break;
    const { packet, error } = parsePacket(h.byte0, body, h.length, h.headerSize + h.length, version);
    if (!error && wellFormed(packet, version === '5.0')) return { kind: 'ok', next: end, type };
  }
  return { kind: 'bad' };
}

export interface Run {
  /** Whole packets that read well, from the start. */
  complete: number;
  bad: boolean;
  /** The last whole packet ends where the bytes end. */
  exact: boolean;
  /** The bytes end in a packet whose visible part vouches for it (a CONNECT's name, a PUBLISH's topic). */
  vouched: boolean;
  firstType: number;
}

/** Reads packets from `at` for as long as they read well (up to RUN_CAP of them). */
export function run(b: Uint8Array, at: number): Run {
  const r: Run = { complete: 0, bad: false, exact: false, vouched: false, firstType: -1 };
  let pos = at;
  while (r.complete < RUN_CAP) {
    if (pos === b.length) {
      r.exact = r.complete > 0;
      break;
    }
    const v = judge(b, pos);
    if (v.kind === 'bad') {
      r.bad = true;
      break;
    }
    if (v.kind === 'partial') {
      r.vouched = v.vouched;
      if (r.firstType < 0) r.firstType = b[pos]! >> 4;
      break;
    }
    if (r.firstType < 0) r.firstType = v.type;
    r.complete++;
    pos = v.next;
  }
  return r;
}

/**
 * The start of a run of at least `min` packets at or past `from`, looking no further than `limit`:
 * where a stream picked up mid-way resumes.
 */
export function findRun(b: Uint8Array, from: number, min = 3, limit = SCAN_LIMIT): number {
  const last = Math.min(b.length - 2, limit);
  for (let k = from; k <= last; k++) {
    const byte0 = b[k]!;
    if (byte0 >> 4 === 0 || !flagsValid(byte0 >> 4, byte0 & 15)) continue;
    const r = run(b, k);
    if (!r.bad && (r.complete >= min || (r.complete >= 1 && r.vouched && r.firstType === PacketType.CONNECT)))
      return k;
  }
  return -1;
}

export function detectMqtt(_dir: Direction, data: Uint8Array): Detection {
  if (data.length === 0) return 'more';
  const first = data[0]!;
  if (first === 0x10) {
    // A CONNECT opens a client's stream: its protocol name decides at once.
    const h = readHeader(data, 0);
    if (h === 'more') return 'more';
    if (typeof h === 'string') return 'no';
    const name = connectName(data, h.headerSize);
    if (name !== 'no') return name === 'yes' ? 'yes' : data.length < CONNECT_HEAD ? 'more' : 'no';
  }
  const r = run(data, 0);
  if (!r.bad) {
    if (r.complete >= 2 || (r.complete === 1 && r.exact && r.firstType === PacketType.PUBLISH)) return 'yes';
    if (r.complete === 0 && r.vouched && r.firstType === PacketType.PUBLISH && data.length >= 64)
      return 'yes';
    return data.length < SCAN_LIMIT ? 'more' : 'no';
  }
  // Picked up mid-stream: a run of packets further in.
  if (findRun(data, 1) >= 0) return 'yes';
  return data.length < SCAN_LIMIT ? 'more' : 'no';
}

/**
 * Where a direction can be read from: 0 when `b` starts with a packet that reads well (a segment
 * after a gap usually starts one, as senders write whole packets), else the start of a run of
 * packets further in, else -1.
 */
export function syncPoint(b: Uint8Array): number {
  return readsFromStart(b) ? 0 : findRun(b, 1, 2, b.length);
}

/** Whether `b` starts with a whole packet that reads well, or a cut one that vouches for itself. */
export function readsFromStart(b: Uint8Array): boolean {
  const r = run(b, 0);
  return !r.bad && (r.complete >= 1 || r.vouched);
}
