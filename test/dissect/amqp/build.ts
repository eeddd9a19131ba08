/**
 * AMQP test fixtures: frames encoded by amqplib's generated codec (an encoder podwire did not
 * write), raw frames by hand where the bytes must be wrong on purpose, and a fake SessionContext
 * that records what a session reports.
 */
import type { SessionContext, TcpSession } from '../../../src/dissect/dissector.js';
import type { Entry, EntryEndpoint } from '../../../src/dissect/entry.js';
import type { Direction } from '../../../src/flows/stream.js';
import { type AmqplibDefs, amqplibDefs, amqplibMethodNames } from './reference.js';

const defs: AmqplibDefs = amqplibDefs()!;
const ids = new Map([...amqplibMethodNames()].map(([id, name]) => [name, id]));

/** One frame: type, channel, size, payload, frame-end (§4.2.3). */
export function frame(type: number, channel: number, payload: Uint8Array | number[], end = 0xce): Uint8Array {
  const p = Uint8Array.from(payload);
  const out = new Uint8Array(p.length + 8);
  out[0] = type;
  out[1] = channel >> 8;
  out[2] = channel & 0xff;
  new DataView(out.buffer).setUint32(3, p.length);
  out.set(p, 7);
  out[p.length + 7] = end;
  return out;
}

/** A method frame by its spec name (`queue.declare`), encoded by amqplib. */
export function method(name: string, channel: number, fields: Record<string, unknown> = {}): Uint8Array {
  const id = ids.get(name);
  if (id === undefined) throw new Error(`amqplib has no method ${name}`);
  return new Uint8Array(defs.encodeMethod(id, channel, fields));
}

/** A basic content header frame, encoded by amqplib. */
export function header(
  channel: number,
  bodySize: number,
  properties: Record<string, unknown> = {},
): Uint8Array {
  return new Uint8Array(defs.encodeProperties(60, channel, bodySize, properties));
}

export function body(channel: number, bytes: Uint8Array | string): Uint8Array {
  return frame(3, channel, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
}

/** A message: its method, header and body frames (the body cut into frames of at most `frameMax`). */
export function message(
  name: string,
  channel: number,
  fields: Record<string, unknown>,
  content: Uint8Array | string,
  properties: Record<string, unknown> = {},
  frameMax = 4096,
): Uint8Array {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const parts = [method(name, channel, fields), header(channel, bytes.length, properties)];
  for (let i = 0; i < bytes.length; i += frameMax) parts.push(body(channel, bytes.subarray(i, i + frameMax)));
  return concat(...parts);
}

export const HEARTBEAT = frame(8, 0, []);
export const PROTOCOL_HEADER = Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1);

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export const CLIENT: EntryEndpoint = { ip: '198.18.15.10', port: 40000 };
export const SERVER: EntryEndpoint = { ip: '198.18.15.11', port: 5672 };

export type Emitted = Omit<Entry, 'type' | 'id' | 'connectionId'>;

export class FakeContext implements SessionContext {
  readonly connectionId = 1;
  readonly client = CLIENT;
  readonly server = SERVER;
  readonly entries: Emitted[] = [];
  readonly errors: string[] = [];
  readonly annotations: Record<string, unknown> = {};

  emit(e: Parameters<SessionContext['emit']>[0]): void {
    this.entries.push({ ...e, src: e.src ?? CLIENT, dst: e.dst ?? SERVER });
  }

  parseError(detail: string): void {
    this.errors.push(detail);
  }

  annotate(key: string, value: unknown): void {
    this.annotations[key] = value;
  }

  switchTo(): TcpSession | null {
    return null;
  }
}

/** One direction's bytes of a conversation, at a capture time (µs). */
export interface Wire {
  dir: Direction;
  data: Uint8Array;
  ts: number;
}

export const c = (data: Uint8Array, ts = 0): Wire => ({ dir: 0, data, ts });
export const s = (data: Uint8Array, ts = 0): Wire => ({ dir: 1, data, ts });

/**
 * Feeds a conversation to a new session and closes it. `cuts` splits every message at those
 * offsets (modulo its length), as TCP segments would.
 */
export function play(
  create: (ctx: SessionContext) => TcpSession,
  wires: Wire[],
  cuts: number[] = [],
): FakeContext {
  const ctx = new FakeContext();
  const session = create(ctx);
  for (const w of wires) {
    const points = [...new Set(cuts.map((x) => (w.data.length ? x % w.data.length : 0)))].sort(
      (a, b) => a - b,
    );
    let from = 0;
    for (const p of [...points, w.data.length]) {
      if (p <= from) continue;
      // A fresh segment that is scribbled over after the call, as a capture buffer would be
      // reused: a session that kept a view instead of a copy reports garbage.
      const segment = w.data.slice(from, p);
      session.onData(w.dir, segment, w.ts);
      segment.fill(0xee);
      from = p;
    }
  }
  session.onClose(1e9);
  return ctx;
}
