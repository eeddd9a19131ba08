/**
 * The agent-to-hub protocol, version 1 (docs/transport.md): JSON text messages over one WebSocket
 * (RFC 6455) at AGENT_STREAM_PATH.
 *
 *   agent                                   hub
 *   hello {version, agent, node, token?} ->
 *                                        <- welcome {version, watermark}   (or a close, CLOSE below)
 *   batch {seq, entries, connections}    ->
 *                                        <- ack {seq}                      (after the store has it)
 *
 * `seq` grows strictly per agent id, across reconnects and agent restarts (the spool keeps it).
 * `watermark` is the last seq the hub's store holds for that agent; an ack is cumulative (the hub
 * handles one connection's batches in order), so it also acknowledges every lower seq.
 *
 * Parsing answers a message or an error string, never throws: these bytes come from the network.
 */
import { isAscii } from 'node:buffer';

export const PROTOCOL_VERSION = 1;

/** Where the hub accepts agents. */
export const AGENT_STREAM_PATH = '/api/agents/stream';

/**
 * Close codes. 4000-4999 are for applications (RFC 6455 §7.4.2); 1001 and 1011 are the standard
 * "going away" and "internal error". The reason string (at most 123 bytes, §5.5) says what to fix.
 */
export const CLOSE = {
  /** The hub is shutting down: reconnect later. */
  goingAway: 1001,
  /** The hub could not store a batch (disk full, store closed): reconnect later, the batch is sent again. */
  internalError: 1011,
  /** The bearer token is missing or wrong. */
  unauthorized: 4001,
  /** The agent speaks a protocol version the hub does not. */
  badVersion: 4002,
  /** A message the protocol does not allow (bad JSON, unknown type, seq going backwards...). */
  protocolError: 4003,
  /** A newer connection with the same agent id took over (an agent restarted before its old socket died). */
  replaced: 4004,
  /** No hello in time. */
  helloTimeout: 4005,
} as const;

export interface HelloMessage {
  type: 'hello';
  version: number;
  /** Stable across agent restarts: the hub keys its watermark by it. */
  agent: string;
  node: string;
  token?: string;
}

export interface WelcomeMessage {
  type: 'welcome';
  version: number;
  watermark: number;
}

export interface AckMessage {
  type: 'ack';
  seq: number;
}

/**
 * A batch as the hub reads it. Records stay untyped here: the hub checks each one
 * (src/transport/records.ts) and drops, with a counter, what is not an entry or a connection record.
 */
export interface BatchMessage {
  type: 'batch';
  seq: number;
  entries: unknown[];
  connections: unknown[];
}

export type AgentMessage = HelloMessage | BatchMessage;
export type HubMessage = WelcomeMessage | AckMessage;

/** Ids and node names: printable, no spaces, short enough for logs and a file name. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$/;

export function isValidAgentId(id: string): boolean {
  return ID_RE.test(id);
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseObject(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  return v as Record<string, unknown>;
}

/** What an agent sent, or why it is not a message of this protocol. */
export function parseAgentMessage(text: string): AgentMessage | { error: string } {
  const o = parseObject(text);
  if (typeof o === 'string') return { error: o };
  switch (o.type) {
    case 'hello': {
      if (typeof o.version !== 'number') return { error: 'hello without a numeric version' };
      if (typeof o.agent !== 'string' || !isValidAgentId(o.agent))
        return { error: 'hello: agent must be 1-253 characters of A-Z a-z 0-9 . _ : @ -' };
      if (typeof o.node !== 'string') return { error: 'hello without a node name' };
      if (o.token !== undefined && typeof o.token !== 'string')
        return { error: 'hello: token must be a string' };
      return {
        type: 'hello',
        version: o.version,
        agent: o.agent,
        node: o.node,
        ...(o.token !== undefined ? { token: o.token as string } : {}),
      };
    }
    case 'batch': {
      if (!isSeq(o.seq) || o.seq === 0) return { error: 'batch: seq must be a positive integer' };
      const entries = o.entries ?? [];
      const connections = o.connections ?? [];
      if (!Array.isArray(entries) || !Array.isArray(connections))
        return { error: `batch ${o.seq}: entries and connections must be arrays` };
      return { type: 'batch', seq: o.seq, entries, connections };
    }
    default:
      return { error: `unknown message type ${JSON.stringify(o.type)} (expected hello or batch)` };
  }
}

/** What the hub sent, or why it is not a message of this protocol. */
export function parseHubMessage(text: string): HubMessage | { error: string } {
  const o = parseObject(text);
  if (typeof o === 'string') return { error: o };
  switch (o.type) {
    case 'welcome':
      if (typeof o.version !== 'number' || !isSeq(o.watermark))
        return { error: 'welcome needs a numeric version and a watermark' };
      return { type: 'welcome', version: o.version, watermark: o.watermark };
    case 'ack':
      if (!isSeq(o.seq)) return { error: 'ack needs a seq' };
      return { type: 'ack', seq: o.seq };
    default:
      return { error: `unknown message type ${JSON.stringify(o.type)} (expected welcome or ack)` };
  }
}

/**
 * A batch's body is the batch message without its head: `"entries":[...],"connections":[...]}`, from
 * records serialised one by one as they are handed over (batch.ts). The head with the seq,
 * `{"type":"batch","seq":N,`, is written only when the batch is sent, into HEAD_ROOM bytes kept free
 * in front of the body in the same buffer: a spooled body can be sent under another seq (a rebase,
 * outbox.ts) as it is, and the 1 MiB body is never copied to make room for its head.
 */
export const HEAD_ROOM = 48;
const HEAD_START = Buffer.from('{"type":"batch","seq":');

/**
 * The batch message for `seq` in `room`: HEAD_ROOM bytes of room, then the body. Writes the head
 * just before the body and returns the message (a view of `room`, no copy).
 */
export function batchFrame(room: Buffer, seq: number): Buffer {
  const digits = String(seq);
  const start = HEAD_ROOM - HEAD_START.length - digits.length - 1;
  HEAD_START.copy(room, start);
  room.write(digits, start + HEAD_START.length, 'latin1');
  room[HEAD_ROOM - 1] = 0x2c; // ','
  return room.subarray(start);
}

/** Characters JSON text may carry escaped as well as raw (RFC 8259 §7): everything above ASCII. */
const NON_ASCII = /[\u0080-\uffff]/g;

function escapeUnit(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * The same JSON text in ASCII: every UTF-16 unit above 0x7f written as `\uXXXX` (RFC 8259 §7; a
 * pair stays a pair of escapes, and JSON.stringify already escapes lone surrogates). JSON.parse
 * gives back the same string. Why: one non-ASCII character makes V8 hold a whole 1 MiB batch as a
 * two-byte string, which doubles the cost of building, encoding, decoding and parsing it.
 */
export function asciiJson(text: string): string {
  return text.replace(NON_ASCII, escapeUnit);
}

/** A WebSocket message as text (ws hands a Buffer, fragments, or an ArrayBuffer), without copying a Buffer. */
export function messageText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return utf8Text(Buffer.concat(data));
  return utf8Text(Buffer.isBuffer(data) ? data : Buffer.from(data));
}

/**
 * UTF-8 bytes as a string. ASCII (what our agents send, batch.ts) is checked for first and decoded
 * as such: 2.5 MB in 0.46 ms against 7.2 ms through the UTF-8 decoder, which was a sixth of the hub's
 * main thread under load (bench/hub-load.mjs). Anything else is decoded as UTF-8.
 */
export function utf8Text(buf: Buffer): string {
  return isAscii(buf) ? buf.toString('ascii') : buf.toString('utf8');
}

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455 §5.5: control frame payloads are ≤ 125). */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let t = text.slice(0, 120);
  while (Buffer.byteLength(t) > 120) t = t.slice(0, -1);
  return `${t}...`;
}
