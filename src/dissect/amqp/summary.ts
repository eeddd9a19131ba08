/**
 * AMQP methods as podwire reports them, and the Entry built from a request and its reply: the
 * summary columns (method `class.method`, path exchange/routing key or queue, status the reply
 * code) and `request`/`response` objects holding the channel, the method, its arguments and, for
 * messages, the properties and a body preview.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext } from '../dissector.js';
import type { EntryEndpoint } from '../entry.js';
import type { BodyPreview } from './content.js';

/** One method as seen on the wire, with its content when it carries a message. */
export interface Call {
  dir: Direction;
  channel: number;
  name: string;
  classId: number;
  methodId: number;
  args: Record<string, unknown>;
  /** Capture time of the method frame's first byte (µs). */
  ts: number;
  /** Wire bytes: the method frame, plus the header and body frames of its content. */
  size: number;
  content: Content | null;
  /** What is wrong or missing (a malformed argument, body bytes lost...). */
  errors: string[];
}

export interface Content {
  /** From the content header; null until it came (or when it was lost). */
  properties: Record<string, unknown> | null;
  bodySize: number | null;
  preview: BodyPreview;
}

type Emitted = Parameters<SessionContext['emit']>[0];

/** Methods whose path is the exchange and routing key of the message. */
const MESSAGE_METHODS = new Set(['basic.publish', 'basic.deliver', 'basic.return', 'basic.get-ok']);
/** Methods that carry a reply code (§1.1: reply-code on close and return). */
const REPLY_CODE_METHODS = new Set(['connection.close', 'channel.close', 'basic.return']);

/** The path column: what the method is about. */
export function pathOf(c: Call): string {
  const a = c.args;
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  if (MESSAGE_METHODS.has(c.name)) return `${s(a.exchange)}/${s(a.routingKey)}`;
  if (c.name.startsWith('queue.') || c.name === 'basic.consume' || c.name === 'basic.get') return s(a.queue);
  if (c.name === 'exchange.declare' || c.name === 'exchange.delete') return s(a.exchange);
  if (c.name === 'exchange.bind' || c.name === 'exchange.unbind') return s(a.destination);
  if (c.name === 'basic.cancel' || c.name === 'basic.consume-ok' || c.name === 'basic.cancel-ok')
    return s(a.consumerTag);
  if (c.name === 'connection.open') return s(a.virtualHost);
  return '';
}

/** The reply code of whichever side carries one: a close or a return, or the close that failed a request. */
export function statusOf(req: Call | null, resp: Call | null): number | null {
  for (const c of [req, resp]) {
    if (c && REPLY_CODE_METHODS.has(c.name) && typeof c.args.replyCode === 'number') return c.args.replyCode;
  }
  return null;
}

export function fields(c: Call): Record<string, unknown> {
  const out: Record<string, unknown> = { channel: c.channel, method: c.name, ...c.args };
  const content = c.content;
  if (content) {
    out.properties = content.properties ?? {};
    out.bodySize = content.bodySize;
    Object.assign(out, content.preview.fields());
    // Set only when the body is not whole: what came (lost bytes included) and what was lost.
    if (content.preview.received !== content.bodySize) out.bodyReceived = content.preview.received;
    if (content.preview.lost > 0) out.bodyLost = content.preview.lost;
  }
  return out;
}

/**
 * The entry for a request and/or its reply. The entry reads from the side that asked to the side
 * that answered: for connection.start that is the server, for a reply seen alone the other side.
 */
export function buildEntry(
  req: Call | null,
  resp: Call | null,
  missing: string | null,
  endpoint: (dir: Direction) => EntryEndpoint,
): Emitted {
  const first = (req ?? resp)!;
  const asker: Direction = req ? req.dir : ((1 - resp!.dir) as Direction);
  const errors: string[] = [];
  if (missing) errors.push(missing);
  if (req) errors.push(...req.errors);
  if (resp) errors.push(...resp.errors.map((e) => (req ? `reply: ${e}` : e)));
  return {
    protocol: 'amqp',
    timestamp: first.ts,
    elapsedMs: req && resp ? Math.round(resp.ts - req.ts) / 1000 : null,
    src: endpoint(asker),
    dst: endpoint((1 - asker) as Direction),
    method: first.name,
    path: req ? pathOf(req) : pathOf(resp!),
    status: statusOf(req, resp),
    request: req ? fields(req) : {},
    response: resp ? fields(resp) : null,
    requestSize: req?.size ?? 0,
    responseSize: resp?.size ?? 0,
    error: errors.length ? errors.join('; ') : null,
  };
}
