/**
 * MQTT's wire codes as tables, and the decoded packet model. Three versions share one fixed header
 * (MQTT 3.1 §2, 3.1.1 §2.2, 5.0 §2.1) and differ in the variable header: 5.0 adds reason codes and
 * properties. The version is the connection's, set by its CONNECT (protocol level 3, 4 or 5).
 */

/** MQTT 3.1.1 §2.2.1, MQTT 5.0 §2.1.2: the control packet type, the fixed header's high nibble. */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  /** MQTT 5.0 only (§3.15); reserved in 3.1.1. */
  AUTH: 15,
} as const;

export const PACKET_NAMES = [
  'Reserved',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
] as const;
export type PacketName = (typeof PACKET_NAMES)[number];

/**
 * The fixed header's low nibble where it is fixed (3.1.1 §2.2.2, 5.0 §2.1.3): PUBREL, SUBSCRIBE and
 * UNSUBSCRIBE carry 0b0010, the others 0; PUBLISH's are DUP, QoS and RETAIN. MQTT 3.1 §2.1 sent
 * PUBREL/SUBSCRIBE/UNSUBSCRIBE "at QoS 1" and let them carry DUP as well (0b1010).
 */
export function flagsValid(type: number, flags: number): boolean {
  if (type === PacketType.PUBLISH) return (flags & 0x06) !== 0x06; // QoS 3 is malformed
  if (type === PacketType.PUBREL || type === PacketType.SUBSCRIBE || type === PacketType.UNSUBSCRIBE)
    return flags === 0x02 || flags === 0x0a;
  return flags === 0;
}

/** The three versions, by CONNECT's protocol level (3.1 §3.1 "MQIsdp" 3; 3.1.1 §3.1.2.2 4; 5.0 5). */
export type MqttVersion = '3.1' | '3.1.1' | '5.0';

export function versionOfLevel(level: number): MqttVersion | null {
  return level === 3 ? '3.1' : level === 4 ? '3.1.1' : level === 5 ? '5.0' : null;
}

/** 3.1 §3.2 and 3.1.1 §3.2.2.3 Table 3.1: CONNACK return codes. */
const CONNACK_RETURN: Record<number, string> = {
  0: 'Connection Accepted',
  1: 'Connection Refused, unacceptable protocol version',
  2: 'Connection Refused, identifier rejected',
  3: 'Connection Refused, Server unavailable',
  4: 'Connection Refused, bad user name or password',
  5: 'Connection Refused, not authorized',
};

/** 5.0 §2.4 Table 2-6: reason codes. 0x00 reads per packet (below). */
const REASON: Record<number, string> = {
  1: 'Granted QoS 1',
  2: 'Granted QoS 2',
  4: 'Disconnect with Will Message',
  16: 'No matching subscribers',
  17: 'No subscription existed',
  24: 'Continue authentication',
  25: 'Re-authenticate',
  128: 'Unspecified error',
  129: 'Malformed Packet',
  130: 'Protocol Error',
  131: 'Implementation specific error',
  132: 'Unsupported Protocol Version',
  133: 'Client Identifier not valid',
  134: 'Bad User Name or Password',
  135: 'Not authorized',
  136: 'Server unavailable',
  137: 'Server busy',
  138: 'Banned',
  139: 'Server shutting down',
  140: 'Bad authentication method',
  141: 'Keep Alive timeout',
  142: 'Session taken over',
  143: 'Topic Filter invalid',
  144: 'Topic Name invalid',
  145: 'Packet Identifier in use',
  146: 'Packet Identifier not found',
  147: 'Receive Maximum exceeded',
  148: 'Topic Alias invalid',
  149: 'Packet too large',
  150: 'Message rate too high',
  151: 'Quota exceeded',
  152: 'Administrative action',
  153: 'Payload format invalid',
  154: 'Retain not supported',
  155: 'QoS not supported',
  156: 'Use another server',
  157: 'Server moved',
  158: 'Shared Subscriptions not supported',
  159: 'Connection rate exceeded',
  160: 'Maximum connect time',
  161: 'Subscription Identifiers not supported',
  162: 'Wildcard Subscriptions not supported',
};

/**
 * Which reason codes each 5.0 packet may carry (§3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1,
 * 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1). Detection uses them to tell MQTT from other bytes.
 */
const REASONS_OF: Partial<Record<number, readonly number[]>> = {
  [PacketType.CONNACK]: [
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99,
    0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
  ],
  [PacketType.PUBACK]: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  [PacketType.PUBREC]: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  [PacketType.PUBREL]: [0x00, 0x92],
  [PacketType.PUBCOMP]: [0x00, 0x92],
  [PacketType.SUBACK]: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  [PacketType.UNSUBACK]: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  [PacketType.DISCONNECT]: [
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ],
  [PacketType.AUTH]: [0x00, 0x18, 0x19],
};

export function reasonAllowed(type: number, code: number): boolean {
  return REASONS_OF[type]?.includes(code) ?? false;
}

/** The name of a 5.0 reason code as `type`'s section reads it. */
export function reasonName(type: number, code: number): string {
  if (code === 0) {
    if (type === PacketType.SUBACK) return 'Granted QoS 0';
    if (type === PacketType.DISCONNECT) return 'Normal disconnection';
    return 'Success';
  }
  return REASON[code] ?? `Unknown (0x${code.toString(16).padStart(2, '0')})`;
}

/** 3.x codes: CONNACK's return code (Table 3.1); SUBACK's granted QoS or 0x80 Failure (3.1.1 §3.9.3). */
export function returnCodeName(type: number, code: number): string {
  if (type === PacketType.CONNACK) return CONNACK_RETURN[code] ?? `Reserved (${code})`;
  if (type === PacketType.SUBACK) {
    if (code <= 2) return `Granted QoS ${code}`;
    return code === 0x80 ? 'Failure' : `Reserved (0x${code.toString(16)})`;
  }
  return code === 0 ? 'Success' : `Unknown (${code})`;
}

/** The name of `code` on a packet of `type` in a connection of `version` (null: not known). */
export function codeName(version: MqttVersion | null, type: number, code: number): string {
  return version === '5.0' ? reasonName(type, code) : returnCodeName(type, code);
}

/** 5.0 §2.2.2.2 Table 2-4: property identifiers, their names and their wire types. */
export type PropertyKind = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair';

export const PROPERTIES: Readonly<Record<number, readonly [name: string, kind: PropertyKind]>> = {
  1: ['payloadFormatIndicator', 'byte'],
  2: ['messageExpiryInterval', 'u32'],
  3: ['contentType', 'utf8'],
  8: ['responseTopic', 'utf8'],
  9: ['correlationData', 'binary'],
  11: ['subscriptionIdentifier', 'varint'],
  17: ['sessionExpiryInterval', 'u32'],
  18: ['assignedClientIdentifier', 'utf8'],
  19: ['serverKeepAlive', 'u16'],
  21: ['authenticationMethod', 'utf8'],
  22: ['authenticationData', 'binary'],
  23: ['requestProblemInformation', 'byte'],
  24: ['willDelayInterval', 'u32'],
  25: ['requestResponseInformation', 'byte'],
  26: ['responseInformation', 'utf8'],
  28: ['serverReference', 'utf8'],
  31: ['reasonString', 'utf8'],
  33: ['receiveMaximum', 'u16'],
  34: ['topicAliasMaximum', 'u16'],
  35: ['topicAlias', 'u16'],
  36: ['maximumQoS', 'byte'],
  37: ['retainAvailable', 'byte'],
  38: ['userProperty', 'pair'],
  39: ['maximumPacketSize', 'u32'],
  40: ['wildcardSubscriptionAvailable', 'byte'],
  41: ['subscriptionIdentifierAvailable', 'byte'],
  42: ['sharedSubscriptionAvailable', 'byte'],
};

/**
 * Decoded properties: one key per property name. User properties (which may repeat, §3.1.2.11.8)
 * are `userProperties: [{key, value}]`; a repeated Subscription Identifier (§3.3.2.3.8) is an array.
 * Binary data is `{length, hex}` with hex cut short; Authentication Data only `{length}`.
 */
export type Properties = Record<string, unknown> & {
  userProperties?: { key: string; value: string }[];
};

/** A string as kept in an entry: cut at a cap, with the full byte length when it was cut. */
export interface Kept {
  text: string;
  /** Bytes on the wire. */
  length: number;
  truncated: boolean;
}

export interface Subscription {
  topicFilter: string;
  /** Requested QoS (3.1.1 §3.8.3.1); in 5.0 the low bits of the Subscription Options (§3.8.3.1). */
  qos: number;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: number;
}

export interface Will {
  topic: string;
  qos: number;
  retain: boolean;
  payloadSize: number;
  properties?: Properties;
}

export interface ConnectBody {
  protocolName: string;
  protocolLevel: number;
  version: MqttVersion | null;
  /** Mosquitto bridges set the level's top bit (0x83, 0x84). */
  bridge: boolean;
  clientId: string;
  /** 3.x Clean Session, 5.0 Clean Start (§3.1.2.4): the same bit. */
  cleanSession: boolean;
  keepAlive: number;
  will: Will | null;
  username: string | null;
  /** The password itself is never kept (a sniffer must not collect credentials). */
  passwordPresent: boolean;
  properties?: Properties;
}

export interface PublishBody {
  topic: string;
  /** Set when the topic was cut at the cap. */
  topicLength?: number;
  qos: number;
  retain: boolean;
  dup: boolean;
  packetId: number | null;
  properties?: Properties;
  payloadSize: number;
  /** The payload's first bytes: text when they read as UTF-8, else hex. */
  payloadPreview: string;
  payloadEncoding: 'text' | 'hex';
}

/** One decoded control packet. `code` is the reason / return code the packet carries or implies. */
export interface MqttPacket {
  type: number;
  name: PacketName;
  flags: number;
  /** Wire bytes: fixed header and remaining length. */
  size: number;
  packetId: number | null;
  /** CONNACK's return code, or a 5.0 reason code (absent on the wire means 0, §3.4.2.1). */
  code: number | null;
  /** SUBACK and UNSUBACK: one code per topic filter. */
  codes?: number[];
  sessionPresent?: boolean;
  connect?: ConnectBody;
  publish?: PublishBody;
  subscriptions?: Subscription[];
  /** UNSUBSCRIBE's topic filters. */
  topicFilters?: string[];
  properties?: Properties;
}
