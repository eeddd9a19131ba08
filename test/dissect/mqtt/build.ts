/**
 * Byte builders for MQTT packets, written from the specifications' layouts (3.1.1 §3, 5.0 §3):
 * a fixed header byte, the Remaining Length, then the variable header and payload. Tests use them
 * to write exact fixtures, including malformed ones.
 */

export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
export const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];

export function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...u16(b.length), ...b];
}

export function bin(b: number[] | Uint8Array): number[] {
  return [...u16(b.length), ...b];
}

/** A whole packet: fixed header byte, Remaining Length, body. */
export function packet(byte0: number, body: number[] | Uint8Array): Uint8Array {
  return Uint8Array.from([byte0, ...varint(body.length), ...body]);
}

/** 5.0 §2.2.2: Property Length, then the properties. */
export function props(...items: number[][]): number[] {
  const body = items.flat();
  return [...varint(body.length), ...body];
}

/** One property of each wire type (5.0 §2.2.2.2 Table 2-4). */
export const prop = {
  byte: (id: number, v: number) => [id, v],
  u16: (id: number, v: number) => [id, ...u16(v)],
  u32: (id: number, v: number) => [id, ...u32(v)],
  varint: (id: number, v: number) => [id, ...varint(v)],
  str: (id: number, s: string) => [id, ...str(s)],
  bin: (id: number, b: number[]) => [id, ...bin(b)],
  user: (k: string, v: string) => [0x26, ...str(k), ...str(v)],
};

export interface ConnectOptions {
  level?: 3 | 4 | 5;
  clientId?: string;
  keepAlive?: number;
  clean?: boolean;
  username?: string;
  password?: string;
  will?: { topic: string; payload: string; qos?: number; retain?: boolean; props?: number[] };
  /** 5.0 properties, already encoded by `props`; default none. */
  props?: number[];
}

export function connect(o: ConnectOptions = {}): Uint8Array {
  const level = o.level ?? 4;
  const name = level === 3 ? 'MQIsdp' : 'MQTT';
  let flags = 0;
  if (o.clean ?? true) flags |= 0x02;
  if (o.will) flags |= 0x04 | ((o.will.qos ?? 0) << 3) | (o.will.retain ? 0x20 : 0);
  if (o.password !== undefined) flags |= 0x40;
  if (o.username !== undefined) flags |= 0x80;
  const v5 = level === 5;
  const body = [...str(name), level, flags, ...u16(o.keepAlive ?? 60)];
  if (v5) body.push(...(o.props ?? props()));
  body.push(...str(o.clientId ?? 'client-1'));
  if (o.will) {
    if (v5) body.push(...(o.will.props ?? props()));
    body.push(...str(o.will.topic), ...bin([...Buffer.from(o.will.payload)]));
  }
  if (o.username !== undefined) body.push(...str(o.username));
  if (o.password !== undefined) body.push(...bin([...Buffer.from(o.password)]));
  return packet(0x10, body);
}

/** CONNACK: 3.x return code, or 5.0 reason code with properties. */
export function connack(code: number, o: { sessionPresent?: boolean; v5?: boolean; props?: number[] } = {}) {
  const body = [o.sessionPresent ? 1 : 0, code];
  if (o.v5) body.push(...(o.props ?? props()));
  return packet(0x20, body);
}

export interface PublishOptions {
  topic: string;
  qos?: number;
  id?: number;
  retain?: boolean;
  dup?: boolean;
  v5?: boolean;
  props?: number[];
  payload?: string | Uint8Array;
}

export function publish(o: PublishOptions): Uint8Array {
  const qos = o.qos ?? 0;
  const byte0 = 0x30 | (o.dup ? 8 : 0) | (qos << 1) | (o.retain ? 1 : 0);
  const body = [...str(o.topic)];
  if (qos > 0) body.push(...u16(o.id ?? 1));
  if (o.v5) body.push(...(o.props ?? props()));
  const payload = typeof o.payload === 'string' ? Buffer.from(o.payload) : (o.payload ?? new Uint8Array(0));
  return packet(byte0, [...body, ...payload]);
}

const ACK_BYTE0 = { PUBACK: 0x40, PUBREC: 0x50, PUBREL: 0x62, PUBCOMP: 0x70 } as const;

/** PUBACK / PUBREC / PUBREL / PUBCOMP; with `code` (5.0) the reason code, with `p` properties. */
export function ack(type: keyof typeof ACK_BYTE0, id: number, code?: number, p?: number[]): Uint8Array {
  const body = [...u16(id)];
  if (code !== undefined) body.push(code);
  if (p) body.push(...p);
  return packet(ACK_BYTE0[type], body);
}

/** SUBSCRIBE: filters with their requested QoS (3.x) or Subscription Options byte (5.0). */
export function subscribe(
  id: number,
  filters: [string, number][],
  o: { v5?: boolean; props?: number[]; byte0?: number } = {},
) {
  const body = [...u16(id)];
  if (o.v5) body.push(...(o.props ?? props()));
  for (const [f, opt] of filters) body.push(...str(f), opt);
  return packet(o.byte0 ?? 0x82, body);
}

export function suback(id: number, codes: number[], o: { v5?: boolean; props?: number[] } = {}) {
  const body = [...u16(id)];
  if (o.v5) body.push(...(o.props ?? props()));
  return packet(0x90, [...body, ...codes]);
}

export function unsubscribe(id: number, filters: string[], o: { v5?: boolean; props?: number[] } = {}) {
  const body = [...u16(id)];
  if (o.v5) body.push(...(o.props ?? props()));
  for (const f of filters) body.push(...str(f));
  return packet(0xa2, body);
}

/** UNSUBACK: 3.x has only the identifier; 5.0 adds properties and a reason code per filter. */
export function unsuback(id: number, codes?: number[], o: { props?: number[] } = {}) {
  const body = [...u16(id)];
  if (codes) body.push(...(o.props ?? props()), ...codes);
  return packet(0xb0, body);
}

export const pingreq = (): Uint8Array => packet(0xc0, []);
export const pingresp = (): Uint8Array => packet(0xd0, []);

/** DISCONNECT: 3.x empty; 5.0 with a reason code and properties. */
export function disconnect(code?: number, p?: number[]): Uint8Array {
  const body: number[] = [];
  if (code !== undefined) body.push(code);
  if (p) body.push(...p);
  return packet(0xe0, body);
}

export function auth(code: number, p: number[] = props()): Uint8Array {
  return packet(0xf0, [code, ...p]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
