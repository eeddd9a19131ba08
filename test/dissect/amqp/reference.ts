/**
 * The independent references the AMQP tests compare with: tshark's AMQP dissector, read PDU by PDU
 * (`-T json --no-duplicate-keys` keeps the PDUs of one segment apart), and amqplib's generated
 * protocol definitions (amqplib/lib/defs.js, made from RabbitMQ's amqp-rabbitmq-0.9.1.json) for
 * method names and for encoding test frames.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

interface AmqplibMethodInfo {
  id: number;
  classId: number;
  methodId: number;
  name: string;
}

export interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  [key: string]: unknown;
}

/** amqplib's codec, or null when amqplib is not installed. */
export function amqplibDefs(): AmqplibDefs | null {
  try {
    // Not among the package's exports: reached by path from its entry point.
    return require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as AmqplibDefs;
  } catch {
    return null;
  }
}

/** `basic.get-ok` for amqplib's `BasicGetOk`: class, then the method's words joined by '-'. */
function kebab(name: string): string {
  const words = name.match(/[A-Z][a-z]*/g) ?? [];
  return `${words[0]!.toLowerCase()}.${words
    .slice(1)
    .map((w) => w.toLowerCase())
    .join('-')}`;
}

/** Method names by (class-id << 16 | method-id), as amqplib names them. */
export function amqplibMethodNames(): Map<number, string> {
  const defs = amqplibDefs();
  const out = new Map<number, string>();
  if (!defs) return out;
  for (const [k, v] of Object.entries(defs)) {
    if (!k.startsWith('methodInfo')) continue;
    const m = v as AmqplibMethodInfo;
    out.set((m.classId << 16) | m.methodId, kebab(m.name));
  }
  return out;
}

export interface Pdu {
  type: number;
  channel: number;
  length: number;
  classId?: number;
  methodId?: number;
  args: Record<string, string>;
  properties: Record<string, string>;
  bodySize?: number;
  /** tshark's count of the publishes on a channel (for publisher confirms); NaN on other methods. */
  publishNumber?: number;
}

export interface Packet {
  frame: number;
  /** Capture time, µs. */
  time: number;
  srcport: number;
  dstport: number;
  pdus: Pdu[];
}

type Json = Record<string, unknown>;

function flat(obj: unknown, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!obj || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj as Json)) {
    if (k.startsWith(prefix) && typeof v === 'string') out[k.slice(prefix.length)] = v;
  }
  return out;
}

/** Every AMQP PDU tshark finds, per TCP segment, in capture order. */
export async function tsharkAmqp(file: string, decodeAs: string[] = []): Promise<Packet[]> {
  const args = ['-n', '-r', file];
  for (const d of decodeAs) args.push('-d', d);
  args.push('-Y', 'amqp', '-T', 'json', '--no-duplicate-keys', '-J', 'frame tcp amqp');
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  const packets = JSON.parse(stdout) as { _source: { layers: Json } }[];
  return packets.map((p) => {
    const layers = p._source.layers;
    const tcp = layers.tcp as Json;
    const frame = layers.frame as Json;
    const amqp = layers.amqp;
    const list = (Array.isArray(amqp) ? amqp : [amqp]) as Json[];
    const pdus: Pdu[] = list
      .filter((a) => a && typeof a === 'object' && 'amqp.type' in a)
      .map((a) => ({
        type: Number(a['amqp.type']),
        channel: Number(a['amqp.channel']),
        length: Number(a['amqp.length']),
        ...(a['amqp.method.class'] !== undefined
          ? { classId: Number(a['amqp.method.class']), methodId: Number(a['amqp.method.method']) }
          : {}),
        args: flat(a['amqp.method.arguments'], 'amqp.method.arguments.'),
        properties: flat(a['amqp.header.properties'], 'amqp.method.properties.'),
        ...(a['amqp.header.body-size'] !== undefined ? { bodySize: Number(a['amqp.header.body-size']) } : {}),
        ...(a['amqp.method.arguments'] && typeof a['amqp.method.arguments'] === 'object'
          ? {
              publishNumber: Number(
                flat(a['amqp.method.arguments'], 'amqp.method.arguments.').publish_number,
              ),
            }
          : {}),
      }));
    return {
      frame: Number(frame['frame.number']),
      time: Math.round(Number(frame['frame.time_epoch']) * 1e6),
      srcport: Number(tcp['tcp.srcport']),
      dstport: Number(tcp['tcp.dstport']),
      pdus,
    };
  });
}

/** A connection both sides can name: its two ports, lower first. */
export function connKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

export interface Conversation {
  /** One line per method frame: sender, channel, name, the arguments tshark shows, wire size. */
  methods: string[];
  /** Heartbeat frames by sender port. */
  heartbeats: Map<number, number>;
}

const CONTENT_METHODS = new Set(['basic.publish', 'basic.deliver', 'basic.return', 'basic.get-ok']);

function line(
  from: number,
  to: number,
  channel: number,
  name: string,
  a: { exchange?: unknown; routingKey?: unknown; queue?: unknown; replyCode?: unknown },
  size: number,
  body: string,
): string {
  const part = (k: string, v: unknown) => (v === undefined ? '' : ` ${k}=${v}`);
  return (
    `${from}>${to} ch${channel} ${name}` +
    part('x', a.exchange) +
    part('rk', a.routingKey) +
    part('q', a.queue) +
    part('code', a.replyCode) +
    ` size=${size}${body}`
  );
}

/**
 * tshark's PDUs as conversations: each method frame with, for a message, its content's declared
 * body size, the body bytes that followed, and the wire size of all its frames.
 */
export function tsharkConversations(
  packets: Packet[],
  names: Map<number, string>,
): Map<string, Conversation> {
  const out = new Map<string, Conversation>();
  // The message each (sender, channel) is sending: its record's parts, completed as frames come.
  interface Open {
    conv: Conversation;
    from: number;
    to: number;
    channel: number;
    name: string;
    args: Record<string, string>;
    size: number;
    bodySize: number | null;
    received: number;
  }
  const open = new Map<string, Open>();
  const close = (o: Open) => {
    o.conv.methods.push(
      line(
        o.from,
        o.to,
        o.channel,
        o.name,
        {
          exchange: o.args.exchange,
          routingKey: o.args.routing_key,
          queue: o.args.queue,
          replyCode: o.args.reply_code,
        },
        o.size,
        CONTENT_METHODS.has(o.name) ? ` body=${o.bodySize}/${o.received}` : '',
      ),
    );
  };
  for (const p of packets) {
    const key = connKey(p.srcport, p.dstport);
    let conv = out.get(key);
    if (!conv) {
      conv = { methods: [], heartbeats: new Map() };
      out.set(key, conv);
    }
    for (const pdu of p.pdus) {
      const sender = `${p.srcport}>${p.dstport}/${pdu.channel}`;
      if (pdu.type === 8) {
        conv.heartbeats.set(p.srcport, (conv.heartbeats.get(p.srcport) ?? 0) + 1);
        continue;
      }
      if (pdu.type === 1) {
        const prev = open.get(sender);
        if (prev) close(prev);
        const name = names.get((pdu.classId! << 16) | pdu.methodId!) ?? `${pdu.classId}.${pdu.methodId}`;
        open.set(sender, {
          conv,
          from: p.srcport,
          to: p.dstport,
          channel: pdu.channel,
          name,
          args: pdu.args,
          size: pdu.length + 8,
          bodySize: null,
          received: 0,
        });
        continue;
      }
      const o = open.get(sender);
      if (!o) continue;
      o.size += pdu.length + 8;
      if (pdu.type === 2) o.bodySize = pdu.bodySize ?? null;
      else if (pdu.type === 3) o.received += pdu.length;
    }
  }
  for (const o of open.values()) close(o);
  return out;
}

/**
 * podwire's entries as the same conversations. A close that failed a request is also that
 * request's reply, and a broker ack confirming several publishes is every one's reply: each frame
 * is counted once (the close as a request of its own, the ack where its bytes are counted).
 */
export function podwireConversations(entries: Entry[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (e: Entry, side: Record<string, unknown>, from: number, to: number, size: number) => {
    const key = connKey(e.src.port, e.dst.port);
    const name = side.method as string;
    const list = out.get(key) ?? [];
    out.set(key, list);
    list.push(
      line(
        from,
        to,
        side.channel as number,
        name,
        side,
        size,
        CONTENT_METHODS.has(name) ? ` body=${side.bodySize}/${bodyReceived(side)}` : '',
      ),
    );
  };
  for (const e of entries) {
    if (e.protocol !== 'amqp' || e.method === 'protocol-header') continue;
    if (e.request.method !== undefined) add(e, e.request, e.src.port, e.dst.port, e.requestSize);
    const r = e.response;
    if (!r) continue;
    if (r.method === 'channel.close' || r.method === 'connection.close') continue;
    if ((r.method === 'basic.ack' || r.method === 'basic.nack') && e.responseSize === 0) continue;
    add(e, r, e.dst.port, e.src.port, e.responseSize);
  }
  return out;
}

/** Body bytes a message's entry accounts for: the body size unless it says otherwise. */
function bodyReceived(side: Record<string, unknown>): unknown {
  return side.bodyReceived ?? side.bodySize;
}
