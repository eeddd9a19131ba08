/**
 * One MQTT control packet's variable header and payload, for a connection of a known version (or
 * none yet: a capture that missed the CONNECT). Returns the packet as far as it reads and the first
 * error, citing the clause broken; the fixed header has been read by the framer.
 *
 * Without a CONNECT the version is guessed the way the bytes allow: acknowledgements longer than
 * 3.1.1 permits (PUBACK over 2 bytes, CONNACK over 2, DISCONNECT over 0) and AUTH only exist in 5.0;
 * PUBLISH, SUBSCRIBE and UNSUBSCRIBE read the same up to 5.0's properties and are read as 3.1.1.
 */
import {
  type ConnectBody,
  flagsValid,
  type MqttPacket,
  type MqttVersion,
  PACKET_NAMES,
  PacketType,
  PROPERTIES,
  type Properties,
  type PublishBody,
  type Subscription,
  versionOfLevel,
  type Will,
} from './messages.js';
import { decodeCapped, hex, isUtf8, Reader } from './reader.js';

/** Caps on what an entry keeps (full lengths are recorded where a cap cut). */
export const TOPIC_CAP = 4096;
export const STRING_CAP = 256;
export const MAX_USER_PROPERTIES = 32;
export const MAX_SUBSCRIPTIONS = 64;
export const PREVIEW_CAP = 128;
const BINARY_HEX_CAP = 64;

export interface ParseResult {
  packet: MqttPacket;
  /** The first thing wrong, with the clause; null when the packet is well-formed. */
  error: string | null;
  /** The error only says that a large packet was kept in part. */
  cut: boolean;
}

/**
 * @param body the bytes held of the body (all of it, or a prefix when the packet was larger than
 *   the framer keeps)
 * @param length the body's length on the wire (the Remaining Length)
 * @param size the packet's wire size (fixed header included)
 */
export function parsePacket(
  byte0: number,
  body: Uint8Array,
  length: number,
  size: number,
  version: MqttVersion | null,
): ParseResult {
  const type = byte0 >> 4;
  const flags = byte0 & 0x0f;
  const packet: MqttPacket = {
    type,
    name: PACKET_NAMES[type]!,
    flags,
    size,
    packetId: null,
    code: null,
  };
  const r = new Reader(body, length);
  // 5.0 only shapes, which tell the version when no CONNECT was seen.
  const v5 = version === '5.0';
  const v5ish = v5 || version === null;
  switch (type) {
    case PacketType.CONNECT:
      packet.connect = connect(r);
      break;
    case PacketType.CONNACK: {
      const ack = r.u8('CONNACK flags');
      if (version !== '3.1') packet.sessionPresent = (ack & 1) === 1;
      packet.code = r.u8('CONNACK code');
      if (v5 || (version === null && length > 2)) packet.properties = properties(r, 'CONNACK');
      break;
    }
    case PacketType.PUBLISH:
      packet.publish = publish(r, flags, v5);
      packet.packetId = packet.publish.packetId;
      break;
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      packet.packetId = r.u16('Packet Identifier');
      packet.code = 0;
      // 5.0 §3.4.2.1: without a Reason Code (Remaining Length 2) the reason is 0x00 Success;
      // §3.4.2.2: under 4 bytes there is no Property Length.
      if ((v5 || (version === null && length > 2)) && r.left > 0) {
        packet.code = r.u8('Reason Code');
        if (r.left > 0) packet.properties = properties(r, packet.name);
      }
      break;
    case PacketType.SUBSCRIBE:
      packet.packetId = r.u16('Packet Identifier');
      if (v5) packet.properties = properties(r, 'SUBSCRIBE');
      packet.subscriptions = subscriptions(r, v5);
      break;
    case PacketType.SUBACK:
      packet.packetId = r.u16('Packet Identifier');
      if (v5) packet.properties = properties(r, 'SUBACK');
      packet.codes = codes(r, 'SUBACK');
      packet.code = summaryCode(packet.codes);
      break;
    case PacketType.UNSUBSCRIBE:
      packet.packetId = r.u16('Packet Identifier');
      if (v5) packet.properties = properties(r, 'UNSUBSCRIBE');
      packet.topicFilters = topicFilters(r);
      break;
    case PacketType.UNSUBACK:
      packet.packetId = r.u16('Packet Identifier');
      packet.code = 0;
      if (v5 || (version === null && length > 2)) {
        packet.properties = properties(r, 'UNSUBACK');
        packet.codes = codes(r, 'UNSUBACK');
        packet.code = summaryCode(packet.codes);
      }
      break;
    case PacketType.PINGREQ:
    case PacketType.PINGRESP:
      break;
    case PacketType.DISCONNECT:
      // 5.0 §3.14.2.1: Remaining Length 0 means 0x00 Normal disconnection. 3.x carries nothing.
      if (v5 || (version === null && length > 0)) {
        packet.code = r.left > 0 ? r.u8('Reason Code') : 0;
        if (r.left > 0) packet.properties = properties(r, 'DISCONNECT');
      }
      break;
    case PacketType.AUTH:
      if (!v5ish) {
        r.fail(`packet type 15 is reserved before MQTT 5.0 (3.1.1 §2.2.1)`);
        break;
      }
      packet.code = r.left > 0 ? r.u8('Reason Code') : 0;
      if (r.left > 0) packet.properties = properties(r, 'AUTH');
      break;
    default:
      r.fail('packet type 0 is reserved (3.1.1 §2.2.1, 5.0 §2.1.2)');
  }
  if (!r.error && r.pos < r.end && type !== PacketType.PUBLISH)
    r.fail(`${r.end - r.pos} bytes left over in ${packet.name}`);
  // The fixed header is the first thing wrong when its flags are; the body was still read.
  if (!flagsValid(type, flags)) {
    const why =
      type === PacketType.PUBLISH
        ? 'PUBLISH with QoS 3 (3.1.1 §3.3.1.2, 5.0 §3.3.1.2)'
        : `${packet.name} with fixed header flags 0x${flags.toString(16)} (3.1.1 §2.2.2, 5.0 §2.1.3)`;
    return { packet, error: why, cut: false };
  }
  return { packet, error: r.error, cut: r.cut };
}

/** Which code sums up a list: the first failure (>= 0x80, 5.0 §2.4), else the first code. */
function summaryCode(codes: number[]): number | null {
  return codes.find((c) => c >= 0x80) ?? codes[0] ?? null;
}

/** 3.1 §3.1, 3.1.1 §3.1, 5.0 §3.1. */
function connect(r: Reader): ConnectBody {
  const protocolName = r.string('Protocol Name', 16);
  const level = r.u8('Protocol Level');
  const flags = r.u8('Connect Flags');
  const keepAlive = r.u16('Keep Alive');
  const version = versionOfLevel(level & 0x7f);
  const c: ConnectBody = {
    protocolName,
    protocolLevel: level & 0x7f,
    version,
    bridge: (level & 0x80) !== 0,
    clientId: '',
    cleanSession: (flags & 0x02) !== 0,
    keepAlive,
    will: null,
    username: null,
    passwordPresent: (flags & 0x40) !== 0,
  };
  if (r.error) return c;
  if (protocolName !== 'MQTT' && protocolName !== 'MQIsdp') {
    r.fail(`protocol name ${JSON.stringify(protocolName)} (3.1.1 §3.1.2.1)`);
    return c;
  }
  if (version === null) {
    r.fail(`unknown protocol level ${level & 0x7f} (3.1.1 §3.1.2.2, 5.0 §3.1.2.2)`);
    return c;
  }
  const v5 = version === '5.0';
  if (v5) c.properties = properties(r, 'CONNECT');
  c.clientId = r.string('Client Identifier', STRING_CAP);
  if (flags & 0x04) {
    const willProps = v5 ? properties(r, 'Will') : undefined;
    const topic = r.string('Will Topic', TOPIC_CAP);
    const payload = r.u16('Will Payload length');
    r.skip(payload, 'Will Payload');
    const will: Will = {
      topic,
      qos: (flags >> 3) & 3,
      retain: (flags & 0x20) !== 0,
      payloadSize: payload,
    };
    if (willProps) will.properties = willProps;
    c.will = will;
  }
  if (flags & 0x80) c.username = r.string('User Name', STRING_CAP);
  // The password is read past, never kept.
  if (flags & 0x40) r.skip(r.u16('Password length'), 'Password');
  return c;
}

/** 3.1.1 §3.3, 5.0 §3.3. */
function publish(r: Reader, flags: number, v5: boolean): PublishBody {
  const qos = (flags >> 1) & 3;
  const topicBytes = r.lengthPrefixed('Topic Name');
  const topic = decodeCapped(topicBytes, TOPIC_CAP);
  const p: PublishBody = {
    topic: topic.text,
    qos,
    retain: (flags & 1) !== 0,
    dup: (flags & 8) !== 0,
    packetId: null,
    payloadSize: 0,
    payloadPreview: '',
    payloadEncoding: 'text',
  };
  if (topic.truncated) p.topicLength = topicBytes.length;
  if (qos > 0) p.packetId = r.u16('Packet Identifier');
  if (v5) p.properties = properties(r, 'PUBLISH');
  if (r.error) return p;
  p.payloadSize = r.end - r.pos;
  const held = r.b.subarray(r.pos, Math.min(r.b.length, r.end, r.pos + PREVIEW_CAP));
  r.pos = r.end;
  if (isUtf8(held, p.payloadSize > held.length, true)) {
    p.payloadPreview = decodeCapped(held, PREVIEW_CAP).text;
  } else {
    p.payloadEncoding = 'hex';
    p.payloadPreview = hex(held.subarray(0, PREVIEW_CAP / 2));
  }
  return p;
}

/** 3.1.1 §3.8.3, 5.0 §3.8.3: topic filters and their requested QoS / Subscription Options. */
function subscriptions(r: Reader, v5: boolean): Subscription[] {
  const list: Subscription[] = [];
  let count = 0;
  while (r.left > 0 && !r.error) {
    const topicFilter = r.string('Topic Filter', TOPIC_CAP);
    const o = r.u8('Subscription Options');
    if (r.error) break;
    count++;
    if (list.length >= MAX_SUBSCRIPTIONS) continue;
    const s: Subscription = { topicFilter, qos: o & 3 };
    if (v5) {
      s.noLocal = (o & 0x04) !== 0;
      s.retainAsPublished = (o & 0x08) !== 0;
      s.retainHandling = (o >> 4) & 3;
    }
    list.push(s);
  }
  if (count === 0) r.fail('SUBSCRIBE without a topic filter (3.1.1 §3.8.3, 5.0 §3.8.3)');
  return list;
}

/** 3.1.1 §3.10.3, 5.0 §3.10.3. */
function topicFilters(r: Reader): string[] {
  const list: string[] = [];
  let count = 0;
  while (r.left > 0 && !r.error) {
    const f = r.string('Topic Filter', TOPIC_CAP);
    if (r.error) break;
    count++;
    if (list.length < MAX_SUBSCRIPTIONS) list.push(f);
  }
  if (count === 0) r.fail('UNSUBSCRIBE without a topic filter (3.1.1 §3.10.3, 5.0 §3.10.3)');
  return list;
}

/** SUBACK / UNSUBACK: one code per filter, the rest of the packet. */
function codes(r: Reader, what: string): number[] {
  const n = r.left;
  if (n <= 0) {
    if (what === 'SUBACK') r.fail('SUBACK without a return code (3.1.1 §3.9.3, 5.0 §3.9.3)');
    return [];
  }
  const list: number[] = [];
  const held = Math.min(n, r.b.length - r.pos, MAX_SUBSCRIPTIONS);
  for (let i = 0; i < held; i++) list.push(r.b[r.pos + i]!);
  r.pos = r.end;
  return list;
}

/** 5.0 §2.2.2: Property Length, then identifier / value pairs of the types Table 2-4 gives. */
export function properties(r: Reader, what: string): Properties {
  const props: Properties = {};
  const length = r.varint(`${what} Property Length`);
  if (r.error) return props;
  if (length > r.left) {
    r.fail(`${what} Property Length ${length} runs past the packet's end (5.0 §2.2.2.1)`);
    return props;
  }
  const end = r.pos + length;
  const outer = r.end;
  r.end = end;
  let userCount = 0;
  while (r.pos < end && !r.error) {
    const id = r.varint('Property Identifier');
    const spec = PROPERTIES[id];
    if (!spec) {
      r.fail(`unknown property 0x${id.toString(16).padStart(2, '0')} in ${what} (5.0 §2.2.2.2)`);
      break;
    }
    const [name, kind] = spec;
    let value: unknown;
    switch (kind) {
      case 'byte':
        value = r.u8(name);
        break;
      case 'u16':
        value = r.u16(name);
        break;
      case 'u32':
        value = r.u32(name);
        break;
      case 'varint':
        value = r.varint(name);
        break;
      case 'utf8':
        value = r.string(name, STRING_CAP);
        break;
      case 'binary': {
        const v = r.lengthPrefixed(name);
        // Authentication Data is a credential: its length only.
        value =
          id === 0x16 ? { length: v.length } : { length: v.length, hex: hex(v.subarray(0, BINARY_HEX_CAP)) };
        break;
      }
      case 'pair': {
        const key = r.string('User Property name', STRING_CAP);
        const val = r.string('User Property value', STRING_CAP);
        userCount++;
        props.userProperties ??= [];
        if (props.userProperties.length < MAX_USER_PROPERTIES) props.userProperties.push({ key, value: val });
        continue;
      }
    }
    if (r.error) break;
    const previous = props[name];
    // Only the Subscription Identifier may repeat (5.0 §3.3.2.3.8); a repeat of another is a
    // Protocol Error that does not stop the reading.
    if (previous !== undefined && id === 0x0b)
      props[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
    else props[name] = value;
  }
  if (userCount > MAX_USER_PROPERTIES) props.userPropertyCount = userCount;
  r.end = outer;
  return props;
}
